"""Cold start (issue 14): process start to the first /generate answer, against a floor from the same run.

Each round has its own empty cache. In a round, in this order: a **first start** (`tutor ask` on the
offline pack, `/generate Hello max_new_tokens=5`: it de-quantises SmolLM2's GGUF into the cache), then
the **second start** (the same command, cache filled) and the **floor** in turns, twice each, in
alternating order, after `os.sync()` (the first start writes about 540 MB of weights; their write-back
used to land on the second start that followed at once: 1.25-1.32x the floor in quick runs, 1.02x with
the same cache an hour old). The floor
is a bare Python process that imports torch and transformers, loads the same de-quantised weights from
that round's cache (`AutoTokenizer` / `AutoModelForCausalLM.from_pretrained`), greedily generates the
same 5 tokens and prints them: the least any start to that answer could cost on this machine. It runs
twice per turn, with Python's defaults and with the cyclic collector paused (as `tutor` starts); the
row is against the faster of the two medians, the stricter floor.

Both are timed from spawn to exit, and both skip the interpreter's teardown after the answer (`tutor`
exits with `os._exit` once the answer is printed; the floor does the same), so "to exit" is "to the
answer". Each figure is the median over its runs. This takes about 30 s a round (`--scale` only).
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import cost_row, environment, format_table, speedup_row, write_results

ROOT = Path(__file__).resolve().parent.parent
COMMAND = [sys.executable, "-m", "bot", "--pack", "offline", "ask", "/generate Hello max_new_tokens=5"]
FLOOR = """
import gc, os, sys, time
if sys.argv[2:] == ["paused"]:
    gc.disable()  # as `tutor` starts: the cyclic collector paused
t0 = time.perf_counter()
import torch, transformers
t1 = time.perf_counter()
folder = sys.argv[1]
tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
model = transformers.AutoModelForCausalLM.from_pretrained(folder).eval()
t2 = time.perf_counter()
inputs = tokenizer("Hello", return_tensors="pt")
with torch.no_grad():
    out = model.generate(**inputs, max_new_tokens=5, do_sample=False)
print(tokenizer.decode(out[0, inputs["input_ids"].shape[-1]:], skip_special_tokens=True))
t3 = time.perf_counter()
print(f"import={t1 - t0:.3f} load={t2 - t1:.3f} generate={t3 - t2:.3f}", file=sys.stderr)
sys.stdout.flush(); sys.stderr.flush()
os._exit(0)
"""


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True, cwd=ROOT)
    return time.perf_counter() - start, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""


def weights_folder(cache: Path) -> Path:
    from core.commands import build_registry
    from core.models import dequantised_dir
    from core.packs import build_pack
    from core.settings import Settings

    settings = Settings(pack="offline", cache_dir=cache)
    return dequantised_dir(settings, build_pack(settings, build_registry()).models["generate"])


def cold_start(work: Path, rounds: int) -> dict[str, Any]:
    firsts, seconds, split = [], [], ""
    floors: dict[str, list[float]] = {"default": [], "paused": []}
    for round_ in range(rounds):
        cache = work / f"cold-cache-{round_}"
        env = {**os.environ, "TUTOR_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1"}
        firsts.append(_timed(COMMAND, env)[0])
        folder = weights_folder(cache)
        assert folder.is_dir(), f"the first start left no de-quantised weights in {folder}"
        os.sync()  # the first start's writes reach the disk now, not during whichever start runs next
        for turn in range(2):
            floor_first = turn % 2 == 1  # the order alternates, so neither side always runs right after the other
            if not floor_first:
                seconds.append(_timed(COMMAND, env)[0])
            for gc_mode, times in floors.items():
                took, split = _timed([sys.executable, "-c", FLOOR, str(folder), gc_mode], env)
                times.append(took)
            if floor_first:
                seconds.append(_timed(COMMAND, env)[0])
    medians = {mode: statistics.median(times) for mode, times in floors.items()}
    return {"first_start_s": statistics.median(firsts), "second_start_s": statistics.median(seconds),
            "floor_start_s": min(medians.values()), "floor_default_gc_s": medians["default"],
            "floor_paused_gc_s": medians["paused"], "first_starts_s": firsts, "second_starts_s": seconds,
            "floor_starts_s": floors, "floor_split": split}


def run(quick: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tutor-bench-") as tmp:
        numbers = cold_start(Path(tmp), rounds=1 if quick else 3)
    return {"numbers": numbers, "rows": rows(numbers)}


def rows(n: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        cost_row("cold start: second start vs bare floor", n["floor_start_s"], n["second_start_s"], 1.15),
        speedup_row("cold start: first vs second (old 5x target)", n["first_start_s"], n["second_start_s"], 5.0),
    ]


def describe(n: dict[str, Any]) -> str:
    return (f"cold start floor: {n['floor_default_gc_s']:.2f} s with Python's defaults, {n['floor_paused_gc_s']:.2f} s "
            f"with the collector paused (the row uses the faster); last floor run: {n['floor_split']} (seconds)")


def main(argv: list[str] | None = None) -> int:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    results = run(quick=quick)
    print(format_table(results["rows"]))
    print(describe(results["numbers"]))
    print(f"wrote {write_results('coldstart', {'quick': quick, 'environment': environment(), **results})}")
    return 0 if all(r["ok"] for r in results["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
