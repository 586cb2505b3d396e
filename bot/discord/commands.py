"""Slash commands from the core registry, and the words for what discord.py raises around them.

One `app_commands.Command` per visible registry command (hidden ones are reached only through
actions), its options typed and limited as the registry says, so Discord's client checks them
before a request is sent: a fixed set of values as Discord's choices (a menu), values the pack
suggests as autocomplete (answered by `bot.discord.tutor`), and a command's verbs as an
`app_commands.Group` of subcommands (`/board join name:Ada`), still one command for the core.

The app-command errors are Discord's own states (a command list that
is not synced yet, options from an older copy): they are explained in words that say what
happened and where to look, with the policy's words where they overlap (an unknown command,
the apology).
"""
from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from core.policy import APOLOGY
from core.registry import MAX_CHOICE_CHARS, MAX_TEXT_CHARS, Choice, Command, Option

log = logging.getLogger("tutor.discord")

EVERYWHERE = app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=True)
ANY_INSTALL = app_commands.AppInstallationType(guild=True, user=True)
HEAD_MAX_LENGTH = 4
"""`head` options are typed as text (a number, `all` or `mean`); the core checks the value."""

Handler = Callable[[discord.Interaction, str, dict[str, Any]], Awaitable[None]]
Suggester = Callable[[discord.Interaction, Command, Option, Any], Awaitable[list[app_commands.Choice[Any]]]]
"""Answers an autocomplete: the command, the focused option and what the learner has typed so far."""
Call = Callable[[discord.Interaction, dict[str, Any]], Awaitable[None]]


def option_annotation(option: Option) -> Any:
    """The discord.py annotation for one core option: it becomes the option's type and limits."""
    if option.type == "bool":
        return bool
    if option.type == "int":
        if option.min_value is None and option.max_value is None:
            return int
        return app_commands.Range[int, option.min_value, option.max_value]
    if option.choices:
        return str  # the choices are the limit
    if option.type == "head":
        return app_commands.Range[str, None, HEAD_MAX_LENGTH]
    return app_commands.Range[str, None, option.max_length or MAX_TEXT_CHARS]


def discord_choice(option: Option, choice: Choice) -> app_commands.Choice[Any]:
    """A core choice as Discord's: a string option's values are strings, an integer option's integers."""
    value = choice.value if option.type == "int" else str(choice.value)
    return app_commands.Choice(name=choice.label[:MAX_CHOICE_CHARS], value=value)


def build_slash_command(command: Command, handler: Handler,
                        suggester: Suggester | None = None) -> app_commands.Command | app_commands.Group:
    """One slash command whose parameters mirror `command.options`, or a group of subcommands when the
    command declares verbs (`/board join name:Ada`): either way the core gets the one command."""
    if not command.subcommands:
        async def call(interaction: discord.Interaction, values: dict[str, Any]) -> None:
            await handler(interaction, command.name, values)

        return _leaf(command, command.name, command.description, command.options, call, suggester)
    group = app_commands.Group(name=command.name, description=command.description[:100],
                               allowed_contexts=EVERYWHERE, allowed_installs=ANY_INSTALL)
    for sub in command.subcommands:
        group.add_command(_leaf(command, sub.name, sub.description, sub.options, _verb(command, sub.name, handler),
                                suggester, parent=group))
    return group


def _verb(command: Command, name: str, handler: Handler) -> Call:
    async def call(interaction: discord.Interaction, values: dict[str, Any]) -> None:
        await handler(interaction, command.name, command.from_subcommand(name, values))

    return call


def _leaf(command: Command, name: str, description: str, options: tuple[Option, ...], call: Call,
          suggester: Suggester | None, parent: app_commands.Group | None = None) -> app_commands.Command:
    """A command (or a group's subcommand) with these options, typed, limited, with choices and autocomplete.

    discord.py reads parameters from the callback's signature, so we give a generic
    `**options` callback an explicit `__signature__` built from the registry.
    """
    known = {o.name for o in options}

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        if any(key not in known for key, _ in interaction.namespace):
            raise app_commands.CommandSignatureMismatch(interaction.command or slash)  # Discord's copy is stale
        await call(interaction, values)

    params = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction)]
    for option in options:
        default = inspect.Parameter.empty if option.required else None
        params.append(
            inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                              annotation=option_annotation(option))
        )
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    described = app_commands.describe(**{o.name: o.description[:100] for o in options})(callback)
    chosen = {o.name: [discord_choice(o, c) for c in o.choices] for o in options if o.choices}
    if chosen:
        described = app_commands.choices(**chosen)(described)
    if suggester is not None:
        completing = {o.name: _completer(command, o, suggester) for o in options if o.suggest is not None}
        if completing:
            described = app_commands.autocomplete(**completing)(described)
    slash = app_commands.Command(
        name=name,
        description=description[:100],
        callback=described,
        parent=parent,
        allowed_contexts=EVERYWHERE if parent is None else None,
        allowed_installs=ANY_INSTALL if parent is None else None,
    )
    return slash


def _completer(command: Command, option: Option, suggester: Suggester) -> Callable[..., Awaitable[Any]]:
    async def complete(interaction: discord.Interaction, current: Any) -> list[app_commands.Choice[Any]]:
        return await suggester(interaction, command, option, current)

    return complete


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




def unknown_command_message(policy_words: str) -> str:
    """The policy's words for an unknown name (with its suggestion), and why Discord offered it."""
    return f"{policy_words} {STALE_LIST}"
