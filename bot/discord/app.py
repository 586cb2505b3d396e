"""The Discord adapter: slash commands, buttons, selects and modals on the one request policy.

`DiscordAdapter(policy, env)` reads its own settings from the environment (`variables`):
the bot token, an optional server for instant command updates, and sharding. Each interaction
becomes a `core.policy.Request` (bot.discord.tutor), the outcome is rendered in Discord's
dialect (bot.discord.render, bot.discord.markup) with the answer's actions as components
(bot.discord.views), and delivered (bot.discord.deliver). Every message is sent with
`AllowedMentions.none()`, so a learner's `@everyone` is echoed but never pings anyone.

Sharding (Discord requires it past 2,500 servers): `DISCORD_SHARD_COUNT` splits the servers
over that many gateway connections; `DISCORD_SHARD_IDS` says which of them this process runs
(all of them when unset), so several processes can share a bot. Without either, one plain
connection.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import discord

from bot.adapter import Adapter
from bot.discord.client import ShardedTutorBot, TutorBot
from bot.discord.config import BAD_TOKEN, MISSING_TOKEN, VARIABLES, DiscordConfig
from bot.discord.tutor import DiscordTutor
from core.settings import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from core.policy import Policy


# ----- the adapter -----
class DiscordAdapter(Adapter):
    name = "discord"
    title = "Discord"
    variables = VARIABLES
    network = "outbound HTTPS to discord.com and gateway.discord.gg"

    def __init__(self, policy: Policy, env: Mapping[str, str]) -> None:
        super().__init__(policy, env)
        self.config = DiscordConfig.from_env(env)
        sharding = self.config.sharding
        self.tutor = DiscordTutor(policy, guild_id=self.config.guild_id,
                                  publishes=sharding is None or sharding.publishes)
        self.client: discord.Client = (TutorBot(self.tutor) if sharding is None
                                       else ShardedTutorBot(self.tutor, sharding.count, sharding.ids))

    @classmethod
    def check(cls, env: Mapping[str, str]) -> None:
        if not DiscordConfig.from_env(env).token:
            raise ConfigError(MISSING_TOKEN)

    @classmethod
    def summary(cls, env: Mapping[str, str]) -> str:
        sharding = DiscordConfig.from_env(env).sharding
        return f"{cls.name} ({sharding.describe()})" if sharding else cls.name

    async def serve(self) -> None:
        """Connect and answer until `stop()`. A missing or rejected token raises `ConfigError`, so the
        CLI prints one line and exits instead of reconnecting forever."""
        if not self.config.token:
            raise ConfigError(MISSING_TOKEN)
        try:
            async with self.client:
                await self.client.start(self.config.token, reconnect=True)
        except discord.LoginFailure:
            raise ConfigError(BAD_TOKEN) from None
        except discord.ConnectionClosed as exc:
            if exc.code == 4004:
                raise ConfigError(BAD_TOKEN) from None
            raise
        finally:
            await self.tutor.close()

    async def stop(self) -> None:
        """Cancel pending timers and close the gateway with code 1000 (Discord shows the bot offline at once)."""
        await self.tutor.close()
        if not self.client.is_closed():
            await self.client.close()
