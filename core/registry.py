"""The one registry of commands: every adapter derives its commands from here.

To add a command: write a handler in `core/tasks/`, then add one `Command(...)` to
`core/commands.py`. The console, Discord and Slack all pick it up from there.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping, Sequence

from core.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from core.context import TaskContext
    from core.results import Result

OptionKind = Literal["text", "int", "bool", "head"]
"""`head` is a head number, or `all` (grid of every head) or `mean` (average of heads)."""

MAX_TEXT_CHARS = 2000
"""Upper bound for any free-text option, whatever the platform allows."""


@dataclass(frozen=True)
class Option:
    name: str
    description: str
    kind: OptionKind = "text"
    required: bool = False
    positional: Literal["main", "second", None] = None
    """`main` is the text after the command; `second` the part after ` | ` in the text grammar."""
    min_value: int | None = None
    max_value: int | None = None
    max_length: int | None = None
    default: Any = None

    def coerce(self, raw: Any) -> Any:
        """Turn a raw value (string from chat, or typed from a platform) into a checked one."""
        if self.kind == "text":
            return self._text(raw)
        if self.kind == "bool":
            return _bool(self.name, raw)
        if self.kind == "head" and str(raw).strip().lower() in ("all", "mean"):
            return str(raw).strip().lower()
        return self._int(raw)

    def _text(self, raw: Any) -> str:
        text = str(raw).strip()
        limit = self.max_length or MAX_TEXT_CHARS
        if len(text) > limit:
            raise UserError(f"`{self.name}` is {len(text)} characters long; the limit is {limit}. Please shorten it.")
        return text

    def _int(self, raw: Any) -> int:
        try:
            value = int(str(raw).strip())
        except ValueError:
            extra = ", `all` or `mean`" if self.kind == "head" else ""
            raise UserError(f"`{self.name}` must be a whole number{extra}, not `{raw}`.") from None
        lo, hi = self.min_value, self.max_value
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise UserError(f"`{self.name}` must be between {lo} and {hi}; you gave {value}.")
        return value


def _bool(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on", "y"):
        return True
    if text in ("0", "false", "no", "off", "n"):
        return False
    raise UserError(f"`{name}` must be true or false, not `{raw}`.")


Handler = Callable[["TaskContext", dict[str, Any]], "Result"]
BatchHandler = Callable[["TaskContext", Sequence[dict[str, Any]]], list[Any]]


@dataclass(frozen=True)
class Command:
    name: str
    description: str
    """One line, at most 100 characters (Discord's limit)."""
    options: tuple[Option, ...]
    examples: tuple[str, ...]
    handler: Handler
    needs_model: bool = True
    """False for commands that answer from the registry alone (/help, /models)."""
    batch_handler: BatchHandler | None = None
    """Answers several requests in one forward pass: one Result or exception per input."""
    model_command: str | None = None
    """The pack entry whose model serves this command, when it borrows another's (e.g. /overview)."""
    personal: bool = False
    """The handler gets `args["caller"]` (a `core.context.Caller`): who asked and where."""
    hidden: bool = False
    """Reached only through actions (a quiz answer, a lesson step): no slash command, not in /help."""

    @property
    def model_key(self) -> str:
        return self.model_command or self.name

    def option(self, name: str) -> Option:
        return next(o for o in self.options if o.name == name)

    def positional(self, role: str) -> Option | None:
        return next((o for o in self.options if o.positional == role), None)

    def validate(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Checked, typed arguments with defaults filled in; unknown names are refused."""
        known = {o.name for o in self.options}
        unknown = sorted(set(raw) - known)
        if unknown:
            allowed = ", ".join(f"`{n}`" for n in sorted(known)) or "none"
            raise UserError(f"/{self.name} has no option `{unknown[0]}`. Its options: {allowed}.")
        args: dict[str, Any] = {}
        for opt in self.options:
            value = raw.get(opt.name)
            if value is None or (isinstance(value, str) and not value.strip()):
                if opt.required:
                    raise UserError(self._missing(opt))
                args[opt.name] = opt.default
            else:
                args[opt.name] = opt.coerce(value)
        return args

    def _missing(self, opt: Option) -> str:
        return f"/{self.name} needs `{opt.name}` ({opt.description}). Example: `{self.examples[0]}`"


class Registry:
    def __init__(self, commands: list[Command]) -> None:
        names = [c.name for c in commands]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate command names in {names}")
        self._commands = {c.name: c for c in commands}

    def __iter__(self):
        return iter(self._commands.values())

    def visible(self) -> list[Command]:
        """The commands a learner can type: what slash commands, manifests and /help list."""
        return [c for c in self._commands.values() if not c.hidden]

    def __len__(self) -> int:
        return len(self._commands)

    def get(self, name: str) -> Command:
        key = name.strip().lstrip("/").lower()
        if key in self._commands:
            return self._commands[key]
        close = difflib.get_close_matches(key, list(self._commands), n=1, cutoff=0.5)
        hint = f" Did you mean `/{close[0]}`?" if close else ""
        raise UserError(f"There is no command `/{key}`.{hint} Type `/help` for the list.")
