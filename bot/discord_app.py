"""The Discord adapter: slash commands generated from the core registry.

Thin on purpose: parse the interaction, call `core.service.answer`, render the `Result`
(`bot.discord_render`). Every reply is sent with `AllowedMentions.none()`, so a learner's
`@everyone` is echoed but never pings anyone.

Entry points for the CLI: `run_discord(engine, settings)` (blocking) and, for tests and
embedding, `build_bot(engine, settings)` and `serve(engine, settings)`.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import re
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from bot.discord_render import error_text, render_result
from bot.discord_sync import sync_if_changed
from core.cooldown import Cooldown
from core.engine import Engine
from core.registry import MAX_TEXT_CHARS, Command, Option
from core.service import APOLOGY, answer
from core.settings import ConfigError, Settings

log = logging.getLogger("tutor.discord")

NO_MENTIONS = discord.AllowedMentions.none()
EVERYWHERE = app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=True)
ANY_INSTALL = app_commands.AppInstallationType(guild=True, user=True)
HEAD_MAX_LENGTH = 4
"""`head` options are typed as text (a number, `all` or `mean`); the core checks the value."""

MISSING_TOKEN = (
    "DISCORD_TOKEN is not set. Put the bot token from the Discord developer portal in the "
    "environment or in .env (see docs/discord.md)."
)
BAD_TOKEN = (
    "Discord rejected DISCORD_TOKEN (invalid or reset token). Copy a fresh token from the "
    "developer portal (Bot > Reset Token) into DISCORD_TOKEN; see docs/discord.md."
)

Handler = Callable[[discord.Interaction, str, dict[str, Any]], Awaitable[None]]


def option_annotation(option: Option) -> Any:
    """The discord.py annotation for one core option: it becomes the option's type and limits."""
    if option.kind == "bool":
        return bool
    if option.kind == "int":
        if option.min_value is None and option.max_value is None:
            return int
        return app_commands.Range[int, option.min_value, option.max_value]
    if option.kind == "head":
        return app_commands.Range[str, None, HEAD_MAX_LENGTH]
    return app_commands.Range[str, None, option.max_length or MAX_TEXT_CHARS]


def build_slash_command(command: Command, handler: Handler) -> app_commands.Command:
    """One slash command whose parameters mirror `command.options`.

    discord.py reads parameters from the callback's signature, so we give a generic
    `**options` callback an explicit `__signature__` built from the registry.
    """

    known = {o.name for o in command.options}

    async def callback(interaction: discord.Interaction, **options: Any) -> None:
        if any(name not in known for name, _ in interaction.namespace):
            raise app_commands.CommandSignatureMismatch(interaction.command or slash)  # Discord's copy is stale
        await handler(interaction, command.name, options)

    params = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction)]
    for option in command.options:
        default = inspect.Parameter.empty if option.required else None
        params.append(
            inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                              annotation=option_annotation(option))
        )
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    described = app_commands.describe(**{o.name: o.description[:100] for o in command.options})(callback)
    slash = app_commands.Command(
        name=command.name,
        description=command.description[:100],
        callback=described,
        allowed_contexts=EVERYWHERE,
        allowed_installs=ANY_INSTALL,
    )
    return slash


STALE_LIST = "My command list may be updating (Discord can take a few minutes to show a change)."
SEE_HELP = "Pick the command again from the `/` menu in a few minutes; `/help` shows its options."


def _command_name(error: app_commands.AppCommandError, current: str = "") -> str:
    """The command the error is about (`name` or `group sub`): from the error, else `current`
    (the interaction's command, for errors that do not carry one, such as TransformerError)."""
    if isinstance(error, app_commands.CommandNotFound):
        return " ".join([*error.parents, error.name])
    command = getattr(error, "command", None)
    return command.qualified_name if command is not None else current


def _shown_name(error: app_commands.AppCommandError, current: str = "") -> str:
    """`/name` as inline code, kept to the characters Discord allows in command names.

    The name of an unknown command comes from the payload, so anything else (a backtick, a
    lone surrogate) is dropped rather than echoed.
    """
    parts = _command_name(error, current).split()
    shown = " ".join(filter(None, (re.sub(r"[^\w-]", "", part) for part in parts)))
    return f"`/{shown}`" if shown else "That command"


def app_command_error_message(error: app_commands.AppCommandError, current: str = "") -> str:
    """The learner-facing words for an error discord.py raised, by type; an apology only for our own bugs.

    An unknown command or mismatched options mean Discord's copy of the command list differs
    from this bot's (not synced yet, or a stale client): retrying the same thing cannot help,
    so the message says what happened and where to look instead.
    """
    name = _shown_name(error, current)
    if isinstance(error, app_commands.CommandNotFound):
        return f"{name} is not a command I know here. {STALE_LIST} Type `/help` to see the commands I have now."
    if isinstance(error, app_commands.CommandSignatureMismatch):
        return f"Discord sent {name} with options that do not match this version of the tutor. {STALE_LIST} {SEE_HELP}"
    if isinstance(error, app_commands.TransformerError):
        return (f"Discord sent {name} an option value of the wrong kind (expected {error.type.name}). "
                f"{STALE_LIST} {SEE_HELP}")
    if isinstance(error, app_commands.CheckFailure):
        return f"{name} cannot be used here."
    return APOLOGY


