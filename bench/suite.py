"""The whole benchmark suite (`tutor bench` or `python -m bench.suite`).

Every figure is a ratio against a baseline measured in the same run (or a stated budget), printed as one
table and written to bench/results/suite.json. A row's ratio is given the way its target is stated:
`>=` rows are baseline / measured (a speed-up, higher is better), `<=` rows are measured / baseline (a
cost, lower is better). `--quick` uses fewer repeats (a smoke run, not a claim): about 5 minutes on 2
shared cores, the full run 20 or more. `--scale` adds the heavy rows (cold start against its floor, several
minutes; a real local Ray cluster, several more). `--only NAME,...` runs some parts.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from bench import coldstart, decoding, e2e_discord, engine_bench, explore, heatmaps, ray_bench, tutor_bench
from bench.common import environment, format_table, write_results
from bot.console.progress import install as install_progress
from core.progress import job

PARTS: dict[str, Callable[..., dict[str, Any]]] = {
    "engine": engine_bench.run,  # first: matplotlib's import and caches must not weigh on it
    "explore": explore.run,
    "tutor": tutor_bench.run,
    "decoding": decoding.run,
    "e2e": e2e_discord.run,
    "heatmaps": heatmaps.run,
    "coldstart": coldstart.run,
    "ray": ray_bench.run,
}
SCALE = ("coldstart", "ray")


def run(quick: bool = False, scale: bool = False, only: list[str] | None = None) -> dict[str, Any]:
    names = only or [n for n in PARTS if scale or n not in SCALE]
    parts: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for number, name in enumerate(names, start=1):
        started = time.perf_counter()
        with job(f"Benchmark part {number} of {len(names)}: {name}"):  # a line or a bar on stderr (core/progress.py)
            part = PARTS[name](quick=quick)
        part["seconds"] = round(time.perf_counter() - started, 1)
        parts[name] = part
        rows += part["ratios"] if name == "heatmaps" else part["rows"]
    memory = parts["heatmaps"]["memory"] if "heatmaps" in parts else None
    checks = [r["ok"] for r in rows]
    if memory is not None:
        checks.append((memory["rss_growth_pct"] or 0.0) < memory["target_pct"])
    if "tutor" in parts:
        checks.append(parts["tutor"]["numbers"]["store_calls_on_loop"] == 0)
    return {"quick": quick, "scale": scale, "environment": environment(), "rows": rows, "parts": parts,
            "ok": all(checks)}


def notes(results: dict[str, Any]) -> list[str]:
    """The lines printed under the table: what a ratio alone does not say."""
    parts = results["parts"]
    lines = []
    if "engine" in parts:
        lines.append(f"batch sizes under the crowd: {parts['engine']['numbers']['batch_sizes']}")
        lines.append(engine_bench.describe(parts["engine"]["numbers"]))
    if "explore" in parts:
        lines.append(f"the click drew the same picture as the typed command: "
                     f"{parts['explore']['numbers']['click_same_picture']}")
    if "tutor" in parts:
        lines.append(tutor_bench.describe(parts["tutor"]["numbers"]))
    if "decoding" in parts:
        lines += decoding.describe(parts["decoding"]["numbers"])
    if "e2e" in parts:
        lines.append(e2e_discord.describe(parts["e2e"]["numbers"]))
    if "heatmaps" in parts:
        memory = parts["heatmaps"]["memory"]
        lines.append(f"heatmap memory over {memory['renders']} renders: {memory['rss_growth_pct']:+.2f}% RSS "
                     f"(target < {memory['target_pct']}%)")
    if "coldstart" in parts:
        lines.append(coldstart.describe(parts["coldstart"]["numbers"]))
    if "ray" in parts:
        lines += ray_bench.describe(parts["ray"]["numbers"])
    lines.append("seconds per part: " + ", ".join(f"{n} {p['seconds']}" for n, p in parts.items()))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tutor bench",
                                     description="Benchmarks, as ratios against same-run baselines.")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument("--scale", action="store_true",
                        help="add the heavy rows: cold start vs its floor, and a local Ray cluster (minutes)")
    parser.add_argument("--only", type=lambda v: [p.strip() for p in v.split(",") if p.strip()],
                        help=f"comma-separated parts to run: {', '.join(PARTS)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.only or []) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    results = run(quick=args.quick, scale=args.scale, only=args.only)
    print(format_table(results["rows"]))
    print("\n".join(notes(results)))
    print(f"wrote {write_results('suite', results)}")
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    install_progress()  # each part's start and end on stderr, as `tutor bench` shows them (bot/ops/cli.py)
    sys.exit(main())
