"""The console as a conformance driver: `Console` (bot/console/app.py) with in-memory streams, one per learner."""
from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.console.app import Console
from core.actions import Action, Ask
from core.policy import Policy
from tests.conformance.scenarios import Driver, Seen


class ConsoleDriver:
    name = "console"
    limit = 1_000_000
    """A terminal has no message limit."""
    shared = False
    """Each learner has their own terminal (every request is `direct`), and no one administers it."""
    replaces = False
    """A terminal prints each answer below the last; nothing printed changes."""
    restarts = False
    """The numbered choices live in the console's process: a new console has none (`restart` starts one)."""

    def __init__(self, policy: Policy, out_dir: Path) -> None:
        self.policy, self.out_dir = policy, out_dir
        self.consoles: dict[str, tuple[Console, io.StringIO, io.StringIO]] = {}
        self.typed: list[str] = []
        self.shown_to: dict[str, str] = {}
        """Action id -> the learner whose console numbered it."""

    def _console(self, user: str) -> tuple[Console, io.StringIO, io.StringIO]:
        if user not in self.consoles:
            out, err = io.StringIO(), io.StringIO()
            console = Console(self.policy, self.out_dir / user, out, err, prompt=lambda _: self.typed.pop(0), user=user)
            self.consoles[user] = (console, out, err)
        return self.consoles[user]

    async def ask(self, user: str, line: str, *, admin: bool = False) -> Seen:
        console, out, err = self._console(user)
        return await self._seen(console, out, err, lambda: console.send(line))

    async def choose(self, user: str, seen: Seen, label: str) -> Seen:
        """Type the choice's number; a console has one learner, so another learner "sees" the owner's list."""
        console, out, err = self._console(user)
        owner = self._console(self.shown_to[seen.actions[label]])[0]
        console.choices = list(owner.choices)
        number = next(n for n, c in enumerate(console.choices, start=1) if _id(c) == seen.actions[label])
        return await self._seen(console, out, err, lambda: console.choose(number))

    async def fill(self, user: str, seen: Seen, label: str, text: str) -> Seen:
        """The console prompts for the text once the number is typed: the learner types it next."""
        self.typed.append(text)
        return await self.choose(user, seen, label)

    async def after(self, user: str, seconds: float) -> Seen:
        """A console runs nothing by itself (no timers: its rounds are the learner's own, revealed at once)."""
        console, out, err = self._console(user)
        return await self._seen(console, out, err, lambda: asyncio.sleep(0))

    async def restart(self, policy: Policy) -> None:
        """A new console process for each learner: what they were offered before is gone."""
        self.policy, self.consoles, self.shown_to = policy, {}, {}

    async def _seen(self, console: Console, out: io.StringIO, err: io.StringIO, act) -> Seen:
        start_out, start_err = out.tell(), err.tell()
        await act()
        printed, errors = out.getvalue()[start_out:], err.getvalue()[start_err:]
        paths = re.findall(r"^(/\S+\.png)$", printed, flags=re.M)
        alts = re.findall(r"^  Shows: (.*)$", printed, flags=re.M)
        actions = {c.label: _id(c) for c in console.choices}
        self.shown_to.update(dict.fromkeys(actions.values(), console.user))
        images = [Path(p).read_bytes() for p in paths]  # noqa: ASYNC240 - a test reading a few small files
        return Seen(texts=[t for t in (printed, errors) if t], images=images,
                    alts=alts, actions=actions, private=bool(errors) and not printed, pings=False)


def _id(choice: Action | Ask) -> str:
    return choice.action.id if isinstance(choice, Ask) else choice.id


@asynccontextmanager
async def console_driver(policy: Policy, tmp_path: Path) -> AsyncIterator[Driver]:
    yield ConsoleDriver(policy, tmp_path / "out")