def log_app_command_error(error: app_commands.AppCommandError, current: str = "") -> None:
    """One line for the states a stale command list explains; a traceback only for real failures."""
    name = _command_name(error, current)  # %r below: a name from the payload may hold anything, even a lone surrogate
    if isinstance(error, app_commands.CommandNotFound):
        log.warning("unknown command %r from Discord; the synced command list may be out of date", name)
    elif isinstance(error, (app_commands.CommandSignatureMismatch, app_commands.TransformerError)):
        log.warning("options do not match /%s (%s); the synced command list may be out of date",
                    name, type(error).__name__)
    elif isinstance(error, app_commands.CheckFailure):
        log.info("check failed for /%s: %s", name, type(error).__name__)
    else:
        log.error("slash command /%s failed", name or "?", exc_info=error)


class TutorBot(discord.Client):
    """A client with one slash command per registry command; state lives on the instance."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        super().__init__(intents=discord.Intents(guilds=True), allowed_mentions=NO_MENTIONS)
        self.engine = engine
        self.settings = settings
        self.cooldown = Cooldown(settings.cooldown_s)
        self.tree = app_commands.CommandTree(self)
        self.tree.error(self.on_command_error)
        for command in engine.registry:
            self.tree.add_command(build_slash_command(command, self.handle))
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
        the socket idle, and the library's close then sends 1000 and nothing else.
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

    async def setup_hook(self) -> None:
        """Publish the commands before the gateway connects, if they changed (bot.discord_sync).

        With DISCORD_GUILD_ID they go to that server only (shown at once); otherwise globally.
        """
        guild_id = self.settings.discord_guild_id
        if guild_id:
            self.tree.copy_global_to(guild=discord.Object(id=guild_id))
        await sync_if_changed(self.tree, guild_id, self.settings.cache_dir)

    async def on_ready(self) -> None:
        log.info("connected to Discord as %s", self.user)

    async def handle(self, interaction: discord.Interaction, name: str, options: dict[str, Any]) -> None:
        """Cooldown check, defer within Discord's 3 s, answer, then exactly one follow-up."""
        user_id = str(interaction.user.id)
        wait = self.cooldown.wait_left(user_id)
        if wait > 0:
            await self.send_error(interaction, Cooldown.message(wait))
            return
        try:
            await interaction.response.defer(thinking=True)
        except discord.HTTPException as exc:  # too late (10062) or Discord trouble: nothing to answer to
            log.warning("could not defer /%s: %s", name, exc)
            return
        args = {key: value for key, value in options.items() if value is not None}
        outcome = await answer(self.engine, platform="discord", user_id=user_id, command=name, args=args)
        if outcome.result is None:
            await self.send_error(interaction, outcome.error or APOLOGY)
            return
        reply = render_result(outcome.result, interaction.filesize_limit)
        try:
            await interaction.followup.send(embed=reply.embed, files=reply.files(), allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.exception("could not send the answer to /%s", name)
            await self.send_error(interaction, APOLOGY)

    async def send_error(self, interaction: discord.Interaction, message: str) -> None:
        """An ephemeral note to the asker only.

        After a public defer the first follow-up replaces the "thinking…" message and
        keeps its visibility, so we delete that message first and then follow up privately.
        """
        try:
            if not interaction.response.is_done():
                text = error_text(message)
                await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
                return
            try:
                await interaction.delete_original_response()
            except discord.HTTPException:
                pass
            await interaction.followup.send(error_text(message), ephemeral=True, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.warning("could not send an error message: %s", exc)

    async def on_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """What discord.py raises before or around our callback: say what happened, log it once."""
        current = interaction.command.qualified_name if interaction.command is not None else ""
        log_app_command_error(error, current)
        await self.send_error(interaction, app_command_error_message(error, current))


def build_bot(engine: Engine, settings: Settings) -> TutorBot:
    """A ready-to-start client; `serve` or `run_discord` start it."""
    return TutorBot(engine, settings)


def _install_stop_signals(bot: discord.Client) -> list[signal.Signals]:
    """SIGTERM (Docker) and SIGINT close the gateway cleanly instead of killing the process."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    def stop() -> None:
        task = loop.create_task(bot.close())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
            pass
    return installed


async def serve(engine: Engine, settings: Settings, bot: discord.Client | None = None) -> None:
    """Run the bot until it is closed (SIGTERM/SIGINT or `bot.close()`).

    Raises `ConfigError` for a missing or rejected token, so the CLI prints one line
    and exits instead of reconnecting forever.
    """
    token = settings.discord_token.strip()
    if not token:
        raise ConfigError(MISSING_TOKEN)
    bot = bot or build_bot(engine, settings)
    installed = _install_stop_signals(bot)
    try:
        async with bot:
            await bot.start(token, reconnect=True)
    except discord.LoginFailure:
        raise ConfigError(BAD_TOKEN) from None
    except discord.ConnectionClosed as exc:
        if exc.code == 4004:
            raise ConfigError(BAD_TOKEN) from None
        raise
    finally:
        loop = asyncio.get_running_loop()
        for sig in installed:
            loop.remove_signal_handler(sig)


def run_discord(engine: Engine, settings: Settings) -> int:
    """Blocking entry point for `tutor discord`: 0 after a clean shutdown (SIGTERM/SIGINT).

    A missing or rejected token prints one line to stderr and returns 2 (the CLI's
    exit code for problems the user can fix) instead of a traceback or a retry loop.
    """
    try:
        asyncio.run(serve(engine, settings))
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    return 0
