"""The text grammar shared by the console, Slack mentions and DMs.

`/command main text | second part key=value ...`: only the command's declared options
are read as `key=value`; everything else stays text. The command name ends at the first
whitespace of any kind (a space, a tab, a new line).

The line is cleaned (`core.text.clean_text`) before it is read, so a lone surrogate or a control
character can end up neither in the command name nor in an option, and `read_line` says what changed.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import UserError
from core.registry import Command, Registry, shown
from core.text import clean_text

_KEY_VALUE = re.compile(r"(?:(?<=\s)|^)([A-Za-z_][A-Za-z0-9_]*)=(\S*)")


def split_command(line: str) -> tuple[str, str]:
    """`"/qa Who? | ctx"` -> `("qa", "Who? | ctx")`; the slash is optional."""
    text = line.strip()
    if not text:
        raise UserError("Type a command, for example `/sentiment I love this`, or `/help`.")
    head, *rest = text.split(maxsplit=1)
    return head.lstrip("/").lower(), rest[0].strip() if rest else ""


def parse_arguments(command: Command, text: str) -> dict[str, Any]:
    """Raw (unchecked) option values from the text after the command name."""
    declared = {o.name for o in command.options if o.positional is None}
    raw: dict[str, Any] = {}

    def take(match: re.Match[str]) -> str:
        key, value = match.group(1).lower(), match.group(2)
        if key not in declared:
            return match.group(0)
        if not value:  # `layer=` at the end, or `layer= 2`: once read as text, and answered about other words
            raise UserError(f"`{key}=` has no value: write it right after the `=`, with no space, as in "
                            f"`{example_of(command, key)}`.")
        if raw.get(key, value) != value:  # which one was meant? (the same value twice is no question)
            raise UserError(f"`{key}=` is given twice, as {shown(raw[key])} and as {shown(value)}: give it once.")
        raw[key] = value
        return ""

    text = _KEY_VALUE.sub(take, text)
    main_opt, second_opt = command.positional("main"), command.positional("second")
    main, sep, second = text.partition(" | ") if second_opt else (text, "", "")
    if second_opt and not sep:
        main, second = _bare_pipe_at_an_end(text)
    if main_opt:
        raw[main_opt.name] = main.strip() or None
    elif main.strip():  # `/progress junk` once answered as if the words were not there
        options = [f"`{o.name}=`" for o in command.options]
        raise UserError(f"/{command.name} takes no text, and yours has {shown(main.strip())}."
                        + (f" Its options: {', '.join(options)}." if options else f" Type `/{command.name}` alone."))
    if second_opt and second.strip():
        raw[second_opt.name] = second.strip()
    return raw


def example_of(command: Command, key: str) -> str:
    """`key=value` as one of the command's examples writes it, else with a value the option takes."""
    for example in command.examples:
        found = re.search(rf"(?:(?<=\s)|^){key}=\S+", example)
        if found:
            return found.group(0)
    option = next(o for o in command.options if o.name == key)
    value = (option.choices[0].value if option.choices else "true" if option.type == "bool"
             else option.min_value if option.min_value is not None else "...")
    return f"{key}={value}"


def _bare_pipe_at_an_end(text: str) -> tuple[str, str]:
    """Main and second part of a line with no ` | ` inside: `Who? |` has an empty second part, and `| ctx` (the
    line stripped of its leading space) an empty main one, so the answer names the part that is missing."""
    stripped = text.strip()
    if stripped.endswith("|"):
        return stripped[:-1], ""
    if stripped.startswith("|") and stripped[1:2].isspace():
        return "", stripped[1:]
    return text, ""


@dataclass(frozen=True)
class Parsed:
    command: Command
    raw: dict[str, Any]
    """Unchecked option values, for `Command.validate`."""
    notice: str | None = None
    """What cleaning the line changed, for the answer; None when nothing."""


def read_line(registry: Registry, line: str) -> Parsed:
    """A line of the text grammar, cleaned, split into its command and raw option values."""
    cleaned = clean_text(line)
    name, rest = split_command(cleaned.text)
    command = registry.get(name)
    return Parsed(command, parse_arguments(command, rest), cleaned.notice)


def parse_line(registry: Registry, line: str) -> tuple[Command, dict[str, Any]]:
    parsed = read_line(registry, line)
    return parsed.command, parsed.raw


def read_typed(registry: Registry, *, line: str | None = None, command: str | None = None,
               args: Mapping[str, Any] | None = None) -> tuple[Command, dict[str, Any], str | None]:
    """What a learner typed, as a line of the grammar or a command with options: the command (never a hidden
    one), its checked arguments, and the notice when their text had to be cleaned (`core.text`).
    `UserError` when it is not valid. The policy reads every typed request through here."""
    if line is not None:
        parsed = read_line(registry, line)
        found, raw, line_notice = registry.typed(parsed.command.name), parsed.raw, parsed.notice
    else:
        found, raw, line_notice = registry.typed(command or ""), dict(args or {}), None
    checked, notice = found.check(raw)
    return found, checked, line_notice or notice
