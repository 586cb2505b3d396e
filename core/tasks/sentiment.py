"""/sentiment: text classification, with the logits -> probabilities step shown.

Batched: concurrent requests share one padded forward pass (see core/batching.py).
"""
from __future__ import annotations

from typing import Any, Sequence

import torch

from core.context import TaskContext
from core.models import Loaded
from core.results import Result, Table
from core.tasks.common import f4, load, max_tokens, model_line, pct, row_lines, too_long_notice, with_output

SNIPPET = """from transformers import pipeline

{model}
classifier = pipeline("text-classification", model=MODEL)
for r in classifier({text!r}, top_k=None, truncation=True):
    print(r["label"], f"{{r['score']:.4f}}")"""


def run(ctx: TaskContext, args: dict[str, Any]) -> Result:
    return run_batch(ctx, [args])[0]


def run_batch(ctx: TaskContext, batch: Sequence[dict[str, Any]]) -> list[Result]:
    loaded = load(ctx, "sentiment", "classifier")
    texts = [args["text"] for args in batch]
    counts = [len(ids) for ids in loaded.tokenizer(texts)["input_ids"]]
    inputs = loaded.tokenizer(texts, truncation=True, padding=True, return_tensors="pt").to(loaded.device)
    with torch.no_grad():
        logits = loaded.model(**inputs).logits.float().cpu()
    return [_result(loaded, text, row, count) for text, row, count in zip(texts, logits, counts)]


def _result(loaded: Loaded, text: str, logits: torch.Tensor, count: int) -> Result:
    probs = torch.softmax(logits, dim=-1)
    labels = loaded.model.config.id2label
    order = sorted(range(len(probs)), key=lambda i: -float(probs[i]))
    rows = tuple((labels[i], f4(float(probs[i]))) for i in order)
    best = order[0]
    logit_text = ", ".join(f"{labels[i]} {float(logits[i]):+.2f}" for i in order)
    limit = max_tokens(loaded)
    notice = too_long_notice(count, limit)
    return Result(
        command="sentiment",
        answer=f"**{labels[best]}** ({pct(float(probs[best]))} sure)",
        table=Table(("label", "score"), rows),
        explanation=(
            f"1. The tokenizer split your text into {min(count, limit)} tokens (including the special [CLS] and [SEP]).\n"
            f"2. The model read them and gave one raw score (a logit) per class: {logit_text}.\n"
            f"3. Softmax turned the logits into probabilities that add up to 1: "
            + ", ".join(f"{r[0]} {r[1]}" for r in rows) + ". The highest one is the answer."
        ),
        code=with_output(SNIPPET.format(model=model_line(loaded), text=text), row_lines(rows)),
        model=loaded.spec.hub_id,
        notices=(notice,) if notice else (),
    )
