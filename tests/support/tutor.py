"""Driving the tutor through the one policy with several learners, and reading its database."""
from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from core.actions import SEAL, Action, encode, flatten
from core.engine import Engine
from core.markup import to_plain
from core.policy import Outcome, Policy, Request, Verdict, seal_of
from core.settings import Settings
from core.store import Database, RunStore
from core.store.schema import metadata
from core.tutor.service import State, Tutor, context_of, find
from tests.support import Clock
from tests.support.paths import TEST_CACHE

SECRET = "a test secret of more than sixteen characters"


@dataclasses.dataclass
class Class:
    """A study group: one engine and policy, learners who type and click in one channel (or a DM)."""

    engine: Engine
    policy: Policy
    tutor: Tutor
    clock: Clock
    platform: str = "test"
    place: str = "channel-1"
    group: str = "server-1"
    _count: int = 0
    _ids: str = dataclasses.field(default_factory=lambda: secrets.token_hex(4))
    """A platform's request ids are unique across restarts (a shared database remembers them)."""

    def request(self, user: str, *, line: str | None = None, action: str | None = None,
                args: dict[str, Any] | None = None, direct: bool = False, admin: bool = False) -> Request:
        self._count += 1
        return Request(self.platform, user, line=line, action=action, args=args or {},
                       request_id=f"r{self._ids}-{self._count}-{user}", place=f"dm-{user}" if direct else self.place,
                       group="" if direct else self.group, direct=direct, admin=admin)

    async def say(self, user: str, line: str, **kw: Any) -> Outcome:
        return await self.policy.handle(self.request(user, line=line, **kw))

    async def click(self, user: str, action: Action | str, **kw: Any) -> Outcome:
        return await self.policy.handle(self.request(user, action=action if isinstance(action, str) else action.id,
                                                     **kw))


def state_of(cls: Class) -> State:
    """The tutor's state for this class's engine (opened on first use)."""
    return cls.tutor.state(context_of(cls.engine))


def answered(outcome: Outcome) -> Any:
    assert outcome.verdict is Verdict.ANSWER and outcome.result is not None, (outcome.verdict, outcome.message)
    return outcome.result


def text(outcome: Outcome) -> str:
    return to_plain(answered(outcome).answer)


def button(outcome: Outcome, label: str) -> Action:
    actions = flatten(answered(outcome).actions)
    found = [a for a in actions if a.label == label or a.label.startswith(label)]
    assert found, f"no {label!r} among {[a.label for a in actions]}"
    return found[0]


def settings_for(url: str, pack: str = "tiny", **extra: Any) -> Settings:
    return Settings(pack=pack, cache_dir=TEST_CACHE, cooldown_s=0.0, request_timeout_s=120.0, database_url=url,
                    **{"secret": SECRET, **extra})


@contextmanager
def study_group(url: str, clock: Clock | None = None, **extra: Any) -> Iterator[Class]:
    engine = Engine(settings_for(url, **extra))
    tutor = find(engine.registry)
    assert tutor is not None
    clock = clock or Clock(1_800_000_000.0)
    tutor.clock = clock
    runs = RunStore(Database(url), clock=clock)
    try:
        yield Class(engine, Policy(engine, runs=runs), tutor, clock)
    finally:
        engine.close()


def rows_of(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every tutor table."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: [dict(r) for r in conn.execute(sa.select(t)).mappings()] for t in metadata.sorted_tables}
    finally:
        engine.dispose()


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'tutor.db'}"


def sealed_here(cls: Class, place: str, command: str, **args: str) -> str:
    """An action id sealed for `place` as the policy would seal it: what only the tutor can make, so a
    test can reach the round's own rules behind the policy's seal check."""
    encoded = encode(command, args)
    return f"{encoded}{SEAL}{seal_of(cls.policy.runs.action_key(), cls.platform, place, encoded)}"
