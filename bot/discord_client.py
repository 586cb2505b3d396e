"""The discord.py clients: one gateway connection, or several shards in one process.

Both carry the same tutor (bot.discord_tutor): one slash command per visible registry command,
the dynamic items registered before the gateway connects (so buttons on old messages work as
soon as the bot is back), and modal submits read from `on_interaction`.
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.discord_commands import build_slash_command
from bot.discord_deliver import NO_MENTIONS
from bot.discord_views import DYNAMIC_ITEMS

if TYPE_CHECKING:  # pragma: no cover
    from bot.discord_tutor import DiscordTutor

log = logging.getLogger("tutor.discord")


def _intents() -> discord.Intents:
    return discord.Intents(guilds=True)


class TutorEvents:
    """What both clients do; mixed in before the discord.py client class."""

    tutor: DiscordTutor
    tree: app_commands.CommandTree

    def _install(self, tutor: DiscordTutor) -> None:
        self.tutor = tutor
        tutor.client = self  # type: ignore[assignment]
        self.tree = app_commands.CommandTree(self)  # type: ignore[arg-type]
        self.tree.error(tutor.on_command_error)
        for command in tutor.registry.visible():
            self.tree.add_command(build_slash_command(command, tutor.on_slash, tutor.on_autocomplete))

    async def setup_hook(self) -> None:
        """Before the gateway connects: the buttons' classes, then the command list if it changed."""
        self.add_dynamic_items(*DYNAMIC_ITEMS)  # type: ignore[attr-defined]
        await self.tutor.publish(self.tree)

    async def on_ready(self) -> None:
        log.info("connected to Discord as %s", self.user)  # type: ignore[attr-defined]

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is discord.InteractionType.modal_submit:
            await self.tutor.on_modal(interaction)


class TutorBot(TutorEvents, discord.Client):
    """One gateway connection for every server."""

    def __init__(self, tutor: DiscordTutor) -> None:
        super().__init__(intents=_intents(), allowed_mentions=NO_MENTIONS)
        self._install(tutor)
        self._gateway_reader: asyncio.Task[None] | None = None
        self._reader_stopped = False

    async def connect(self, *, reconnect: bool = True) -> None:
        """discord.py's gateway loop, run in a task of its own so that `close` can stop it first."""
        reader = asyncio.create_task(super().connect(reconnect=reconnect), name="discord-gateway-reader")
        self._gateway_reader, self._reader_stopped = reader, False
        try:
            await reader
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self._reader_stopped and reader.cancelled() and not (current and current.cancelling()):
                return  # `close` stopped the reader: a requested shutdown, not a failure
            raise
        finally:
            self._gateway_reader = None

    async def close(self) -> None:
        """Close the gateway with code 1000, so Discord ends the session and shows the bot offline at once.

        discord.py's own `close` asks for 1000, but its gateway reader is usually waiting for a
        frame at that moment; aiohttp wakes the reader first, and the reader closes the socket
        with 4000 ("reconnect later") before our 1000 is sent, so Discord keeps the bot shown
        online for a minute or two (Rapptz/discord.py#6134). Stopping the reader first leaves
        the socket idle, and the library's close then sends 1000 and nothing else. (The sharded
        client already cancels each shard's reader before closing its socket with 1000.)
        """
        await self._stop_gateway_reader()
        await super().close()

    async def _stop_gateway_reader(self) -> None:
        reader = self._gateway_reader
        if reader is None or reader.done() or reader is asyncio.current_task():
            return  # not connected, or discord.py is closing from inside the reader itself
        self._reader_stopped = True
        reader.cancel()
        await asyncio.wait({reader})


class ShardedTutorBot(TutorEvents, discord.AutoShardedClient):
    """Some shards (or all of them) of a bot whose servers are split over `shard_count` connections;
    Discord sends each server's events to shard `(server id >> 22) % shard_count`."""

    def __init__(self, tutor: DiscordTutor, shard_count: int, shard_ids: tuple[int, ...] | None) -> None:
        options: dict[str, Any] = {"shard_count": shard_count}
        if shard_ids is not None:
            options["shard_ids"] = list(shard_ids)
        super().__init__(intents=_intents(), allowed_mentions=NO_MENTIONS, **options)
        self._install(tutor)
