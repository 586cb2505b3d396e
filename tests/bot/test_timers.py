"""bot/timers.py: every adapter's timers (a quiz's reveal). Real time for one short timer; the rest let time
pass with `Timers.skip`, as the conformance scenarios do."""
from __future__ import annotations

import asyncio

from bot.timers import Timers


def recorder(fired: list[str], name: str):
    async def fire() -> None:
        fired.append(name)

    return fire


async def test_a_timer_fires_after_its_seconds_of_real_time_and_not_before() -> None:
    timers, fired = Timers(), []
    loop = asyncio.get_running_loop()
    started = loop.time()
    timers.schedule("quiz", 0.2, recorder(fired, "quiz"))
    await asyncio.sleep(0)
    assert fired == [] and timers.pending() == 1
    task = timers.task("quiz")
    assert task is not None
    await asyncio.wait_for(task, timeout=30)
    assert fired == ["quiz"] and loop.time() - started >= 0.2 and timers.pending() == 0


async def test_skip_fires_only_the_timers_due_by_then_and_adds_up() -> None:
    timers, fired = Timers(), []
    timers.schedule("soon", 10.0, recorder(fired, "soon"))
    timers.schedule("later", 30.0, recorder(fired, "later"))
    assert timers.skip(5.0) == [] and timers.pending() == 2
    await asyncio.gather(*timers.skip(6.0))  # 11 s have passed: "soon" is due, "later" not
    assert fired == ["soon"] and timers.pending() == 1 and timers.task("later") is not None
    timers.schedule("next", 5.0, recorder(fired, "next"))  # counted from the skipped-to time
    await asyncio.gather(*timers.skip(4.0))
    assert fired == ["soon"]
    await asyncio.gather(*timers.skip(16.0))
    assert sorted(fired) == ["later", "next", "soon"] and timers.pending() == 0


async def test_a_timer_scheduled_again_or_cancelled_never_fires_its_old_action() -> None:
    timers, fired = Timers(), []
    timers.schedule("message", 10.0, recorder(fired, "old content"))
    timers.schedule("message", 10.0, recorder(fired, "new content"))  # the message was replaced
    timers.schedule("gone", 10.0, recorder(fired, "gone"))
    timers.cancel("gone")
    await asyncio.gather(*timers.skip(11.0))
    assert fired == ["new content"]
    timers.schedule("stopping", 10.0, recorder(fired, "stopping"))
    await timers.cancel_all()
    assert timers.skip(60.0) == [] and fired == ["new content"]
