"""Attention heatmap benchmark: core.render (through core.render.heatmap) against naive pyplot + seaborn.

Run `python -m bench.heatmaps [--quick]`; prints a table and writes `bench/results/heatmaps.json`;
`run(quick=False)` returns the same dict.

Baselines, measured in the same process on the same data:

- head: `plt.subplots(figsize=(8, 6))` + `seaborn.heatmap(annot=True, fmt=".2f")` of one 13x13 head
  + title + `tight_layout` + `savefig(png, dpi=100)` + `plt.close`.
- grid: `plt.subplots(3, 4, figsize=(16, 12))` with one `seaborn.heatmap` (token tick labels, no cell
  values, like `render_grid`) per head of a 12-head layer + `tight_layout` + `savefig(png, dpi=100)`.

Both of ours draw `[CLS]` and `[SEP]` as no-op tokens (grey labels), as /attention does.

Memory: RSS growth over 500 `render_head` calls (after a warm-up; sampled every 50 renders into
`rss_trace_mib`), then tracemalloc growth over 100 more (with `gc.collect()` at both ends; tracemalloc
counts Python allocations only, e.g. matplotlib's bounded text-metrics cache filling up).
"""
from __future__ import annotations

import argparse
import gc
import io
import sys
import tracemalloc
from typing import Any

import numpy as np

from bench.common import environment, format_table, ratio_row, rss_bytes, time_call, write_results
from core.render.cache import FIGURES_PER_THREAD, PerThreadCache
from core.render.heatmap import render_grid, render_head

TOKENS = ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "because", "it", "was", "very", "tired", "[SEP]"]  # 13
NOOP = [t in ("[CLS]", "[SEP]") for t in TOKENS]
HEADS = 12
SEED = 1234
FIGURES = PerThreadCache(FIGURES_PER_THREAD)
"""The benchmark's own figure cache, as the engine keeps one (a cache, so no module state elsewhere)."""
HEAD_TARGET = 4.0
GRID_TARGET = 10.0
MEMORY_TARGET_PCT = 5.0


