"""Tutor benchmarks: a quiz served from the pool, the event loop while 30 learners answer, and where the
store runs. Each figure is a budget row (measured / budget: at most 1.0x meets it), on the offline pack.

- **quiz served**: `/quiz` through the policy, its question from the pool: no model on the path (the
  pool's `compute` is counted and must stay at zero). p95 over the requests, 50 ms budget.
- **loop lag**: a 5 ms ticker on the event loop while 30 learners answer one channel round at once
  (each round then revealed); p99 of how late the ticks come, 20 ms budget.
- **store on the loop**: every `Database.begin` is recorded with its thread; none may run on the loop.
- **flood**: 50 learners each ask `/quiz` in their DM and answer it, as fast as the tutor lets them, for
  one minute (`--flood-seconds`; 10 s in quick mode), once with the tutor's flood limits
  (core/tutor/service.py `Limits`) and once with them lifted, in the same run, on fresh SQLite files.
  Questions come ready from the pool (a warm pool: the flood's cost is the store's, not a model's). Rows:
  the bytes of the tables that keep learners' records after the flood, limited / unlimited; and the most
  rounds one learner opened within any 60 s, against the per-minute limit. The notes add the whole
  file: it also holds `tutor_requests` (a row per request, refused ones too, kept an hour, where a
  database is shared by processes: `TUTOR_DATABASE_URL`, set here), which names no learner.
"""
from __future__ import annotations

import asyncio
import dataclasses
import itertools
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import LoopLag, cost_row, environment, format_table, percentile, write_results
from core.engine import Engine
from core.policy import Policy, Request
from core.settings import Settings
from core.store import Database, RunStore
from core.tutor.service import Limits, context_of, find

FLOOD_LEARNERS = 50
FLOOD_S, QUICK_FLOOD_S = 60.0, 10.0
UNLIMITED = Limits(open_rounds=10**9, per_minute=10**9, kept=10**9)

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
    find(engine.registry).limits = UNLIMITED  # one host asks every round here: a flood limit is not measured
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


async def _flooder(policy: Policy, n: int, deadline: float, counts: dict[str, int]) -> None:
    """One learner: /quiz in their DM, answer A, again, until the deadline."""
    for turn in itertools.count():
        if time.monotonic() >= deadline:
            return
        asked = await policy.handle(Request("bench", f"flooder-{n}", line="/quiz", request_id=f"f{n}-{turn}",
                                            place=f"dm-{n}", direct=True))
        if asked.result is None or not asked.result.actions:
            counts["refused"] += 1
            await asyncio.sleep(0)  # a refusal is quick: let the others in
            continue
        counts["served"] += 1
        await policy.handle(Request("bench", f"flooder-{n}", action=asked.result.actions[0].id,
                                    request_id=f"f{n}-{turn}-a", place=f"dm-{n}", direct=True))


async def _flood(work: Path, seconds: float, limits: Limits, ready: list[Any]) -> dict[str, Any]:
    """The store after `seconds` of 50 learners flooding /quiz, under `limits`."""
    url = f"sqlite:///{work / 'flood.db'}"
    engine = Engine(Settings(pack="offline", cache_dir=work / "cache", database_url=url,
                             secret="a benchmark secret, not a real one"))
    policy = Policy(engine, runs=RunStore(Database(url)))
    tutor = find(engine.registry)
    tutor.limits = limits
    state = await asyncio.to_thread(tutor.state, context_of(engine))
    cycle = itertools.cycle(ready)
    state.pool.take = lambda _names: dataclasses.replace(next(cycle))  # type: ignore[method-assign]
    counts = {"served": 0, "refused": 0}
    try:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(_flooder(policy, n, deadline, counts) for n in range(FLOOD_LEARNERS)))
    finally:
        engine.close()
    return {**counts, **_store_size(url)}


def _store_size(url: str) -> dict[str, Any]:
    """What the SQLite file holds in use once its WAL is checkpointed (all of it, and the pages of the
    tables that keep learners' records, indexes included), and the tutor's rows."""
    import sqlalchemy as sa

    from core.store.schema import LEARNING_TABLES

    db = sa.create_engine(url)
    try:
        with db.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            free = conn.exec_driver_sql("PRAGMA freelist_count").scalar_one()
            size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
            per_table = dict(conn.exec_driver_sql(
                "SELECT s.tbl_name, sum(d.pgsize) FROM dbstat d JOIN sqlite_schema s ON s.name = d.name "
                "GROUP BY s.tbl_name").all())
            opened = conn.exec_driver_sql("SELECT asker, created FROM tutor_rounds ORDER BY created").all()
            rounds = conn.exec_driver_sql("SELECT count(*) FROM tutor_rounds").scalar_one()
            answers = conn.exec_driver_sql("SELECT count(*) FROM tutor_answers").scalar_one()
    finally:
        db.dispose()
    learners = sum(per_table.get(t.name, 0) for t in LEARNING_TABLES)
    return {"bytes": (pages - free) * size, "learner_bytes": learners, "rounds": rounds, "answers": answers,
            "most_rounds_one_learner": max(Counter(asker for asker, _ in opened).values(), default=0),
            "most_in_a_minute": _most_in_a_minute(opened)}


