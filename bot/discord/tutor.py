"""What the tutor does with each Discord interaction: one `Request` to the policy, one delivery.

- A slash command: the policy gets `Request(command=..., args=...)`. An answer that is private
  (an error, a cooldown, a `show="private"` result) and ready within `QUICK_S` is sent as a
  direct private reply; otherwise the interaction is deferred ("thinking…", well inside
  Discord's 3 s) and answered once with a follow-up.
- A click (button or select): acknowledged at once with a deferred update, then
  `Request(action=<custom_id or the option's value>)`. `Result.show` says where the answer
  goes: `reply` replaces the clicked message when the clicker asked the original question
  (the message's `interaction_metadata.user`), anyone else gets a private copy; `update`
  replaces it for everyone; `private` goes to the clicker alone.
- A button that asks for a text first opens a modal; its submit is
  `Request(action=<modal custom_id>, args={<input custom_id>: text})`, delivered like a click.
- A result's timer runs its action later as if the asker chose it (a quiz's reveal). Timers live
  in memory: a restart or `close()` cancels them, and replacing a message cancels its timer.
- An autocomplete (the learner typing an option the registry suggests values for): the core's
  suggestions (core/suggest.py) computed in a thread, never on the event loop, within
  `SUGGEST_S` (Discord allows 3 s), else the option's declared values; kept `SUGGESTED_S` per
  option and computed once at start, so most answers come from memory (a suggester that could not
  say yet, such as a tiny pack not built yet, is asked again at the next keystroke).
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.discord.commands import (
    app_command_error_message,
    discord_choice,
    log_app_command_error,
    unknown_command_message,
)
from bot.discord.deliver import Placed, clicked, replace, send_reply, send_text
from bot.discord.render import render_result
from bot.discord.sync import sync_if_different
from bot.discord.views import ACTION_ID, ask_modal, asked_action, rebuilt_ask, submitted_text
from bot.placement import placement
from bot.timers import Timers
from core.errors import UserError
from core.policy import APOLOGY, Outcome, Policy, Request, Verdict
from core.registry import Choice, Command, Option, declared_values, matching
from core.suggest import suggested as suggested_values
from core.tutor.service import context_of

if TYPE_CHECKING:  # pragma: no cover
    from core.actions import Ask
    from core.results import Result

log = logging.getLogger("tutor.discord")

QUICK_S = 0.5
"""How long a slash command waits for a private outcome before deferring (Discord allows 3 s)."""
KEPT_ASKS = 1024
"""Asks remembered with their exact title and hint; an older one is rebuilt from its button."""
DEFAULT_FILE_LIMIT = 10 * 1024 * 1024
SUGGEST_S = 2.0
"""How long an autocomplete waits for the core's suggestions before it offers the declared values."""
SUGGESTED_S = 300.0
"""How long an option's suggestions are kept (a model loaded since may have told more)."""


def is_private(outcome: Outcome) -> bool:
    result = outcome.result
    return outcome.private or (result is not None and placement(result.show, clicked=False) == "private")


def asker_of(message: discord.Message | None) -> int | None:
    """Who asked the question a message answers (None for a message no interaction made)."""
    metadata = message.interaction_metadata if message is not None else None
    return metadata.user.id if metadata is not None else None


