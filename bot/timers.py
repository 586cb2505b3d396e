"""Timers and in-flight work: what every chat adapter must finish or cancel when it stops.

One module for every adapter (Discord keys a timer by its message's id, Slack by channel and ts), so a
quiz's reveal fires, is replaced and is cancelled the same way everywhere."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterator
from dataclasses import dataclass

log = logging.getLogger("tutor.timers")


@dataclass(frozen=True)
class _Pending:
    task: asyncio.Task[None]
    due: float
    """When it fires, on `Timers._now` (what `skip` compares)."""
    fire: Callable[[], Awaitable[None]]


class Timers:
    """A result's timer (a quiz's reveal after 20 s): its action runs later, as if the asker chose it.

    One per message: a message that is replaced (its asker clicked Reveal first) loses its pending
    timer, which belonged to the old content. `cancel_all` runs when the adapter stops."""

    def __init__(self) -> None:
        self._pending: dict[Hashable, _Pending] = {}
        self._skipped = 0.0
        """Seconds let pass at once by `skip`, on top of the event loop's clock."""

    def schedule(self, key: Hashable, seconds: float, fire: Callable[[], Awaitable[None]]) -> None:
        self.cancel(key)
        seconds = max(0.0, seconds)
        task = asyncio.create_task(self._run(key, seconds, fire))
        self._pending[key] = _Pending(task, self._now() + seconds, fire)

    async def _run(self, key: Hashable, seconds: float, fire: Callable[[], Awaitable[None]]) -> None:
        await asyncio.sleep(seconds)
        if self.task(key) is asyncio.current_task():
            del self._pending[key]  # firing: replacing its own message must not cancel it
        try:
            await fire()
        except Exception:
            log.exception("a timer's action failed")

    def cancel(self, key: Hashable) -> None:
        found = self._pending.pop(key, None)
        if found is not None and found.task is not asyncio.current_task():
            found.task.cancel()

    def skip(self, seconds: float) -> list[asyncio.Task[None]]:
        """Let `seconds` pass at once for these timers: each one due by then fires now; the firing tasks.

        For the tests' scenarios (a quiz revealed by its timer without waiting its 20 s of real time): the
        timers run exactly as they would, only sooner, and one not yet due stays pending."""
        self._skipped += seconds
        now = self._now()
        due = [(key, found.fire) for key, found in self._pending.items() if found.due <= now]
        for key, fire in due:
            self.schedule(key, 0.0, fire)
        return [self._pending[key].task for key, _ in due]

    def _now(self) -> float:
        return asyncio.get_running_loop().time() + self._skipped

    def pending(self) -> int:
        return len(self._pending)

    def task(self, key: Hashable) -> asyncio.Task[None] | None:
        """The pending timer of one message, if any (tests watch it being cancelled)."""
        found = self._pending.get(key)
        return found.task if found is not None else None

    async def cancel_all(self) -> None:
        tasks = [found.task for found in self._pending.values()]
        self._pending.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class InFlight:
    """How many events are being answered; `idle()` waits until none is (tests, and a clean stop)."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Around a listener's work; entered before its `ack()`, so an acknowledged event is counted."""
        self._count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._count -= 1
            if not self._count:
                self._idle.set()

    async def idle(self) -> None:
        await self._idle.wait()
