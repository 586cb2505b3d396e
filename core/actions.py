"""Actions: the follow-up choices an answer carries ("next layer", "mask this token").

The core only says *what* a choice runs: a command and its raw option values. Each adapter draws
actions natively (Discord buttons and selects, Slack Block Kit, numbered lines in the console) and,
when one is chosen, hands its encoded id back to the policy as `Request(action=...)`, which checks
it like any typed command. So a click obeys the same validation, cooldown and error wording.

An encoded id must fit Discord's `custom_id` (100 characters), so an action never carries the
learner's text: it names the run that produced the answer (`run=*` in a task's result, replaced
by a short id when the policy stores the run) and the few options that change.

**Sealed.** An id is a capability: whoever sends it back runs its command with its options. So the
policy seals every id it hands out (`Action.sealed`): a keyed MAC of the id and of the conversation it
is shown in (`tt1:answer:round=ab12&choice=A!<seal>`), and runs an action only when its seal matches
the conversation the click comes from. An id typed by hand, picked from a forged select value, or
copied into another channel or DM is refused before any command sees it (core/policy.py).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, unquote

from core.errors import UserError

PREFIX = "tt1"
"""Versioned, so ids on old messages can be told apart if the format ever changes."""
MAX_ID = 100
"""Discord's custom_id limit; Slack's action_id (255) and value (2000) are roomier."""
MAX_LABEL = 75
"""Slack's button text limit (Discord allows 80)."""
MAX_BUTTONS = 20
"""Four rows of five on Discord, leaving the fifth row for one select."""
MAX_MENU_OPTIONS = 25
THIS_RUN = "*"
"""The value of `run` in a task's actions: the policy replaces it with the stored run's id."""
SEAL = "!"
"""Between an id and its seal; `quote` escapes it, so it never appears inside the id itself."""
SEAL_CHARS = 11
"""A seal: 8 bytes of HMAC-SHA256, url-safe base64 without padding (64 bits: not guessable online)."""
MAX_BODY = MAX_ID - len(SEAL) - SEAL_CHARS
"""What an id may take before its seal."""

Style = Literal["primary", "secondary", "danger"]


@dataclass(frozen=True)
class Action:
    """One choice: a button, one option of a select, or one numbered line in the console."""

    label: str
    command: str
    args: tuple[tuple[str, str], ...] = ()
    style: Style = "secondary"
    description: str = ""
    """A longer hint where the platform shows one (select options)."""
    seal: str = ""
    """Set by the policy when it hands the action out (`sealed`); part of `id`."""

    @classmethod
    def to(cls, label: str, command: str, *, style: Style = "secondary", description: str = "",
           **args: object) -> Action:
        return cls(label[:MAX_LABEL], command, tuple((k, str(v)) for k, v in args.items()), style,
                   description[:100])

    @property
    def id(self) -> str:
        encoded = encode(self.command, dict(self.args))
        return f"{encoded}{SEAL}{self.seal}" if self.seal else encoded

    def with_run(self, run_id: str) -> Action:
        """This action with `run=*` replaced by a stored run's id."""
        args = tuple((k, run_id if (k == "run" and v == THIS_RUN) else v) for k, v in self.args)
        return Action(self.label, self.command, args, self.style, self.description, self.seal)

    def sealed(self, seal: Sealer) -> Action:
        """This action with its seal for the conversation `seal` stands for."""
        return dataclasses.replace(self, seal=seal(encode(self.command, dict(self.args))))


@dataclass(frozen=True)
class Ask:
    """A choice that first asks the learner for a text ("use my own sentence"): a Discord modal, a
    Slack modal (`views.open`), a prompt in the console. The adapter then sends
    `Request(action=ask.action.id, args={ask.option: text})`: the text rides beside the id, which
    stays short, and is validated with the action's other options."""

    action: Action
    option: str
    title: str
    placeholder: str = ""
    max_length: int = 300

    @property
    def label(self) -> str:
        return self.action.label

    def with_run(self, run_id: str) -> Ask:
        return Ask(self.action.with_run(run_id), self.option, self.title, self.placeholder, self.max_length)

    def sealed(self, seal: Sealer) -> Ask:
        return dataclasses.replace(self, action=self.action.sealed(seal))


