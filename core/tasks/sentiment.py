"""/sentiment: text classification, with the logits -> probabilities step shown.

Batched: concurrent requests share one padded forward pass (see core/batching.py). On the offline
pack, which has no classifier, SmolLM2's next-token scores stand in (core/tasks/standins/sentiment.py).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import torch

from core import tiny
from core.context import TaskContext
from core.errors import UserError
from core.models import Loaded
from core.packs import SMOLLM2, Offline, TaskModel
from core.results import Result, Table
from core.tasks import standins
from core.tasks.shared import attribution, occlusion
from core.tasks.shared.base import forward, one
from core.tasks.shared.common import (
    and_list,
    as_code,
    f4,
    load,
    model_line,
    pct,
    row_lines,
    truncation_kwargs,
    truncation_notice,
    with_output,
)
from core.tasks.standins import sentiment as standin
from core.tokens import noop_tokens

MODEL = TaskModel(roles=("classifier", "chat"), hub="distilbert/distilbert-base-uncased-finetuned-sst-2-english",
                  tiny=tiny.SST2_DISTILBERT, offline=Offline(SMOLLM2, "chat", stands_in=standin.STANDS_IN),
                  hub_classes=("DistilBertForSequenceClassification", "DistilBertTokenizer"))
"""A classifier; on the offline pack, a chat model's next-token scores stand in for one."""

SNIPPET = """from transformers import pipeline

{model}
classifier = pipeline("text-classification", model=MODEL)
for r in classifier({text!r}, top_k=None, {truncation}):
    print(r["label"], f"{{r['score']:.4f}}")"""


def run_batch(ctx: TaskContext, batch: Sequence[dict[str, Any]]) -> list[Result]:
    if any(args.get("why") for args in batch):
        return attribution.each(batch, lambda plain: run_batch(ctx, plain), lambda args: why(ctx, args))
    loaded = load(ctx, "sentiment")
    texts = [args["text"] for args in batch]
    if standins.is_standin(loaded):
        return standin.run_batch(loaded, texts)
    inputs = loaded.tokenizer(texts, padding=True, return_tensors="pt", **truncation_kwargs(loaded))
    logits = forward(loaded, inputs).logits
    return [with_why(loaded, _result(loaded, text, row), text) for text, row in zip(texts, logits, strict=True)]


def why(ctx: TaskContext, args: dict[str, Any]) -> Result:
    """`why=true`: which words mattered, by occlusion (core/tasks/shared/occlusion.py): a classifier's own view."""
    loaded = load(ctx, "sentiment")
    if standins.is_standin(loaded):
        raise UserError("`why=true` hides each word and watches a classifier's score; this pack has no sentiment "
                        "classifier (SmolLM2 stands in), so it is not offered here. Ask without `why=true`, or "
                        "use the hub pack.")
    return occlusion.sentiment(loaded, args["text"])


def with_why(loaded: Loaded, result: Result, text: str) -> Result:
    """The answer with its "which words mattered" button, when the text is short enough for it."""
    return replace(result, actions=attribution.why_action("sentiment", occlusion.sentiment_count(loaded, text)))


run = one(run_batch)


def _result(loaded: Loaded, text: str, logits: torch.Tensor) -> Result:
    probs = torch.softmax(logits, dim=-1)
    labels = loaded.model.config.id2label
    order = sorted(range(len(probs)), key=lambda i: -float(probs[i]))
    rows = tuple((labels[i], f4(float(probs[i]))) for i in order)
    best = order[0]
    logit_text = ", ".join(f"{labels[i]} {float(logits[i]):+.2f}" for i in order)
    count, notice = truncation_notice(loaded, text)
    return Result(
        command="sentiment",
        answer=f"**{labels[best]}** (probability {pct(float(probs[best]))})",
        table=Table(("label", "score"), rows),
        explanation=(
            f"1. {what_the_model_read(loaded, text, count)}\n"
            f"2. The model read them and gave one raw score (a logit) per class: {logit_text}.\n"
            f"3. Softmax turned the logits into probabilities that add up to 1: "
            + ", ".join(f"{r[0]} {r[1]}" for r in rows) + ". The highest one is the answer."
        ),
        code=with_output(SNIPPET.format(model=model_line(loaded), text=text,
                                        truncation=as_code(truncation_kwargs(loaded))), row_lines(rows)),
        model=loaded.spec.label,
        notices=(notice,) if notice else (),
    )


def what_the_model_read(loaded: Loaded, text: str, count: int) -> str:
    """"The tokenizer split your text into N tokens, ...": the special tokens this tokenizer really
    added, what truncation cut, and which characters became the unknown token."""
    tok = loaded.tokenizer
    enc = tok(text, return_special_tokens_mask=True, return_offsets_mapping=True, **truncation_kwargs(loaded))
    ids = enc["input_ids"]
    tokens = tok.convert_ids_to_tokens(ids)
    added = list(dict.fromkeys(t for t, m in zip(tokens, enc["special_tokens_mask"], strict=True) if m))
    unk = tok.unk_token if tok.unk_token not in noop_tokens(tok) else None
    marks = zip(tokens, enc["special_tokens_mask"], enc["offset_mapping"], strict=True)
    unknown = list(dict.fromkeys(text[a:b] for t, m, (a, b) in marks if t == unk and not m))
    out = f"The tokenizer split your text into {len(ids)} tokens"
    if len(ids) < count:
        out += f" (it has {count}; the model reads at most {len(ids)}, so the rest was cut off)"
    out += (f", including the special tokens it adds: {and_list(added)}." if added
            else "; this tokenizer adds no special tokens.")
    if unknown:
        out += (f" {unk} stands for what its vocabulary cannot spell: "
                + ", ".join(f"`{u}`" for u in unknown) + "; the model never sees those characters.")
    return out
