"""TEMPORARY: today's Discord adapter behind the `Adapter` protocol, until it is rebuilt on the policy
(issue 11). Removed when bot/discord_app.py defines the class."""
from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Mapping

from bot.adapter import Adapter, Variable
from core.policy import Policy
from core.settings import ConfigError


def discord_token_problem(token: str) -> str | None:
    """Discord bot tokens: three base64url parts joined by dots, the first the bot's numeric id."""
    parts = token.split(".")
    if len(parts) != 3 or not all(re.fullmatch(r"[A-Za-z0-9_-]{4,}", p) for p in parts):
        return "expected three base64url parts separated by dots (Bot > Reset Token in the developer portal)"
    try:
        first = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        first = ""
    return None if first.isdigit() else "the first part should encode the bot's numeric id; is this a bot token?"


class DiscordAdapter(Adapter):
    name = "discord"
    title = "Discord"
    network = "outbound HTTPS to discord.com and gateway.discord.gg"
    variables = (
        Variable("DISCORD_TOKEN", "The bot token (Bot > Reset Token in the developer portal)", secret=True,
                 check=discord_token_problem),
        Variable("DISCORD_GUILD_ID", "A server id to sync commands to instantly; empty = global commands"),
    )

    def __init__(self, policy: Policy, env: Mapping[str, str]) -> None:
        from bot.discord_app import build_bot

        super().__init__(policy, env)
        guild = env.get("DISCORD_GUILD_ID", "").strip()
        self.settings = dataclasses.replace(policy.engine.settings, discord_token=env.get("DISCORD_TOKEN", "").strip(),
                                            discord_guild_id=int(guild) if guild else None)
        self.bot = build_bot(policy.engine, self.settings)

    @classmethod
    def check(cls, env: Mapping[str, str]) -> None:
        guild = env.get("DISCORD_GUILD_ID", "").strip()
        if guild and not (guild.isdigit() and int(guild) >= 1):
            raise ConfigError(f"DISCORD_GUILD_ID must be a server id (a whole number); got `{guild[:40]}`.")

    async def serve(self) -> None:
        from bot.discord_app import serve

        await serve(self.policy.engine, self.settings, self.bot)

    async def stop(self) -> None:
        await self.bot.close()
