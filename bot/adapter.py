"""The adapter protocol: what a chat platform implements to serve the tutor.

An adapter does three things and nothing else (errbot's `backends/base.py` is the model):
1. turn a platform event into a `core.policy.Request` and hand it to the one `Policy`;
2. deliver the `Outcome` in its own dialect: the answer (text, table, pictures with alt text,
   code), its actions (buttons, a select, numbered choices), or a private note for errors,
   cooldowns and apologies; a duplicate is dropped;
3. route a chosen action back into the policy as `Request(action=...)`.

Each adapter owns its settings (opsdroid's per-connector schema is the model): the environment
variables it reads, which are secret, and how a well-formed value looks. `tutor run`, `tutor
doctor`, the CLI and log redaction iterate over `ADAPTERS`; the core holds no platform token.

To add a platform: a package `bot/<name>/` with an `Adapter` subclass and its variables, one line in
`ADAPTERS`, one driver in the conformance suite (see docs/architecture.md).
"""
from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from core.settings import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from core.policy import Policy

@dataclass(frozen=True)
class Registration:
    """Where one platform lives: its `Adapter` class and, apart from it, its variables (`module:name` each,
    imported only when used). The variables sit in a module that does not import the platform's client:
    log redaction needs them in every command, `tutor ask` included, and importing discord.py and
    slack-bolt for it cost 0.4-0.6 s of each start."""

    adapter: str
    variables: str


ADAPTERS: dict[str, Registration] = {
    "discord": Registration("bot.discord.app:DiscordAdapter", "bot.discord.config:VARIABLES"),
    "slack": Registration("bot.slack.app:SlackAdapter", "bot.slack.config:VARIABLES"),
}
"""Every chat platform `tutor run` can start, by name: the one registration of an adapter."""


def _attribute(where: str) -> object:
    module, _, attribute = where.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class Variable:
    """One environment variable an adapter reads (documented in .env.example)."""

    env: str
    help: str
    secret: bool = False
    check: Callable[[str], str | None] | None = None
    """A format check for `tutor doctor`: None when the value looks right, else what is wrong."""

    def state(self, env: Mapping[str, str]) -> str:
        """`not set`, `set, looks valid` or `set, malformed: ...`: never the value itself."""
        value = env.get(self.env, "").strip()
        if not value:
            return "not set"
        problem = self.check(value) if self.check else None
        return f"set, malformed: {problem}" if problem else "set, looks valid"


class Adapter(ABC):
    """One chat platform. Subclasses set `name` and `variables` and implement the three methods."""

    name: ClassVar[str]
    title: ClassVar[str] = ""
    """How people write its name ("Discord"); defaults to `name` capitalised."""
    variables: ClassVar[tuple[Variable, ...]]
    network: ClassVar[str] = "outbound network access"
    """What it must reach, for the one-line message when it cannot (e.g. "outbound HTTPS to discord.com")."""

    def __init__(self, policy: Policy, env: Mapping[str, str]) -> None:
        self.policy = policy
        self.env = env

    @classmethod
    def wanted(cls, env: Mapping[str, str]) -> bool:
        """True when any of its secret variables is set: the operator meant to run it."""
        return any(env.get(v.env, "").strip() for v in cls.variables if v.secret)

    @classmethod  # noqa: B027 - a hook: most platforms need no check beyond `wanted`
    def check(cls, env: Mapping[str, str]) -> None:
        """Raise `ConfigError` naming what is missing or malformed, before anything connects."""

    @classmethod
    def addresses(cls, env: Mapping[str, str]) -> list[tuple[str, int, str]]:
        """`(host, port, what)` for every socket it will listen on (checked before models load)."""
        return []

    @classmethod
    def display_name(cls) -> str:
        return cls.title or cls.name.capitalize()

    @classmethod
    def how_to_enable(cls) -> str:
        """One phrase for "nothing is configured": which variables turn it on."""
        names = " with ".join(v.env for v in cls.variables if v.secret)
        return f"{names} for {cls.display_name()}"

    @classmethod
    def secrets(cls, env: Mapping[str, str]) -> tuple[str, ...]:
        return secret_values(cls.variables, env)

    @classmethod
    def summary(cls, env: Mapping[str, str]) -> str:
        """How `tutor run` and `tutor doctor` name it, e.g. `slack (Socket Mode)`."""
        return cls.name

    def describe(self) -> str:
        return self.summary(self.env)

    @abstractmethod
    async def serve(self) -> None:
        """Connect and serve until `stop()` (or a failure). A rejected token raises `ConfigError`."""

    @abstractmethod
    async def stop(self) -> None:
        """Close the connection cleanly (Discord: close code 1000), so the platform shows the bot offline."""


def adapter_class(name: str) -> type[Adapter]:
    found = _attribute(ADAPTERS[name].adapter)
    assert isinstance(found, type) and issubclass(found, Adapter), ADAPTERS[name]
    return found


def all_adapters() -> list[type[Adapter]]:
    return [adapter_class(name) for name in ADAPTERS]


def wanted_adapters(env: Mapping[str, str], only: str | None = None) -> list[type[Adapter]]:
    """The adapters to start: those whose secrets are set (or just `only`), each checked first.

    `ConfigError` when one is half configured, when `only` is not configured, or when none is."""
    if only is not None:
        cls = adapter_class(only)
        if not cls.wanted(env):
            raise ConfigError(f"Set {cls.how_to_enable()} (in the environment or .env) to run it; "
                              f"see docs/{cls.name}.md.")
        chosen = [cls]
    else:
        chosen = [cls for cls in all_adapters() if cls.wanted(env)]
    if not chosen:
        raise ConfigError(nothing_configured())
    for cls in chosen:
        cls.check(env)
    return chosen


def nothing_configured() -> str:
    ways = "; or ".join(cls.how_to_enable() for cls in all_adapters())
    return (f"No chat platform is configured, so there is nothing to run. Set {ways}, in the environment or "
            ".env (see .env.example). `tutor doctor` checks them.")


def adapter_variables(name: str) -> tuple[Variable, ...]:
    """The variables of one adapter, without importing the adapter (see `Registration`)."""
    found = _attribute(ADAPTERS[name].variables)
    assert isinstance(found, tuple), ADAPTERS[name]
    return found


def secret_values(variables: tuple[Variable, ...], env: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(env[v.env].strip() for v in variables if v.secret and env.get(v.env, "").strip())


def all_secrets(env: Mapping[str, str]) -> tuple[str, ...]:
    """Every configured platform secret, longest first (so no secret is redacted only in part)."""
    found = {s for name in ADAPTERS for s in secret_values(adapter_variables(name), env)}
    return tuple(sorted(found, key=len, reverse=True))


__all__ = ["ADAPTERS", "Adapter", "ConfigError", "Registration", "Variable", "adapter_class", "adapter_variables",
           "all_adapters", "all_secrets", "nothing_configured", "wanted_adapters"]
