"""Explore benchmarks (issue 12): a click that redraws /attention, and occlusion's one batched pass.

- **click vs typed**: `/attention TEXT layer=1` typed, against the "Layer 1 ▶" button of the typed
  layer-0 answer clicked (its action from `Result.actions`), both through `core.policy.Policy` on the
  offline pack's all-MiniLM-L6-v2: the same picture, so the click's extra cost is its hop through the
  run store (the text read back under its run id). Interleaved, medians; target at most 1.1x.
- **occlusion batched**: "which words mattered" hides each of the text's tokens in turn. The model work
  of `core.tasks.shared.occlusion.sentiment`, every hidden copy and the text in ONE forward pass
  (`attribution.hidden_copies`), against one forward pass per copy. The model is the engine bench's
  "sentiment-style" classifier (the offline MiniLM encoder with a fresh 2-class head). Target at least 3x.
"""
from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from bench.common import bench_cache, cost_row, environment, format_table, interleaved, speedup_row, write_results
from bench.engine_bench import build_classifier, engine_for
from core.actions import flatten
from core.engine import Engine
from core.policy import Policy, Request
from core.settings import Settings
from core.store import Database, RunStore
from core.tasks.shared import attribution as at

TEXT = "The cat sat on the mat because it was very tired after the long day."
REVIEW = ("The lesson on attention was clear, the examples were well chosen, and the heatmaps finally made "
          "the idea of heads click for me.")


def click_vs_typed(work: Path, repeats: int) -> dict[str, Any]:
    engine = Engine(Settings(pack="offline", cache_dir=bench_cache(), cooldown_s=0.0))
    policy = Policy(engine, runs=RunStore(Database(f"sqlite:///{work / 'runs.db'}")))
    loop = asyncio.new_event_loop()
    counter = iter(range(10**9))

    def handle(**kw: Any) -> Any:
        outcome = loop.run_until_complete(policy.handle(Request("bench", "learner", request_id=f"r{next(counter)}",
                                                                **kw)))
        assert outcome.ok, outcome.message
        return outcome

    try:
        first = handle(line=f"/attention {TEXT}")
        button = next(a for a in flatten(first.result.actions) if a.label.startswith("Layer 1"))
        typed = handle(line=f"/attention {TEXT} layer=1")
        clicked = handle(action=button.id)
        same = typed.result.images[0].png == clicked.result.images[0].png
        out = interleaved({
            "typed_attention_s": lambda: handle(line=f"/attention {TEXT} layer=1"),
            "clicked_attention_s": lambda: handle(action=button.id),
        }, repeats, block=2)
    finally:
        loop.close()
        engine.close()
    return {**out, "click_same_picture": same}


def occlusion_batched(work: Path, repeats: int) -> dict[str, Any]:
    folder = build_classifier(work / "classifier")
    engine = engine_for(folder, work / "cache")
    try:
        loaded = engine.models.get("sentiment", engine.pack.models["sentiment"])
        tok, model = loaded.tokenizer, loaded.model
        enc = dict(tok(REVIEW, return_special_tokens_mask=True, return_tensors="pt"))
        special = enc.pop("special_tokens_mask")[0].bool()
        positions = [i for i in range(enc["input_ids"].shape[1]) if not bool(special[i])]
        hide, _ = at.replacement(tok)
        batch = at.hidden_copies(enc["input_ids"][0], positions, hide)
        mask = enc["attention_mask"]

        def one_pass() -> torch.Tensor:
            with torch.no_grad():
                return model(input_ids=batch, attention_mask=mask.repeat(len(batch), 1)).logits

        def per_token() -> torch.Tensor:
            with torch.no_grad():
                return torch.cat([model(input_ids=batch[k:k + 1], attention_mask=mask).logits
                                  for k in range(len(batch))])

        assert torch.allclose(one_pass(), per_token(), atol=1e-4), "the batched pass must give the same logits"
        out = interleaved({"occlusion_per_token_s": per_token, "occlusion_one_pass_s": one_pass}, repeats)
    finally:
        engine.close()
    return {**out, "occlusion_copies": len(batch)}


def run(quick: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tutor-bench-") as tmp:
        work = Path(tmp)
        numbers = click_vs_typed(work, repeats=6 if quick else 30)
        numbers.update(occlusion_batched(work, repeats=3 if quick else 15))
    return {"numbers": numbers, "rows": rows(numbers)}


def rows(n: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        cost_row("click redraws /attention vs typed", n["typed_attention_s"], n["clicked_attention_s"], 1.1),
        speedup_row(f"occlusion: 1 pass vs {n['occlusion_copies']} passes", n["occlusion_per_token_s"],
                    n["occlusion_one_pass_s"], 3.0),
    ]


def main(argv: list[str] | None = None) -> int:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    results = run(quick=quick)
    print(format_table(results["rows"]))
    print(f"the click drew the same picture as the typed command: {results['numbers']['click_same_picture']}")
    print(f"wrote {write_results('explore', {'quick': quick, 'environment': environment(), **results})}")
    return 0 if all(r["ok"] for r in results["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
