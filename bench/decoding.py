"""Decoding benchmark (issue 14): /generate milliseconds per token against the memory-read floor.

- **ms per token**: the engine's /generate (SmolLM2-135M, offline pack, one learner, greedy) timed with
  33 and with 1 new tokens, interleaved; per token = (t33 - t1) / 32, so the prompt's prefill and the
  request's fixed costs cancel out. The prompt is checked to run the full 33 tokens (no early end).
- **floor**: the time to stream every weight tensor of the loaded model once (each distinct storage,
  SmolLM2's tied embedding counted once), timed in turns with the decoding. Two ways of reading are
  timed each turn, `tensor.sum()` and a max over the same bytes seen as int16 (bfloat16's `sum` is
  compute-bound on some CPUs, not memory-bound); a turn's floor is the faster, the figure the median
  over turns. A token cannot be decoded faster than its weights can be read, so ms/token / floor is
  the overhead factor.
- **bf16**: the same with `Settings(dtype="bfloat16")` where core has that setting, and whether the
  greedy text is identical to float32's for a few prompts. Where core has no `TUTOR_DTYPE`, or does not
  apply it (the loaded weights are still float32), the bench says so and casts the engine's loaded
  model itself, so the figure shows what bfloat16 would give.
- For the profile: bare `model.generate` on the same prompt, per token the same way, shows how much of
  the time is the engine's and how much transformers' own decoding loop.
- **matrix-vector floor**: one token's matrix products alone, `F.linear` of a one-row input through every
  `nn.Linear` of the model (the LM head included), timed in the same turns. A profile of a decoding step
  puts about 80% of it in `aten::mm`; where this floor is well above the read floor, the BLAS kernel
  (MKL's fp32 GEMV here), not Python or transformers, is what keeps decoding from the read floor.
"""
from __future__ import annotations

import asyncio
import statistics
import sys
import time
from dataclasses import fields
from typing import Any

import torch

from bench.common import bench_cache, cost_row, environment, format_table, interleaved, write_results
from core.engine import Engine
from core.settings import Settings

PROMPT = "The attention layer of a transformer lets every token"
LONG, SHORT = 33, 1
SAME_TEXT_PROMPTS = ["Once upon a time", "A tokenizer splits text into", "Attention weights show",
                     "The capital of France is"]


def distinct_tensors(model: torch.nn.Module) -> list[torch.Tensor]:
    seen: set[int] = set()
    out = []
    for t in [*model.parameters(), *model.buffers()]:
        ptr = t.untyped_storage().data_ptr()
        if ptr not in seen:
            seen.add(ptr)
            out.append(t.detach())
    return out


def products(model: torch.nn.Module) -> float:
    """Seconds of one batch-1 step's matrix products: every Linear of `model` applied to one row."""
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    rows = {m.in_features: torch.zeros(1, m.in_features, dtype=m.weight.dtype) for m in linears}
    with torch.no_grad():
        start = time.perf_counter()
        for m in linears:
            torch.nn.functional.linear(rows[m.in_features], m.weight)
        return time.perf_counter() - start


def read_all(tensors: list[torch.Tensor]) -> float:
    """Seconds of the faster of two full reads of `tensors`."""
    times = []
    with torch.no_grad():
        for read in (lambda t: t.sum(), lambda t: t.view(torch.int16).max()):
            start = time.perf_counter()
            for t in tensors:
                read(t)
            times.append(time.perf_counter() - start)
    return min(times)


HAS_DTYPE = "dtype" in {f.name for f in fields(Settings)}


def _engine(dtype: str) -> tuple[Engine, Any]:
    extra = {"dtype": dtype} if HAS_DTYPE else {}
    engine = Engine(Settings(pack="offline", cache_dir=bench_cache(), cooldown_s=0.0, **extra))
    loaded = engine.models.get("generate", engine.pack.models["generate"])
    return engine, loaded


