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
from core.text import clean_text, clean_values, is_blank

if TYPE_CHECKING:  # pragma: no cover
    from core.context import TaskContext
    from core.packs import TaskModel
    from core.results import Result

OptionType = Literal["text", "int", "bool", "head"]
"""`head` is a head number, or `all` (grid of every head) or `mean` (average of heads)."""

MAX_CHOICES = 25
"""The most values a platform's menu offers at once (Discord's limit on choices and on autocomplete answers)."""
MAX_CHOICE_CHARS = 100
"""The longest name or value of one choice (Discord's limit)."""

MAX_TEXT_CHARS = 2000
"""Upper bound for any free-text option, whatever the platform allows."""

SHOWN_CHARS = 40
"""How much of a learner's value an error message quotes back."""
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_MAX_DIGITS = 30


@dataclass(frozen=True)
class Choice:
    """One value an option can take, as a menu offers it: `value` is what the command receives, `name` what
    the learner reads in the menu (the value itself when empty)."""

    value: str | int
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or str(self.value)

    def __post_init__(self) -> None:
        if not self.label or len(self.label) > MAX_CHOICE_CHARS or len(str(self.value)) > MAX_CHOICE_CHARS:
            raise ValueError(f"a choice's name and value hold 1 to {MAX_CHOICE_CHARS} characters: {self!r}")


Suggest = Callable[["TaskContext", "Command"], Sequence[Choice]]
"""The values worth offering for an option while a learner types, read from the engine's pack and models
(`core/suggest.py`): quick, no model loads, run off the event loop. Empty: the option's declared range."""


@dataclass(frozen=True)
class Option:
    name: str
    description: str
    type: OptionType = "text"
    required: bool = False
    positional: Literal["main", "second", None] = None
    """`main` is the text after the command; `second` the part after ` | ` in the text grammar."""
    min_value: int | None = None
    max_value: int | None = None
    max_length: int | None = None
    default: Any = None
    choices: tuple[Choice, ...] = ()
    """The fixed set of values it takes, for a platform's menu (Discord's choices) and /help; at most
    `MAX_CHOICES`. The handler still judges the value, in its own words (a typed line can hold anything)."""
    suggest: Suggest | None = None
    """Values to offer while the learner types (Discord's autocomplete), for a set that depends on the pack:
    the value stays free, the suggestions only help. An option has `choices` or `suggest`, not both."""
    per_model: bool = False
    """A layer, head or token position: `max_value` is a cap for every model (what Discord's menu enforces), not
    this model's range, which the task checks and says in its own words ("This model has 2 layers (0-1)")."""

    def __post_init__(self) -> None:
        if self.choices and self.suggest is not None:
            raise ValueError(f"`{self.name}` has choices or suggestions, not both (Discord allows one)")
        if (self.choices or self.suggest is not None) and self.type == "bool":
            raise ValueError(f"`{self.name}` is true or false: it needs no choices")
        if len(self.choices) > MAX_CHOICES:
            raise ValueError(f"`{self.name}` has {len(self.choices)} choices; a menu holds {MAX_CHOICES}")
        wanted = int if self.type == "int" else str
        if any(type(c.value) is not wanted for c in self.choices):
            raise ValueError(f"`{self.name}`'s choices must be of its option's type ({wanted.__name__})")

    def coerce(self, raw: Any) -> Any:
        """Turn a raw value (string from chat, or typed from a platform) into a checked one.

        A string is cleaned first (`core.text.clean_text`), so a value is judged on what the model will see.
        """
        if self.type == "bool" and isinstance(raw, bool):
            return raw
        if self.type in ("int", "head") and isinstance(raw, int) and not isinstance(raw, bool):
            return self._in_range(raw, raw)
        text = self._as_text(raw).strip()
        if self.type == "text":
            return self._text(text)
        if self.type == "bool":
            return self._bool(text)
        if self.type == "head" and text.lower() in ("all", "mean"):
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
        if len(text) > limit and self.choices:  # no choice is that long: say what it takes, not how long it is
            raise UserError(f"`{self.name}` is one of {', '.join(f'`{c.value}`' for c in self.choices)}; "
                            f"you gave {shown(text)}.")
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
                extra = ", `all` or `mean`" if self.type == "head" else ""
                raise UserError(f"`{self.name}` must be a whole number{extra}, not {shown(text)}.") from None
        return self._in_range(value, text)

    def _in_range(self, value: int, given: Any) -> int:
        lo, hi = self.min_value, self.max_value
        if self.per_model and lo is not None and value < lo:
            raise UserError(f"`{self.name}` counts from {lo}; you gave {shown(given)}.")
        if self.per_model:
            return value  # past the cap: the task says what this model has
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


def declared_values(option: Option) -> list[Choice]:
    """What an option's declaration alone offers: its choices, else the start of its number range (with `all`
    and `mean` for a head). The fallback when the pack cannot say more (no config here, no time left)."""
    if option.choices:
        return list(option.choices)
    numbers: list[Choice] = []
    if option.type in ("int", "head") and option.min_value is not None:
        top = option.min_value + MAX_CHOICES - 1 if option.max_value is None else option.max_value
        typed = str if option.type == "head" else int
        numbers = [Choice(typed(n)) for n in range(option.min_value, min(top, option.min_value + 99) + 1)]
    if option.type == "head":
        return [Choice("all", "all: a grid of every head"), Choice("mean", "mean: the average of the heads"), *numbers]
    return numbers


