"""The whole benchmark suite (`tutor bench` or `python -m bench.suite`).

Every figure is a ratio against a baseline measured in the same run, printed as a table and
written to bench/results/suite.json. `--quick` uses fewer repeats (a smoke run, not a claim).
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from bench import engine_bench, heatmaps
from bench.common import environment, format_table, write_results


def run(quick: bool = False) -> dict[str, Any]:
    engine = engine_bench.run(quick=quick)  # first: matplotlib's import and caches must not weigh on it
    maps = heatmaps.run(quick=quick)
    memory = maps["memory"]
    rows = engine["rows"] + maps["ratios"]
    return {
        "quick": quick,
        "environment": environment(),
        "rows": rows,
        "engine": engine["numbers"],
        "heatmap_memory": memory,
        "ok": all(r["ok"] for r in rows) and (memory["rss_growth_pct"] or 0.0) < memory["target_pct"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tutor bench",
                                     description="Benchmarks, as ratios against same-run baselines.")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    args = parser.parse_args(argv)
    results = run(quick=args.quick)
    print(format_table(results["rows"]))
    memory = results["heatmap_memory"]
    print(f"heatmap memory over {memory['renders']} renders: {memory['rss_growth_pct']:+.2f}% RSS "
          f"(target < {memory['target_pct']}%)")
    print(f"batch sizes under the crowd: {results['engine']['batch_sizes']}")
    print(f"wrote {write_results('suite', results)}")
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