class DiscordTutor:
    """The handlers behind one client; state (asks, timers) lives on the instance."""

    def __init__(self, policy: Policy, *, guild_id: int | None = None, publishes: bool = True) -> None:
        self.policy = policy
        self.registry = policy.engine.registry
        self.guild_id = guild_id
        self.publishes = publishes
        self.context = context_of(policy.engine)
        self.client: discord.Client | None = None
        self.asks: OrderedDict[str, Ask] = OrderedDict()
        self.timers = Timers()
        self.suggested: dict[tuple[str, str], tuple[float, list[Choice]]] = {}
        self.suggesting: dict[tuple[str, str], asyncio.Task[list[Choice]]] = {}

    # -- the client's start --------------------------------------------------------------------------
    async def publish(self, tree: app_commands.CommandTree) -> None:
        """Upload the commands if Discord's differ (bot.discord.sync); with DISCORD_GUILD_ID to that server
        only. With sharding, only the process that runs shard 0 publishes. Then the suggestions start."""
        self.prefetch()
        if not self.publishes:
            log.info("the process that runs shard 0 publishes the slash commands; this one does not")
            return
        if self.guild_id:
            tree.copy_global_to(guild=discord.Object(id=self.guild_id))
        await sync_if_different(tree, self.guild_id)

    def request(self, interaction: discord.Interaction, **what: Any) -> Request:
        guild = interaction.guild_id
        return Request("discord", str(interaction.user.id), request_id=str(interaction.id),
                       place=str(interaction.channel_id or ""), group=str(guild or ""),
                       direct=interaction.context.dm_channel,
                       admin=bool(guild) and interaction.permissions.manage_guild, **what)

    # -- slash commands ------------------------------------------------------------------------------
    async def on_slash(self, interaction: discord.Interaction, name: str, options: dict[str, Any]) -> None:
        args = {key: value for key, value in options.items() if value is not None}
        request = self.request(interaction, command=name, args=args)
        pending = asyncio.ensure_future(self.policy.handle(request))
        done, _ = await asyncio.wait({pending}, timeout=QUICK_S)
        if done and (is_private(pending.result()) or pending.result().silent):
            await self.deliver_typed(interaction, pending.result(), request)
            return
        try:
            await interaction.response.defer(thinking=True)
        except discord.HTTPException as exc:  # too late (10062) or Discord trouble: nothing to answer to
            log.warning("could not defer /%s: %s", name, exc)
            await pending
            return
        await self.deliver_typed(interaction, await pending, request)

    async def deliver_typed(self, interaction: discord.Interaction, outcome: Outcome, request: Request) -> None:
        if outcome.silent:
            return
        if outcome.result is None:
            await send_text(interaction, outcome.message or APOLOGY)
            return
        reply = render_result(outcome.result, interaction.filesize_limit)
        placed = await send_reply(self._client(), interaction, reply, ephemeral=is_private(outcome), asks=self._asks())
        if placed is None:
            await send_text(interaction, APOLOGY)
            return
        self._schedule(placed, outcome.result, request)

    async def on_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """What discord.py raises before or around our callback: say what happened, log it once."""
        current = interaction.command.qualified_name if interaction.command is not None else ""
        log_app_command_error(error, current)
        message = app_command_error_message(error, current)
        if isinstance(error, app_commands.CommandNotFound):
            name = " ".join([*error.parents, error.name])
            if name not in {c.name for c in self.registry}:  # a hidden command is never run from a stale list
                outcome = await self.policy.handle(self.request(interaction, command=name))
                if outcome.verdict is Verdict.USER_ERROR:
                    message = unknown_command_message(outcome.message)
        await send_text(interaction, message)

    # -- autocomplete ---------------------------------------------------------------------------------
    async def on_autocomplete(self, interaction: discord.Interaction, command: Command, option: Option,
                              typed: Any) -> list[app_commands.Choice[Any]]:
        """The values to offer for what the learner has typed so far: at most 25, within Discord's 3 s."""
        found = await self._candidates(command, option)
        fitting = [c for c in found if option.type != "int" or isinstance(c.value, int)]  # Discord refuses others
        return [discord_choice(option, c) for c in matching(fitting, typed)]

    async def _candidates(self, command: Command, option: Option) -> list[Choice]:
        key = (command.name, option.name)
        kept = self.suggested.get(key)
        if kept is not None and time.monotonic() - kept[0] < SUGGESTED_S:
            return kept[1]
        try:
            found = await asyncio.wait_for(asyncio.shield(self._suggesting(command, option)), SUGGEST_S)
            if found:
                return found
        except TimeoutError:
            log.warning("suggestions for /%s %s took over %.1f s; offering its declared values", command.name,
                        option.name, SUGGEST_S)
        except Exception:  # a suggestion is a help: log it, offer what the declaration says
            log.exception("suggestions for /%s %s failed", command.name, option.name)
        return declared_values(option)

    def _suggesting(self, command: Command, option: Option) -> asyncio.Task[list[Choice]]:
        """The option's suggestions, computed once in a thread however many keystrokes ask meanwhile."""
        key = (command.name, option.name)
        task = self.suggesting.get(key)
        if task is None:
            task = asyncio.create_task(asyncio.to_thread(suggested_values, self.context, command, option),
                                       name=f"discord-suggest-{command.name}-{option.name}")
            self.suggesting[key] = task
            task.add_done_callback(lambda done: self._kept(key, done))
        return task

    def _kept(self, key: tuple[str, str], task: asyncio.Task[list[Choice]]) -> None:
        """Keep what the suggester said; nothing is kept when it could not say (asked again next time)."""
        self.suggesting.pop(key, None)
        if not task.cancelled() and task.exception() is None and task.result():
            self.suggested[key] = (time.monotonic(), task.result())

    def prefetch(self) -> None:
        """Start computing every option's suggestions (config files read, transformers imported) at start, so
        the first learner to type one is answered from memory."""
        for command in self.registry.visible():
            for option in (*command.options, *(o for s in command.subcommands for o in s.options)):
                if option.suggest is not None:
                    self._suggesting(command, option)

    # -- clicks, selects and modals ------------------------------------------------------------------
    async def on_choice(self, interaction: discord.Interaction, action_id: str,
                        texts: dict[str, str] | None = None) -> None:
        """A button, a select's option or a modal's submit: acknowledge, ask the policy, deliver."""
        try:
            await interaction.response.defer(thinking=interaction.message is None)
        except discord.HTTPException as exc:
            log.warning("could not acknowledge a click: %s", exc)
            return
        request = self.request(interaction, action=action_id, args=texts or {})
        outcome = await self.policy.handle(request)
        if interaction.message is None:  # a modal opened from a slash command has no message to change
            await self.deliver_typed(interaction, outcome, request)
        else:
            await self.deliver_chosen(interaction, outcome, request)

    async def on_ask(self, interaction: discord.Interaction, custom_id: str, label: str | None) -> None:
        """A button that asks for a text first: open its modal (the first response, so no deferral)."""
        try:
            ask = self.asks.get(custom_id) or rebuilt_ask(self.registry, custom_id, label)
        except UserError:  # an action this version does not know: the policy's words say so
            await self.on_choice(interaction, asked_action(custom_id))
            return
        try:
            await interaction.response.send_modal(ask_modal(ask))
        except discord.HTTPException as exc:
            log.warning("could not open a modal: %s", exc)

    async def on_modal(self, interaction: discord.Interaction) -> None:
        """A modal's submit, read from the interaction alone, so one opened before a restart works too."""
        data: Any = interaction.data or {}
        custom_id = str(data.get("custom_id", ""))
        if ACTION_ID.fullmatch(custom_id):
            await self.on_choice(interaction, custom_id, submitted_text(data))

    async def deliver_chosen(self, interaction: discord.Interaction, outcome: Outcome, request: Request) -> None:
        if outcome.silent:
            return
        if outcome.result is None:
            await send_text(interaction, outcome.message or APOLOGY)
            return
        result = outcome.result
        reply = render_result(result, interaction.filesize_limit)
        mine = asker_of(interaction.message) == interaction.user.id
        if placement(result.show, clicked=True, mine=mine) == "replace":
            target = clicked(interaction)
            self._cancel(target.key)
            placed = await replace(self._client(), target, reply, self._asks())
        else:
            placed = await send_reply(self._client(), interaction, reply, ephemeral=True, asks=self._asks())
        if placed is None:
            await send_text(interaction, APOLOGY)
            return
        self._schedule(placed, result, request)

    # -- timers --------------------------------------------------------------------------------------
    def _schedule(self, placed: Placed, result: Result, request: Request) -> None:
        if result.timer is None:
            return
        timer = result.timer
        timed = dataclasses.replace(request, line=None, command=None, args={}, action=timer.action_id,
                                    request_id=f"timer-{request.request_id}")
        self.timers.schedule(placed.key, timer.seconds, lambda: self._fire(placed, timed))

    def _cancel(self, key: str) -> None:
        self.timers.cancel(key)

    async def _fire(self, placed: Placed, request: Request) -> None:
        """The timer's action, as if the asker chose it; its answer replaces the message (or goes to the
        asker alone when it is private)."""
        outcome = await self.policy.handle(request)
        if outcome.silent or outcome.result is None:
            if outcome.result is None and not outcome.silent:
                log.warning("a timer's action was refused: %s", outcome.message)
            return
        limit = placed.interaction.filesize_limit if placed.interaction else DEFAULT_FILE_LIMIT
        reply = render_result(outcome.result, limit)
        if is_private(outcome) and placed.interaction is not None:
            again = await send_reply(self._client(), placed.interaction, reply, ephemeral=True, asks=self._asks())
        else:
            again = await replace(self._client(), placed, reply, self._asks())
        if again is not None:
            self._schedule(again, outcome.result, request)

    async def close(self) -> None:
        """Cancel every pending timer and suggestion (a stop or a restart)."""
        await self.timers.cancel_all()
        tasks = list(self.suggesting.values())
        self.suggesting.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- helpers -------------------------------------------------------------------------------------
    def _client(self) -> discord.Client:
        assert self.client is not None, "the tutor is used before its client exists"
        return self.client

    def _asks(self) -> dict[str, Ask]:
        """The remembered asks, trimmed to the newest `KEPT_ASKS` (new ones are added while rendering)."""
        while len(self.asks) > KEPT_ASKS:
            self.asks.popitem(last=False)
        return self.asks
