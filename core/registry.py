"""The one registry of commands: every adapter derives its commands from here.

To add a command: write a handler in `core/tasks/`, then add one `Command(...)` to
`core/commands.py` (with `model=` its task's declared model, when it needs one). The console, Discord,
Slack, the model packs, /models and the doctor all pick it up from there.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from core.errors import UserError
from core.text import clean_text, clean_values

if TYPE_CHECKING:  # pragma: no cover
    from core.context import TaskContext
    from core.packs import TaskModel
    from core.results import Result

OptionKind = Literal["text", "int", "bool", "head"]
"""`head` is a head number, or `all` (grid of every head) or `mean` (average of heads)."""

MAX_TEXT_CHARS = 2000
"""Upper bound for any free-text option, whatever the platform allows."""

SHOWN_CHARS = 40
"""How much of a learner's value an error message quotes back."""
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_MAX_DIGITS = 30


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
        """Turn a raw value (string from chat, or typed from a platform) into a checked one.

        A string is cleaned first (`core.text.clean_text`), so a value is judged on what the model will see.
        """
        if self.kind == "bool" and isinstance(raw, bool):
            return raw
        if self.kind in ("int", "head") and isinstance(raw, int) and not isinstance(raw, bool):
            return self._in_range(raw, raw)
        text = self._as_text(raw).strip()
        if self.kind == "text":
            return self._text(text)
        if self.kind == "bool":
            return self._bool(text)
        if self.kind == "head" and text.lower() in ("all", "mean"):
            return text.lower()
        return self._int(text)

    def _as_text(self, raw: Any) -> str:
        if isinstance(raw, str):
            return clean_text(raw).text
        try:
            return str(raw)
        except ValueError:  # an int past Python's limit on digits for str()
            raise UserError(f"`{self.name}` is a number too long to read.") from None

    def _text(self, text: str) -> str:
        limit = self.max_length or MAX_TEXT_CHARS
        if len(text) > limit:
            raise UserError(f"`{self.name}` is {len(text)} characters long; the limit is {limit}. Please shorten it.")
        return text

    def _int(self, text: str) -> int:
        digits = text.removeprefix("-").removeprefix("+")
        if len(digits) > _MAX_DIGITS and digits.isascii() and digits.isdigit():
            value = -(10**_MAX_DIGITS) if text.startswith("-") else 10**_MAX_DIGITS  # out of any range
        else:
            try:
                value = int(text)
            except ValueError:
                extra = ", `all` or `mean`" if self.kind == "head" else ""
                raise UserError(f"`{self.name}` must be a whole number{extra}, not {shown(text)}.") from None
        return self._in_range(value, text)

    def _in_range(self, value: int, given: Any) -> int:
        lo, hi = self.min_value, self.max_value
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise UserError(f"`{self.name}` must be between {lo} and {hi}; you gave {shown(given)}.")
        return value

    def _bool(self, text: str) -> bool:
        word = text.lower()
        if word in ("1", "true", "yes", "on", "y"):
            return True
        if word in ("0", "false", "no", "off", "n"):
            return False
        raise UserError(f"`{self.name}` must be true or false, not {shown(text)}.")


def shown(value: Any) -> str:
    """A learner's value quoted back in an error message: as inline code, short, with nothing in it
    that could end the code span (a backtick) or turn the rest of the line around (bidi controls)."""
    try:
        text = value if isinstance(value, str) else repr(value)
    except ValueError:  # an int past Python's limit on digits for str()
        return "a number too long to show"
    text = " ".join(_BIDI_CONTROLS.sub("", clean_text(text).text).replace("`", "'").split())
    if len(text) > SHOWN_CHARS:
        text = text[: SHOWN_CHARS - 1] + "…"
    return f"`{text}`" if text else "an empty value"


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
    model: TaskModel | None = None
    """The model this command's task declares (kinds, hub, tiny and offline models): every pack, /models,
    the doctor and TUTOR_MODEL_<COMMAND> derive from it. None for commands that borrow another's
    (`model_command`) or need none."""

    def __post_init__(self) -> None:
        if self.model is not None and (not self.needs_model or self.model_command):
            raise ValueError(f"/{self.name} declares a model, so it needs one and borrows none")

    @property
    def model_key(self) -> str:
        return self.model_command or self.name

    def option(self, name: str) -> Option:
        return next(o for o in self.options if o.name == name)

    def positional(self, role: str) -> Option | None:
        return next((o for o in self.options if o.positional == role), None)

    def validate(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Checked, typed arguments with defaults filled in; unknown names are refused."""
        return self.check(raw)[0]

    def check(self, raw: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
        """`validate`, and the notice for the answer when the learner's text had to be cleaned to be read."""
        raw, notice = clean_values(raw)
        known = {o.name for o in self.options}
        unknown = sorted(str(k) for k in set(raw) - known)
        if unknown:
            allowed = ", ".join(f"`{n}`" for n in sorted(known)) or "none"
            raise UserError(f"/{self.name} has no option {shown(unknown[0])}. Its options: {allowed}.")
        return self._arguments(raw), notice

    def _arguments(self, raw: Mapping[str, Any]) -> dict[str, Any]:
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
        """Any command by name, hidden ones included (an action names them)."""
        key = _key(name)
        if key in self._commands:
            return self._commands[key]
        raise self._unknown(key)

    def typed(self, name: str) -> Command:
        """A command a learner typed: a hidden one is answered as if it did not exist, so its name
        neither runs it (a quiz's answer key, a skipped confirmation) nor is suggested."""
        key = _key(name)
        found = self._commands.get(key)
        if found is None or found.hidden:
            raise self._unknown(key)
        return found

    def _unknown(self, key: str) -> UserError:
        close = difflib.get_close_matches(key[:SHOWN_CHARS], [c.name for c in self.visible()], n=1, cutoff=0.5)
        hint = f" Did you mean `/{close[0]}`?" if close else ""
        return UserError(f"There is no command {shown('/' + key)}.{hint} Type `/help` for the list.")


def _key(name: str) -> str:
    return clean_text(str(name)).text.strip().lstrip("/").lower()