@dataclass(frozen=True)
class Menu:
    """A select: one row of at most 25 options, each an `Action`."""

    placeholder: str
    options: tuple[Action, ...]

    def with_run(self, run_id: str) -> Menu:
        return Menu(self.placeholder, tuple(o.with_run(run_id) for o in self.options))

    def sealed(self, seal: Sealer) -> Menu:
        return Menu(self.placeholder, tuple(o.sealed(seal) for o in self.options))


Choice = Action | Menu | Ask
Sealer = Callable[[str], str]
"""The seal of an unsealed id for one conversation (core/policy.py makes one per request)."""


OLDER = "That button belongs to an older version of the tutor. Please type the command again."


def encode(command: str, args: dict[str, str]) -> str:
    """`tt1:attention:run=ab12&layer=3`; ValueError past `MAX_BODY`, which leaves room for the seal
    within `MAX_ID` (a task bug, caught in tests)."""
    body = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in args.items())
    encoded = f"{PREFIX}:{command}:{body}"
    if len(encoded) > MAX_BODY:
        raise ValueError(f"action id longer than {MAX_BODY} characters (and its seal): {encoded!r}")
    return encoded


def unseal(sealed: str) -> tuple[str, str]:
    """An id as handed out -> the id and its seal ("" when it has none)."""
    encoded, sep, seal = sealed.rpartition(SEAL)
    return (encoded, seal) if sep else (sealed, "")


def decode(encoded: str) -> tuple[str, dict[str, str]]:
    """The command and raw option values of an encoded action (its seal, if any, set aside: the policy
    checks it); `UserError` for anything else."""
    prefix, _, rest = unseal(encoded)[0].partition(":")
    command, sep, body = rest.partition(":")
    if prefix != PREFIX or not sep or not command:
        raise UserError(OLDER)
    args: dict[str, str] = {}
    for pair in filter(None, body.split("&")):
        key, _, value = pair.partition("=")
        args[unquote(key)] = unquote(value)
    return command, args


def flatten(choices: tuple[Choice, ...]) -> list[Action]:
    """Every action behind the choices: a select's options, an ask's action."""
    out: list[Action] = []
    for choice in choices:
        if isinstance(choice, Menu):
            out.extend(choice.options)
        else:
            out.append(choice.action if isinstance(choice, Ask) else choice)
    return out


def sealed(choices: tuple[Choice, ...], seal: Sealer) -> tuple[Choice, ...]:
    """Every choice sealed for one conversation."""
    return tuple(choice.sealed(seal) for choice in choices)


def uses_run(choices: tuple[Choice, ...]) -> bool:
    """True when some action refers to the run that produced the answer (`run=*`)."""
    return any(dict(a.args).get("run") == THIS_RUN for a in flatten(choices))


def check(choices: tuple[Choice, ...]) -> None:
    """The limits every platform can honour; ValueError names the first one broken (a task bug)."""
    buttons = [c for c in choices if isinstance(c, (Action, Ask))]
    menus = [c for c in choices if isinstance(c, Menu)]
    if len(buttons) > MAX_BUTTONS or len(menus) > 1:
        raise ValueError(f"{len(buttons)} buttons and {len(menus)} selects; at most {MAX_BUTTONS} and 1")
    for menu in menus:
        if not 1 <= len(menu.options) <= MAX_MENU_OPTIONS:
            raise ValueError(f"a select needs 1 to {MAX_MENU_OPTIONS} options, not {len(menu.options)}")
    for action in flatten(choices):
        if not action.label.strip():
            raise ValueError(f"an action to /{action.command} has no label")
        action.with_run("r" * 8).id  # noqa: B018 - raises past the id limit (less the seal's room)
