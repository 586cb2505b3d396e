"""Small helpers shared by the benchmarks: timing, ratio tables, JSON results."""
from __future__ import annotations

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


def ratio_row(name: str, baseline_s: float, candidate_s: float, target: float) -> dict[str, Any]:
    """One comparison: how many times faster the candidate is, and whether it meets ``target``."""
    ratio = baseline_s / candidate_s if candidate_s > 0 else float("inf")
    return {
        "name": name,
        "baseline_s": baseline_s,
        "candidate_s": candidate_s,
        "ratio": ratio,
        "target": target,
        "ok": ratio >= target,
    }


def format_table(rows: list[dict[str, Any]]) -> str:
    """Plain-text table of :func:`ratio_row` results."""
    head = f"{'case':<34} {'baseline':>10} {'ours':>10} {'ratio':>8} {'target':>8}  ok"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['name']:<34} {r['baseline_s'] * 1000:>8.1f}ms {r['candidate_s'] * 1000:>8.1f}ms "
            f"{r['ratio']:>7.1f}x {r['target']:>7.1f}x  {'yes' if r['ok'] else 'NO'}"
        )
    return "\n".join(lines)


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