def measure(engine: Engine, loaded: Any, loop: asyncio.AbstractEventLoop, repeats: int) -> dict[str, float]:
    tok, model = loaded.tokenizer, loaded.model
    inputs = tok(PROMPT, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=LONG, do_sample=False)
    assert out.shape[-1] - inputs["input_ids"].shape[-1] == LONG, "the prompt ends early: pick another one"
    tensors = distinct_tensors(model)

    def gen(n: int) -> None:
        loop.run_until_complete(engine.run("generate", {"prompt": PROMPT, "max_new_tokens": n}))

    def bare(n: int) -> None:
        with torch.no_grad():
            model.generate(**inputs, max_new_tokens=n, do_sample=False)

    floors: list[float] = []
    gemv: list[float] = []
    t = interleaved({"floor": lambda: floors.append(read_all(tensors)),
                     "gemv": lambda: gemv.append(products(model)),
                     "long": lambda: gen(LONG), "short": lambda: gen(SHORT),
                     "bare_long": lambda: bare(LONG), "bare_short": lambda: bare(SHORT)}, repeats)
    return {"floor_s": statistics.median(floors), "per_token_s": (t["long"] - t["short"]) / (LONG - SHORT),
            "products_s": statistics.median(gemv),
            "bare_per_token_s": (t["bare_long"] - t["bare_short"]) / (LONG - SHORT),
            "weights_mb": sum(x.numel() * x.element_size() for x in tensors) / 1e6,
            "dtype": str(model.dtype).removeprefix("torch.")}


def texts(engine: Engine, loop: asyncio.AbstractEventLoop) -> list[str]:
    """The greedy answers (20 new tokens) to `SAME_TEXT_PROMPTS`."""
    return [loop.run_until_complete(engine.run("generate", {"prompt": p, "max_new_tokens": 20})).answer
            for p in SAME_TEXT_PROMPTS]


def run(quick: bool = False) -> dict[str, Any]:
    repeats = 3 if quick else 9
    loop = asyncio.new_event_loop()
    numbers: dict[str, Any] = {}
    try:
        engine, loaded = _engine("float32")
        try:
            numbers["fp32"] = measure(engine, loaded, loop, repeats)
            fp32_texts = texts(engine, loop)
        finally:
            engine.close()
        engine, loaded = _engine("bfloat16")
        try:
            numbers["core_has_dtype"] = HAS_DTYPE
            numbers["bf16_applied_by_core"] = loaded.model.dtype == torch.bfloat16
            if not numbers["bf16_applied_by_core"]:
                loaded.model.to(torch.bfloat16)
            numbers["bf16"] = measure(engine, loaded, loop, repeats)
            bf16_texts = texts(engine, loop)
            numbers["texts"] = {"fp32": fp32_texts, "bf16": bf16_texts}
            numbers["bf16_same_text"] = sum(a == b for a, b in zip(fp32_texts, bf16_texts, strict=True))
        finally:
            engine.close()
    finally:
        loop.close()
    return {"numbers": numbers, "rows": rows(numbers)}


def rows(n: dict[str, Any]) -> list[dict[str, Any]]:
    fp32, bf16 = n["fp32"], n["bf16"]
    return [
        cost_row("generate ms/token fp32 vs weight-read floor", fp32["floor_s"], fp32["per_token_s"], 1.5),
        cost_row("generate ms/token bf16 vs its floor", bf16["floor_s"], bf16["per_token_s"], 1.5),
        cost_row("generate ms/token bf16 vs fp32 floor", fp32["floor_s"], bf16["per_token_s"], 1.5),
    ]


def describe(n: dict[str, Any]) -> list[str]:
    lines = []
    for key in ("fp32", "bf16"):
        m = n[key]
        lines.append(f"decoding {key}: {m['weights_mb']:.0f} MB of weights read in {m['floor_s'] * 1000:.1f} ms "
                     f"({m['weights_mb'] / 1000 / m['floor_s']:.1f} GB/s); engine {m['per_token_s'] * 1000:.1f} "
                     f"ms/token, bare model.generate {m['bare_per_token_s'] * 1000:.1f} ms/token; the matrix "
                     f"products alone {m['products_s'] * 1000:.1f} ms ({m['products_s'] / m['floor_s']:.2f}x the read "
                     f"floor, {m['weights_mb'] / 1000 / m['products_s']:.1f} GB/s)")
    if n["bf16_applied_by_core"]:
        how = "TUTOR_DTYPE=bfloat16 applied by core"
    elif n.get("core_has_dtype", True):
        how = "TUTOR_DTYPE=bfloat16 NOT applied by core (weights loaded as float32; the bench cast them)"
    else:
        how = "core has no TUTOR_DTYPE (the bench cast the loaded weights to bfloat16)"
    lines.append(f"{how}; greedy text (20 tokens) identical to float32 for "
                 f"{n['bf16_same_text']} of {len(SAME_TEXT_PROMPTS)} prompts")
    return lines


def main(argv: list[str] | None = None) -> int:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    results = run(quick=quick)
    print(format_table(results["rows"]))
    print("\n".join(describe(results["numbers"])))
    print(f"wrote {write_results('decoding', {'quick': quick, 'environment': environment(), **results})}")
    return 0 if all(r["ok"] for r in results["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