def _most_in_a_minute(opened: list[Any]) -> int:
    """The most rounds one learner opened within any 60 seconds (what the per-minute limit promises)."""
    by_learner: dict[str, list[float]] = {}
    for asker, created in opened:
        by_learner.setdefault(asker, []).append(created)
    most = 0
    for times in by_learner.values():
        start = 0
        for end, at in enumerate(times):
            while at - times[start] >= 60.0:
                start += 1
            most = max(most, end - start + 1)
    return most


async def _floods(work: Path, seconds: float) -> dict[str, Any]:
    setup = Engine(Settings(pack="offline", cache_dir=work / "cache", database_url=f"sqlite:///{work / 'q.db'}",
                            secret="a benchmark secret, not a real one"))
    try:
        tutor, ctx = find(setup.registry), context_of(setup)
        state = await asyncio.to_thread(tutor.state, ctx)
        ready = [await asyncio.to_thread(state.pool.compute, ctx, kind) for kind in KINDS]  # the refill's work
    finally:
        setup.close()
    results = {}
    for name, limits in (("limited", Limits()), ("unlimited", UNLIMITED)):
        (work / name).mkdir()
        results[name] = await _flood(work / name, seconds, limits, ready)
    return {"seconds": seconds, "learners": FLOOD_LEARNERS, "per_minute": Limits().per_minute, **results}


def run(quick: bool = False, flood_s: float | None = None) -> dict[str, Any]:
    seconds = flood_s if flood_s is not None else QUICK_FLOOD_S if quick else FLOOD_S
    with tempfile.TemporaryDirectory(prefix="tutor-bench-") as tmp:
        numbers = asyncio.run(_measure(Path(tmp), quick))
        (Path(tmp) / "flood").mkdir()
        flood = asyncio.run(_floods(Path(tmp) / "flood", seconds))
    limited, unlimited = flood["limited"], flood["unlimited"]
    rows = [
        cost_row("quiz served p95, no model (50 ms budget)", 0.050, numbers["quiz_p95_ms"] / 1000, 1.0),
        cost_row("loop lag p99, 30 answering (20 ms budget)", 0.020, numbers["answer_lag_p99_ms"] / 1000, 1.0),
        cost_row(f"learners' store after {seconds:.0f} s flood x{FLOOD_LEARNERS}, limits / none",
                 unlimited["learner_bytes"], limited["learner_bytes"], 0.5, unit="B"),
        cost_row("most rounds one flooder opened in 60 s / the limit", flood["per_minute"],
                 limited["most_in_a_minute"], 1.0, unit=""),
    ]
    rows[0]["ok"] = rows[0]["ok"] and numbers["models_on_quiz_path"] == 0
    numbers["flood"] = flood
    numbers["ok"] = all(r["ok"] for r in rows) and numbers["store_calls_on_loop"] == 0
    return {"numbers": numbers, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    quick = "--quick" in args
    flood_s = float(args[args.index("--flood-seconds") + 1]) if "--flood-seconds" in args else None
    results = run(quick=quick, flood_s=flood_s)
    n = results["numbers"]
    print(format_table(results["rows"]))
    print(describe(n))
    print(f"wrote {write_results('tutor', {'quick': quick, 'environment': environment(), **results})}")
    return 0 if n["ok"] else 1


def describe(n: dict[str, Any]) -> str:
    line = (f"models run on the quiz path: {n['models_on_quiz_path']}; store transactions on the event loop: "
            f"{n['store_calls_on_loop']} of {n['store_calls']}")
    flood = n.get("flood")
    if flood is None:
        return line
    parts = [f"{name}: {f['served']} quizzes served, {f['refused']} refused, {f['rounds']} rounds and "
             f"{f['answers']} answers kept, learners' tables {f['learner_bytes'] / 1e3:.0f} kB "
             f"({f['learner_bytes'] / flood['learners'] / 1e3:.1f} kB a learner), "
             f"the whole file {f['bytes'] / 1e3:.0f} kB"
             for name, f in ((k, flood[k]) for k in ("limited", "unlimited"))]
    return f"{line}\nflood, {flood['learners']} learners for {flood['seconds']:.0f} s: " + "; ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