def attention(shape: tuple[int, ...], seed: int = SEED) -> np.ndarray:
    """Seeded random attention: logits ~ N(0, 2^2), softmaxed over the last axis."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=shape)
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import seaborn as sns

    return plt, sns


def baseline_head(tokens: list[str], w: np.ndarray) -> bytes:
    plt, sns = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 6))
    sns.heatmap(w, annot=True, fmt=".2f", xticklabels=tokens, yticklabels=tokens, cmap="rocket", ax=ax)
    ax.set_title("layer 0, head 0")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def baseline_grid(tokens: list[str], w: np.ndarray) -> bytes:
    plt, sns = _pyplot()
    fig, axes = plt.subplots(3, 4, figsize=(16, 12))
    for i, ax in enumerate(axes.flat):
        sns.heatmap(w[i], xticklabels=tokens, yticklabels=tokens, cmap="rocket", ax=ax)
        ax.set_title(f"head {i}")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def memory_growth(renders: int, traced: int) -> dict[str, Any]:
    """RSS growth over `renders` render_head calls; tracemalloc growth over `traced` more."""
    w = attention((len(TOKENS), len(TOKENS)), SEED + 1)
    warm = 50  # fills matplotlib's text-metrics and glyph caches first
    for _ in range(warm):
        render_head(TOKENS, w, noop=NOOP, title="memory warm-up", figures=FIGURES)
    # Collect earlier benchmarks' garbage, then re-grow the allocator's working
    # set with a few renders: measuring right after gc.collect() would start
    # from a trough and count the one-off refill (~10 MiB) as growth.
    gc.collect()
    for _ in range(20):
        render_head(TOKENS, w, noop=NOOP, title="memory warm-up", figures=FIGURES)
    rss0 = rss_bytes()
    trace = []
    every = max(1, renders // 10)
    for i in range(renders):
        render_head(TOKENS, w, noop=NOOP, title=f"memory {i}", figures=FIGURES)
        if (i + 1) % every == 0:
            trace.append(round((rss_bytes() - rss0) / 2**20, 3))  # MiB since start
    rss1 = rss_bytes()

    tracemalloc.start()
    for _ in range(10):
        render_head(TOKENS, w, noop=NOOP, title="traced warm-up", figures=FIGURES)
    gc.collect()
    tm0, _ = tracemalloc.get_traced_memory()
    for i in range(traced):
        render_head(TOKENS, w, noop=NOOP, title=f"traced {i}", figures=FIGURES)
    gc.collect()
    tm1, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "renders": renders,
        "rss_start_bytes": rss0,
        "rss_end_bytes": rss1,
        "rss_growth_pct": 100.0 * (rss1 - rss0) / rss0 if rss0 else None,
        "rss_trace_mib": trace,
        "traced_renders": traced,
        "traced_start_bytes": tm0,
        "traced_end_bytes": tm1,
        "traced_peak_bytes": peak,
        "traced_growth_pct": 100.0 * (tm1 - tm0) / tm0 if tm0 else None,
        "traced_growth_bytes_per_render": (tm1 - tm0) / traced if traced else None,
        "target_pct": MEMORY_TARGET_PCT,
    }


def run(quick: bool = False) -> dict[str, Any]:
    n = len(TOKENS)
    head_w = attention((n, n))
    grid_w = attention((HEADS, n, n))
    reps = {"base_head": 3 if quick else 7, "head": 5 if quick else 15,
            "base_grid": 1 if quick else 3, "grid": 3 if quick else 9}

    results: dict[str, Any] = {"quick": quick, "environment": environment(), "tokens": n, "heads": HEADS}
    timings = {
        "baseline_head": time_call(lambda: baseline_head(TOKENS, head_w), reps["base_head"]),
        "render_head": time_call(lambda: render_head(TOKENS, head_w, title="layer 0, head 0", figures=FIGURES,
                                                     noop=NOOP), reps["head"]),
        "baseline_grid": time_call(lambda: baseline_grid(TOKENS, grid_w), reps["base_grid"],
                                   warmup=0 if quick else 1),
        "render_grid": time_call(lambda: render_grid(TOKENS, grid_w, title="layer 0", noop=NOOP), reps["grid"]),
    }
    results["timings"] = timings
    rows = [
        ratio_row(f"head {n}x{n} annotated", timings["baseline_head"]["median_s"],
                  timings["render_head"]["median_s"], HEAD_TARGET),
        ratio_row(f"grid {HEADS} heads x {n} tokens", timings["baseline_grid"]["median_s"],
                  timings["render_grid"]["median_s"], GRID_TARGET),
    ]
    results["ratios"] = rows
    results["memory"] = memory_growth(100 if quick else 500, 30 if quick else 100)
    results["sizes_bytes"] = {
        "render_head": len(render_head(TOKENS, head_w, title="layer 0, head 0", figures=FIGURES, noop=NOOP)),
        "render_grid": len(render_grid(TOKENS, grid_w, title="layer 0", noop=NOOP)),
    }
    mem = results["memory"]
    results["ok"] = all(r["ok"] for r in rows) and (mem["rss_growth_pct"] or 0.0) < MEMORY_TARGET_PCT
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and renders")
    args = parser.parse_args(argv)
    results = run(quick=args.quick)
    print(format_table(results["ratios"]))
    mem = results["memory"]
    print(
        f"memory: RSS {mem['rss_start_bytes'] / 2**20:.1f} -> {mem['rss_end_bytes'] / 2**20:.1f} MiB "
        f"over {mem['renders']} render_head ({mem['rss_growth_pct']:+.2f}%, target < {MEMORY_TARGET_PCT}%); "
        f"tracemalloc {mem['traced_start_bytes'] / 1024:.0f} -> {mem['traced_end_bytes'] / 1024:.0f} KiB "
        f"over {mem['traced_renders']} more ({mem['traced_growth_bytes_per_render']:+.0f} B/render)"
    )
    path = write_results("heatmaps", results)
    print(f"wrote {path}")
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