def matching(candidates: Sequence[Choice], typed: Any, limit: int = MAX_CHOICES) -> list[Choice]:
    """The candidates a learner's partial value points at, best first: those whose value or name starts with
    it, then those that contain it (case-insensitive); all of them for an empty value; at most `limit`.
    A number matches by its start alone (`1` is layer 1 or 10, not every name that says "of 0-11")."""
    word = " ".join(str(typed if typed is not None else "").lower().split())
    unique: dict[str, Choice] = {}
    for choice in candidates:
        unique.setdefault(str(choice.value), choice)  # the first of each value, in the candidates' order
    if not word:
        return list(unique.values())[:limit]

    def keys(choice: Choice) -> tuple[str, str]:
        return str(choice.value).lower(), choice.label.lower()

    first = [c for c in unique.values() if any(k.startswith(word) for k in keys(c))]
    if word.lstrip("-").isdigit():
        return first[:limit]
    then = [c for c in unique.values() if c not in first and any(word in k for k in keys(c))]
    return (first + then)[:limit]


Handler = Callable[["TaskContext", dict[str, Any]], "Result"]
BatchHandler = Callable[["TaskContext", Sequence[dict[str, Any]]], list[Any]]


@dataclass(frozen=True)
class Subcommand:
    """One verb of a command that a platform can show as a subcommand (Discord: `/board join name:Ada`).

    The core still gets the one command, its main text being the verb's words and then its options'
    values (`join Ada`): exactly what the console and Slack type."""

    name: str
    description: str
    options: tuple[Option, ...] = ()
    words: str | None = None
    """What it stands for at the start of the main text: its name when None, nothing when "" (the command
    with no verb, which a platform that insists on a subcommand still needs a name for)."""

    @property
    def text(self) -> str:
        return self.name if self.words is None else self.words


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
    subcommands: tuple[Subcommand, ...] = ()
    """Its verbs, for platforms that show them as subcommands; the command then has one option, its main text,
    which the verbs fill (`Command.from_subcommand`)."""

    def __post_init__(self) -> None:
        if self.model is not None and (not self.needs_model or self.model_command):
            raise ValueError(f"/{self.name} declares a model, so it needs one and borrows none")
        if self.subcommands and [o.positional for o in self.options] != ["main"]:
            raise ValueError(f"/{self.name} has subcommands, so its one option is the main text they fill")
        if len({s.name for s in self.subcommands}) != len(self.subcommands):
            raise ValueError(f"/{self.name} names a subcommand twice")

    def from_subcommand(self, name: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """The raw options of the command a subcommand stands for: `join` with `name=Ada` is `what="join Ada"`."""
        sub = next((s for s in self.subcommands if s.name == name), None)
        if sub is None:
            raise UserError(f"/{self.name} has no subcommand {shown(name)}. Type `/help {self.name}`.")
        parts = [sub.text, *(str(values[o.name]).strip() for o in sub.options if values.get(o.name) is not None)]
        main = self.options[0]
        return {main.name: " ".join(p for p in parts if p)}

    def as_subcommand(self, text: str) -> tuple[Subcommand, dict[str, str]] | None:
        """The subcommand a main text reads as (`join Ada` is `join` with `name=Ada`), or None when none does:
        the inverse of `from_subcommand`, for what a platform with subcommands would send for a typed line."""
        words = " ".join(text.split())
        for sub in sorted(self.subcommands, key=lambda s: -len(s.text)):  # the longest verb first; "" last
            verb = sub.text
            if verb and words.lower() != verb and not words.lower().startswith(verb + " "):
                continue
            rest = words[len(verb):].strip()
            if not sub.options:
                if not rest:
                    return sub, {}
                continue
            if len(sub.options) == 1 and (rest or not sub.options[0].required):
                return sub, ({sub.options[0].name: rest} if rest else {})
        return None

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
            if value is None or (isinstance(value, str) and is_blank(value)):
                if opt.required:
                    raise UserError(self._missing(opt, value, raw))
                args[opt.name] = opt.default
            else:
                args[opt.name] = opt.coerce(value)
        return args

    def _missing(self, opt: Option, given: Any = None, raw: Mapping[str, Any] | None = None) -> str:
        unseen = " Yours holds only characters that show nothing (zero-width spaces and the like)." if (
            isinstance(given, str) and given.strip()) else ""
        main = self.positional("main")
        before = (raw or {}).get(main.name) if main is not None and opt.positional == "second" else None
        if isinstance(before, str) and "|" in before:  # `pizza|food`: a pipe inside a word stays text
            unseen += " Put a space on each side of `|`: the part after ` | ` is the second one."
        return f"/{self.name} needs `{opt.name}` ({opt.description}).{unseen} Example: `{self.examples[0]}`"


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
