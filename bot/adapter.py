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

To add a platform: one module with an `Adapter` subclass, one line in `ADAPTERS`, one fixture in
tests/test_conformance.py (see docs/architecture.md).
"""
from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, ClassVar, Mapping

from core.settings import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from core.policy import Policy

ADAPTERS: dict[str, str] = {
    "discord": "bot.discord_app:DiscordAdapter",
    "slack": "bot.slack_app:SlackAdapter",
}
"""Every chat platform `tutor run` can start, by name: `module:class`, imported only when used."""


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
    variables: ClassVar[tuple[Variable, ...]]

    def __init__(self, policy: Policy, env: Mapping[str, str]) -> None:
        self.policy = policy
        self.env = env

    @classmethod
    def wanted(cls, env: Mapping[str, str]) -> bool:
        """True when any of its secret variables is set: the operator meant to run it."""
        return any(env.get(v.env, "").strip() for v in cls.variables if v.secret)

    @classmethod
    def check(cls, env: Mapping[str, str]) -> None:
        """Raise `ConfigError` naming what is missing or malformed, before anything connects."""

    @classmethod
    def secrets(cls, env: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(env[v.env].strip() for v in cls.variables if v.secret and env.get(v.env, "").strip())

    def describe(self) -> str:
        """How `tutor run` names it when it starts, e.g. `slack (Socket Mode)`."""
        return self.name

    @abstractmethod
    async def serve(self) -> None:
        """Connect and serve until `stop()` (or a failure). A rejected token raises `ConfigError`."""

    @abstractmethod
    async def stop(self) -> None:
        """Close the connection cleanly (Discord: close code 1000), so the platform shows the bot offline."""


def adapter_class(name: str) -> type[Adapter]:
    module, _, attribute = ADAPTERS[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def wanted_adapters(env: Mapping[str, str]) -> list[type[Adapter]]:
    """The adapters whose secrets are set, each checked; `ConfigError` if one is half configured."""
    chosen = [cls for cls in map(adapter_class, ADAPTERS) if cls.wanted(env)]
    for cls in chosen:
        cls.check(env)
    return chosen


def all_secrets(env: Mapping[str, str]) -> tuple[str, ...]:
    """Every configured platform secret, longest first (so no secret is redacted only in part)."""
    found = {s for name in ADAPTERS for s in adapter_class(name).secrets(env)}
    return tuple(sorted(found, key=len, reverse=True))


__all__ = ["ADAPTERS", "Adapter", "ConfigError", "Variable", "adapter_class", "all_secrets", "wanted_adapters"]
