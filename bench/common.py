"""Small helpers shared by the benchmarks: timing, ratio tables, JSON results."""
from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def time_call(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> dict[str, Any]:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times; seconds per call."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return {
        "median_s": statistics.median(samples),
        "min_s": min(samples),
        "max_s": max(samples),
        "repeats": repeats,
        "samples_s": [round(s, 6) for s in samples],
    }


def speedup_row(name: str, baseline_s: float, measured_s: float, least: float, note: str = "") -> dict[str, Any]:
    """A row where ours should be faster: ratio = baseline / measured, met when it is at least `least`."""
    ratio = baseline_s / measured_s if measured_s > 0 else float("inf")
    return {"name": name, "baseline_s": baseline_s, "candidate_s": measured_s, "ratio": ratio, "target": least,
            "better": "higher", "ok": ratio >= least, "note": note}


def cost_row(name: str, baseline_s: float, measured_s: float, most: float, note: str = "",
             unit: str = "s") -> dict[str, Any]:
    """A row where ours may cost a bounded multiple of the baseline (or of a budget): ratio = measured /
    baseline, met when it is at most `most`. `unit`: "s" (seconds), "B" (bytes) or "" (a count)."""
    ratio = measured_s / baseline_s if baseline_s > 0 else float("inf")
    return {"name": name, "baseline_s": baseline_s, "candidate_s": measured_s, "ratio": ratio, "target": most,
            "better": "lower", "ok": ratio <= most, "note": note, "unit": unit}


def ratio_row(name: str, baseline_s: float, candidate_s: float, target: float) -> dict[str, Any]:
    """One comparison: how many times faster the candidate is, and whether it meets ``target``."""
    return speedup_row(name, baseline_s, candidate_s, target)


def _duration(seconds: float) -> str:
    if seconds >= 10:
        return f"{seconds:.2f}s"
    return f"{seconds * 1000:.1f}ms"


def _value(value: float, unit: str) -> str:
    if unit == "B":
        return f"{value / 1e6:.2f}MB" if value >= 1e6 else f"{value / 1e3:.1f}kB"
    if unit == "":
        return f"{value:g}"
    return _duration(value)


def format_table(rows: list[dict[str, Any]]) -> str:
    """Plain-text table of rows: the baseline, the measured value, the ratio in the direction the
    target is stated (`>=`: baseline / measured, higher is better; `<=`: measured / baseline, lower is
    better), the target, and whether it was met."""
    width = max([40, *(len(r["name"]) for r in rows)])
    head = f"{'case':<{width}} {'baseline':>10} {'measured':>10} {'ratio':>7} {'target':>8}  met"
    lines = [head, "-" * len(head)]
    for r in rows:
        sign, unit = "<=" if r.get("better") == "lower" else ">=", r.get("unit", "s")
        lines.append(
            f"{r['name']:<{width}} {_value(r['baseline_s'], unit):>10} {_value(r['candidate_s'], unit):>10} "
            f"{r['ratio']:>6.2f}x {sign}{r['target']:>5.2f}x  {'yes' if r['ok'] else 'NO'}"
        )
    return "\n".join(lines)


def interleaved(calls: dict[str, Callable[[], Any]], repeats: int, block: int = 1,
                keep: dict[str, list[float]] | None = None) -> dict[str, float]:
    """Median seconds of each call, timed in turns (A, B, C, A, B, C...) so that a noisy
    neighbour slows every contender alike instead of whichever ran during the noise.

    `block` > 1 times each contender several calls in a row per turn: torch's OpenMP threads
    spin for a while after a call, and a contender on another thread (the engine's worker vs
    the main thread) would otherwise pay for the previous contender's spinning threads.
    `keep`, when given, receives every sample by name (for percentiles)."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(max(1, repeats // block)):
        for name, call in calls.items():
            call()  # the first call of a turn absorbs the switch between threads; not timed
            for _ in range(block):
                start = time.perf_counter()
                call()
                samples[name].append(time.perf_counter() - start)
    if keep is not None:
        keep.update(samples)
    return {name: statistics.median(values) for name, values in samples.items()}


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank `q` quantile (0.95 for p95) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_cache() -> Path:
    """A model cache kept between benchmark runs (git-ignored): the offline pack's GGUF is de-quantised
    into it once, so warm benchmarks do not pay a first start each run. Cold start uses fresh folders."""
    path = Path(__file__).resolve().parent.parent / ".tutor-cache" / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def environment() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_results(name: str, data: dict[str, Any]) -> Path:
    """Write ``data`` to ``bench/results/<name>.json`` and return the path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class LoopLag:
    """How late the event loop wakes a 5 ms sleep while a block of work runs, appended to `into`:
    `async with LoopLag(lags): await work()`."""

    TICK_S = 0.005

    def __init__(self, into: list[float]) -> None:
        self.lags = into
        self._running = False
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LoopLag:
        self._running = True
        self._task = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._running = False
        if self._task is not None:
            await self._task

    async def _tick(self) -> None:
        while self._running:
            start = time.perf_counter()
            await asyncio.sleep(self.TICK_S)
            self.lags.append(time.perf_counter() - start - self.TICK_S)
