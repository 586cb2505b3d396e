"""A crowd at one round through the policy, the store kept off the event loop, and the background pool."""
from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from core.registry import Command
from core.store.database import Database
from core.tutor.quiz import COLD
from core.tutor.service import start, wants_refill
from tests.support.tutor import answered, button, rows_of, sqlite_url, state_of, study_group

CROWD = 30


async def test_thirty_learners_answering_one_round_at_once_are_each_counted_once(tmp_path: Path):
    """Each of 30 learners clicks twice at the same moment (two deliveries, e.g. a double click), on an
    engine with four worker threads, so answers really run side by side."""
    with study_group(sqlite_url(tmp_path), workers=4) as cls:
        asked = await cls.say("host", "/quiz cls-id")
        clicks = [cls.click(f"learner-{n % CROWD}", button(asked, "ABCD"[n % 4])) for n in range(2 * CROWD)]
        outcomes = [answered(o).answer for o in await asyncio.gather(*clicks)]
        assert sum("You chose" in a for a in outcomes) == CROWD
        assert sum("already answered" in a for a in outcomes) == CROWD
        rows = rows_of(cls.engine.settings.database_url)["tutor_answers"]
        assert len(rows) == CROWD and len({r["learner"] for r in rows}) == CROWD
        revealed = answered(await cls.click("host", button(asked, "Reveal")))
        assert f"{CROWD} answers" in revealed.explanation


async def test_store_calls_never_run_on_the_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    loop_thread = threading.get_ident()
    on_loop: list[str] = []
    original = Database.begin

    def begin(self: Database):
        if threading.get_ident() == loop_thread:
            on_loop.append(self.url)
        return original(self)

    monkeypatch.setattr(Database, "begin", begin)
    with study_group(sqlite_url(tmp_path)) as cls:
        asked = await cls.say("ada", "/quiz tokenizers")
        await asyncio.gather(*(cls.click(u, button(asked, "B")) for u in ("ada", "bo", "cy")))
        await cls.click("ada", button(asked, "Reveal"))
        for line in ("/progress", "/learn", "/review", "/mydata", "/board"):
            await cls.say("ada", line)
        calls = rows_of(cls.engine.settings.database_url)["tutor_answers"]
    assert len(calls) == 3
    assert on_loop == [], "every store call ran on a worker thread"


async def test_the_pool_refills_in_the_background_and_a_quiz_then_runs_no_model(tmp_path: Path,
                                                                                 monkeypatch: pytest.MonkeyPatch):
    with study_group(sqlite_url(tmp_path)) as cls:
        state = state_of(cls)
        state.pool.per_kind = 1
        assert (await start(cls.engine)) is cls.tutor
        full = len(state.pool.kinds)
        for _ in range(600):
            if state.pool.needy() is None:
                break
            await asyncio.sleep(0.5)
        await cls.tutor.stop()
        assert state.pool.size() == full and all(state.pool.size(n) == 1 for n in state.pool.kinds)

        def no_model(*_args: object, **_kw: object) -> None:
            raise AssertionError("a model ran on the request path")

        monkeypatch.setattr(state.pool, "compute", no_model)
        served = answered(await cls.say("ada", "/quiz tokenizers", direct=True))
        assert COLD not in served.notices and state.pool.size() == full - 1


async def test_the_pool_refills_only_while_no_request_is_in_flight(tmp_path: Path):
    with study_group(sqlite_url(tmp_path)) as cls:
        state = state_of(cls)
        release = threading.Event()
        held = Command("hold", "Wait until released.", (), ("",), lambda ctx, args: release.wait(30), needs_model=False)
        request = asyncio.create_task(cls.engine.execute(held, {}))
        for _ in range(100):
            if cls.engine.queue_depth:
                break
            await asyncio.sleep(0.01)
        assert cls.engine.queue_depth == 1 and not wants_refill(state, cls.engine)
        release.set()
        await request
        assert wants_refill(state, cls.engine), "idle again, with an empty pool"
        state.pool.per_kind = 0
        assert not wants_refill(state, cls.engine), "idle, but nothing to fill"
