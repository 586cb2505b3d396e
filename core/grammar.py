"""The text grammar shared by the console, Slack mentions and DMs.

`/command main text | second part key=value ...`: only the command's declared options
are read as `key=value`; everything else stays text.
"""
from __future__ import annotations

import re
from typing import Any

from core.errors import UserError
from core.registry import Command, Registry

_KEY_VALUE = re.compile(r"(?:(?<=\s)|^)([A-Za-z_][A-Za-z0-9_]*)=(\S+)")


def split_command(line: str) -> tuple[str, str]:
    """`"/qa Who? | ctx"` -> `("qa", "Who? | ctx")`; the slash is optional."""
    text = line.strip()
    if not text:
        raise UserError("Type a command, for example `/sentiment I love this`, or `/help`.")
    head, _, rest = text.partition(" ")
    return head.lstrip("/").lower(), rest.strip()


def parse_arguments(command: Command, text: str) -> dict[str, Any]:
    """Raw (unchecked) option values from the text after the command name."""
    declared = {o.name for o in command.options if o.positional is None}
    raw: dict[str, Any] = {}

    def take(match: re.Match[str]) -> str:
        key = match.group(1).lower()
        if key not in declared:
            return match.group(0)
        raw[key] = match.group(2)
        return ""

    text = _KEY_VALUE.sub(take, text)
    main_opt, second_opt = command.positional("main"), command.positional("second")
    main, sep, second = text.partition(" | ") if second_opt else (text, "", "")
    if second_opt and not sep and text.rstrip().endswith("|"):
        main = text.rstrip()[:-1]
    if main_opt:
        raw[main_opt.name] = main.strip() or None
    if second_opt and second.strip():
        raw[second_opt.name] = second.strip()
    return raw


def parse_line(registry: Registry, line: str) -> tuple[Command, dict[str, Any]]:
    name, rest = split_command(line)
    command = registry.get(name)
    return command, parse_arguments(command, rest)
