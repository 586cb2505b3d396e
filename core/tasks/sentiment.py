"""/sentiment: text classification, with the logits -> probabilities step shown.

Batched: concurrent requests share one padded forward pass (see core/batching.py). On the offline
pack, which has no classifier, SmolLM2's next-token scores stand in (core/tasks/standins/sentiment.py).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from core import tiny
from core.actions import Action
from core.context import TaskContext
from core.errors import UserError
from core.markup import bold, code, plain
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
    max_tokens,
    model_line,
    pct,
    row_lines,
    truncation_kwargs,
    truncation_notice,
    with_output,
)
from core.tasks.standins import sentiment as standin
from core.tokens import noop_tokens

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from transformers import BatchEncoding

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
    cut = truncation_kwargs(loaded)
    inputs = loaded.tokenizer(texts, padding=True, return_tensors="pt", **cut)
    logits = forward(loaded, inputs).logits
    same = Same(loaded.model.config.id2label, max_tokens(loaded), as_code(cut), model_line(loaded),
                unknown_token(loaded))
    return [_result(loaded, text, row, read, same)
            for text, row, read in zip(texts, logits, readings(loaded, texts, inputs), strict=True)]


class Same(NamedTuple):
    """What every answer of a batch shares, worked out once per batch rather than once per answer."""

    labels: dict[int, str]
    limit: int
    """The most tokens the model reads (`max_tokens`)."""
    truncation: str
    """The snippet's truncation arguments."""
    model: str
    """The snippet's model block (`model_line`)."""
    unk: str | None
    """`unknown_token`."""


def why(ctx: TaskContext, args: dict[str, Any]) -> Result:
    """`why=true`: which words mattered, by occlusion (core/tasks/shared/occlusion.py): a classifier's own view."""
    loaded = load(ctx, "sentiment")
    if standins.is_standin(loaded):
        raise UserError("`why=true` hides each word and watches a classifier's score; this pack has no sentiment "
                        "classifier (SmolLM2 stands in), so it is not offered here. Ask without `why=true`, or "
                        "use the hub pack.")
    return occlusion.sentiment(loaded, args["text"])


run = one(run_batch)


def _result(loaded: Loaded, text: str, logits: torch.Tensor, read: Read, same: Same) -> Result:
    import torch
    probs, raw = torch.softmax(logits, dim=-1).tolist(), logits.tolist()
    labels = same.labels
    order = sorted(range(len(probs)), key=lambda i: -probs[i])
    rows = tuple((labels[i], f4(probs[i])) for i in order)
    best = order[0]
    logit_text = ", ".join(f"{plain(labels[i])} {raw[i]:+.2f}" for i in order)
    count, notice = (len(read.ids), None) if len(read.ids) < same.limit else truncation_notice(loaded, text)
    return Result(
        command="sentiment",
        answer=f"{bold(plain(labels[best]))} (probability {pct(probs[best])})",
        table=Table(("label", "score"), rows),
        explanation=(
            f"1. {what_the_model_read(loaded, text, count, read, same.unk)}\n"
            f"2. The model read them and gave one raw score (a logit) per class: {logit_text}.\n"
            f"3. Softmax turned the logits into probabilities that add up to 1: "
            + ", ".join(f"{plain(r[0])} {r[1]}" for r in rows) + ". The highest one is the answer."
        ),
        code=with_output(SNIPPET.format(model=same.model, text=text, truncation=same.truncation), row_lines(rows)),
        model=loaded.spec.label,
        notices=(notice,) if notice else (),
        actions=why_button(read),
    )


def why_button(read: Read) -> tuple[Action, ...]:
    """The "which words mattered" button, when the text is short enough for it (occlusion hides each of
    the text's own tokens, one copy each)."""
    return attribution.why_action("sentiment", read.own)


@dataclass(frozen=True)
class Read:
    """What the tokenizer made of one text, as the model read it (truncated, without padding)."""

    ids: list[int]
    special: list[int]
    """1 where the tokenizer added a special token."""
    offsets: list[tuple[int, int]]
    """Each token's characters in the text."""

    @property
    def own(self) -> int:
        """How many of the tokens are the text's own (what occlusion hides one by one)."""
        return len(self.ids) - sum(self.special)


def read_one(loaded: Loaded, text: str) -> Read:
    enc = loaded.tokenizer(text, return_special_tokens_mask=True, return_offsets_mapping=True,
                           **truncation_kwargs(loaded))
    return Read(list(enc["input_ids"]), list(enc["special_tokens_mask"]), list(enc["offset_mapping"]))


def readings(loaded: Loaded, texts: list[str], inputs: BatchEncoding) -> list[Read]:
    """Each text's `Read`, taken from the batch's own encodings (a fast tokenizer keeps one per row, padding
    marked by its attention mask) rather than encoding every text again for its explanation."""
    if not inputs.encodings or len(inputs.encodings) != len(texts):
        return [read_one(loaded, text) for text in texts]
    out = []
    for enc in inputs.encodings:
        keep = [n for n, on in enumerate(enc.attention_mask) if on]
        out.append(Read([enc.ids[n] for n in keep], [enc.special_tokens_mask[n] for n in keep],
                        [enc.offsets[n] for n in keep]))
    return out


def unknown_token(loaded: Loaded) -> str | None:
    """The tokenizer's unknown token where it stands for characters the vocabulary cannot spell."""
    tok = loaded.tokenizer
    return tok.unk_token if tok.unk_token not in noop_tokens(tok) else None


def what_the_model_read(loaded: Loaded, text: str, count: int, read: Read, unk: str | None) -> str:
    """"The tokenizer split your text into N tokens, ...": the special tokens this tokenizer really
    added, what truncation cut, and which characters became the unknown token (`unk`, `unknown_token`)."""
    ids = read.ids
    tokens = loaded.tokenizer.convert_ids_to_tokens(ids)
    added = list(dict.fromkeys(t for t, m in zip(tokens, read.special, strict=True) if m))
    marks = zip(tokens, read.special, read.offsets, strict=True)
    unknown = list(dict.fromkeys(text[a:b] for t, m, (a, b) in marks if t == unk and not m))
    out = f"The tokenizer split your text into {len(ids)} tokens"
    if len(ids) < count:
        out += f" (it has {count}; the model reads at most {len(ids)}, so the rest was cut off)"
    out += (f", including the special tokens it adds: {and_list([plain(t) for t in added])}." if added
            else "; this tokenizer adds no special tokens.")
    if unknown:
        out += (f" {plain(unk or '')} stands for what its vocabulary cannot spell: "
                + ", ".join(code(u) for u in unknown) + "; the model never sees those characters.")
    return out
