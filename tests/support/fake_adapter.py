"""A fake chat platform, as an adapter: errbot's `backends/test.py` for the tutor.

`push(user, line)` stands for a learner typing, `choose(user, action_id)` for a click; what the
bot sends lands in `sent`. Its dialect is plain text in messages of at most `LIMIT` characters, so
the conformance suite sees splitting at a limit too. It implements the same `Adapter` protocol as
Discord and Slack, so the conformance suite holds it to the same policy.
"""
from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.adapter import Adapter, Variable
from bot.timers import Timers
from core.actions import Action, Ask, Menu
from core.markup import sections, split_text, to_plain
from core.policy import Outcome, Policy, Request
from core.results import Image, Timer

LIMIT = 500
PLACE, GROUP = "fake-channel", "fake-group"
"""Everyone types in one channel of one study group."""


@dataclass
class Message:
    user: str
    text: str
    private: bool
    images: tuple[Image, ...] = ()
    actions: tuple[Action, ...] = ()


@dataclass
class FakeAdapter(Adapter):
    name = "fake"
    variables = (Variable("FAKE_TOKEN", "A token for the fake platform", secret=True),)

    policy: Policy
    env: Mapping[str, str] = field(default_factory=dict)
    sent: list[Message] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._inbox: asyncio.Queue[Request | None] = asyncio.Queue()
        self._count = 0
        self._ids = secrets.token_hex(4)  # a platform's ids are unique across restarts; so are these
        self._private_ids: set[str] = set()
        """Ids of the actions on private messages: a choice on such a message is answered privately too."""
        self._askers: dict[str, str] = {}
        """Action id -> who asked the answer that carries it: anyone else's `reply` is a private copy."""
        self.timers = Timers()
        """A result's timer by its action id (bot/timers.py, as every adapter's): it runs as if the asker chose
        it, unless a choice of that action replaced the message first."""

    async def serve(self) -> None:
        while (request := await self._inbox.get()) is not None:
            outcome = await self.policy.handle(request)
            await self.deliver(outcome, request.user, request.action)
            result = outcome.result
            if result is not None and result.show == "update" and request.action:
                self.timers.cancel(request.action)  # the message it would have changed is replaced
            if result is not None and result.timer is not None:
                self._time(request.user, result.timer)
            self._inbox.task_done()

    async def stop(self) -> None:
        await self.timers.cancel_all()
        await self._inbox.put(None)

    def push(self, user: str, line: str, *, admin: bool = False) -> None:
        self._count += 1
        self._inbox.put_nowait(Request("fake", user, line=line, request_id=f"m{self._ids}-{self._count}", place=PLACE,
                                       group=GROUP, admin=admin))

    def choose(self, user: str, action_id: str, args: Mapping[str, str] | None = None) -> None:
        """A click; `args` carries the text an `Ask` asked for."""
        self._count += 1
        self._inbox.put_nowait(Request("fake", user, action=action_id, args=dict(args or {}),
                                       request_id=f"c{self._ids}-{self._count}", place=PLACE, group=GROUP))

    def _time(self, user: str, timer: Timer) -> None:
        async def fire() -> None:
            self.choose(user, timer.action_id)

        self.timers.schedule(timer.action_id, timer.seconds, fire)

    async def settle(self) -> None:
        await self._inbox.join()

    async def deliver(self, outcome: Outcome, user: str, clicked: str | None = None) -> None:
        if outcome.silent:
            return
        if outcome.result is None:
            self.sent.append(Message(user, outcome.message, private=True))
            return
        text = "\n\n".join(f"{label}: {to_plain(body)}" if label else to_plain(body)
                           for label, body in sections(outcome.result))
        show = outcome.result.show
        copy = show == "reply" and clicked is not None and self._askers.get(clicked, user) != user
        # a choice on a private message replaces it for its one reader (`update`, or `reply` by its asker)
        private = show == "private" or copy or clicked in self._private_ids
        chunks = split_text(text, LIMIT)
        actions = tuple(a for c in outcome.result.actions for a in (c.options if isinstance(c, Menu) else (c,)))
        ids = [a.action.id if isinstance(a, Ask) else a.id for a in actions]
        if private:
            self._private_ids.update(ids)
        asker = self._askers.get(clicked or "", user) if show == "update" else user
        self._askers.update(dict.fromkeys(ids, asker))
        for n, chunk in enumerate(chunks):
            last = n == len(chunks) - 1
            self.sent.append(Message(user, chunk, private=private, images=outcome.result.images if last else (),
                                     actions=actions if last else ()))
