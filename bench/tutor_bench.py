"""Tutor benchmarks: a quiz served from the pool, the event loop while 30 learners answer, and where the
store runs. Each figure is a budget row (measured / budget: at most 1.0x meets it), on the offline pack.

- **quiz served**: `/quiz` through the policy, its question from the pool: no model on the path (the
  pool's `compute` is counted and must stay at zero). p95 over the requests, 50 ms budget.
- **loop lag**: a 5 ms ticker on the event loop while 30 learners answer one channel round at once
  (each round then revealed); p99 of how late the ticks come, 20 ms budget.
- **store on the loop**: every `Database.begin` is recorded with its thread; none may run on the loop.
"""
from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import LoopLag, cost_row, environment, format_table, percentile, write_results
from core.engine import Engine
from core.policy import Policy, Request
from core.settings import Settings
from core.store import Database, RunStore
from core.tutor.service import context_of, find

KINDS = ("token-count", "token-split", "special-token", "cls-id", "pad-count", "zeroshot-label", "attention-top")
CROWD = 30


class StoreWatch:
    """Counts store transactions, and those begun on the event loop's thread."""

    def __init__(self) -> None:
        self.calls = 0
        self.on_loop = 0
        self.loop_thread: int | None = None
        self._original = Database.begin

    def __enter__(self) -> StoreWatch:
        watch, original = self, self._original

        def begin(db: Database) -> Any:
            watch.calls += 1
            watch.on_loop += threading.get_ident() == watch.loop_thread
            return original(db)

        Database.begin = begin  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        Database.begin = self._original  # type: ignore[method-assign]


async def _quiz_latency(engine: Engine, policy: Policy, requests: int) -> tuple[list[float], int]:
    tutor = find(engine.registry)
    ctx = context_of(engine)
    state = await asyncio.to_thread(tutor.state, ctx)
    made = [await asyncio.to_thread(state.pool.compute, ctx, kind) for kind in KINDS]  # untimed: the refill's work
    computed = 0
    original = state.pool.compute

    def counted(*args: Any, **kw: Any) -> Any:
        nonlocal computed
        computed += 1
        return original(*args, **kw)

    state.pool.compute = counted  # type: ignore[method-assign]
    times = []
    for n in range(requests):
        state.pool.put(made[n % len(made)])
        started = time.perf_counter()
        await policy.handle(Request("bench", f"learner-{n}", line="/quiz", request_id=f"q{n}",
                                    place=f"dm-{n}", direct=True))
        times.append(time.perf_counter() - started)
    state.pool.compute = original  # type: ignore[method-assign]
    return times, computed


async def _answer_lag(engine: Engine, policy: Policy, rounds: int) -> list[float]:
    lags: list[float] = []
    for r in range(rounds):
        asked = await policy.handle(Request("bench", "host", line="/quiz cls-id", request_id=f"a{r}",
                                            place=f"channel-{r}", group="server"))
        buttons = asked.result.actions  # type: ignore[union-attr]
        async with LoopLag(lags):
            await asyncio.gather(*(policy.handle(Request("bench", f"learner-{n}", action=buttons[n % 4].id,
                                                         request_id=f"a{r}-{n}", place=f"channel-{r}",
                                                         group="server"))
                                   for n in range(CROWD)))
        await policy.handle(Request("bench", "host", action=buttons[4].id, request_id=f"r{r}",
                                    place=f"channel-{r}", group="server"))
    return lags


async def _measure(work: Path, quick: bool) -> dict[str, Any]:
    url = f"sqlite:///{work / 'tutor.db'}"
    engine = Engine(Settings(pack="offline", cache_dir=work / "cache", database_url=url, cooldown_s=0.0,
                             secret="a benchmark secret, not a real one"))
    policy = Policy(engine, runs=RunStore(Database(url)))
    try:
        with StoreWatch() as watch:
            watch.loop_thread = threading.get_ident()
            times, computed = await _quiz_latency(engine, policy, 30 if quick else 200)
            lags = await _answer_lag(engine, policy, 2 if quick else 10)
    finally:
        engine.close()
    return {"quiz_p95_ms": percentile(times, 0.95) * 1000, "quiz_median_ms": statistics.median(times) * 1000,
            "quiz_requests": len(times), "models_on_quiz_path": computed,
            "answer_lag_p99_ms": percentile(lags, 0.99) * 1000, "answer_rounds_of": CROWD,
            "store_calls": watch.calls, "store_calls_on_loop": watch.on_loop}


def run(quick: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tutor-bench-") as tmp:
        numbers = asyncio.run(_measure(Path(tmp), quick))
    rows = [
        cost_row("quiz served p95, no model (50 ms budget)", 0.050, numbers["quiz_p95_ms"] / 1000, 1.0),
        cost_row("loop lag p99, 30 answering (20 ms budget)", 0.020, numbers["answer_lag_p99_ms"] / 1000, 1.0),
    ]
    rows[0]["ok"] = rows[0]["ok"] and numbers["models_on_quiz_path"] == 0
    numbers["ok"] = all(r["ok"] for r in rows) and numbers["store_calls_on_loop"] == 0
    return {"numbers": numbers, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    results = run(quick=quick)
    n = results["numbers"]
    print(format_table(results["rows"]))
    print(describe(n))
    print(f"wrote {write_results('tutor', {'quick': quick, 'environment': environment(), **results})}")
    return 0 if n["ok"] else 1


def describe(n: dict[str, Any]) -> str:
    return (f"models run on the quiz path: {n['models_on_quiz_path']}; store transactions on the event loop: "
            f"{n['store_calls_on_loop']} of {n['store_calls']}")


if __name__ == "__main__":
    sys.exit(main())
