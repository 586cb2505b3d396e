"""Attention questions: where one token looks most in one head, and how much it parks on no-op tokens.

Both run the pack's attention model once with `output_attentions=True` and read one row of one head.
The [CLS]/[SEP] "no-op" is named by the one rule every view uses (`core.tokens.noop_tokens`): heads
often park attention on structural tokens when nothing else fits (Clark et al. 2019), which is also
why attention weights alone do not explain a decision.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.context import TaskContext
from core.markup import code
from core.results import Table
from core.tasks.shared.common import load, model_line, with_output
from core.tokens import noop_mask, noop_tokens, readable_tokens
from core.tutor import bank
from core.tutor.kinds.base import Kind, Steps
from core.tutor.kinds.words import attending_word, span_of
from core.tutor.options import MARGIN, TINY_MARGIN, arrange, banded
from core.tutor.questions import Explore, Item, NoQuestion, Picture, Question, ordinal

if TYPE_CHECKING:  # pragma: no cover
    import torch

SETUP = """import torch
from transformers import AutoModel, AutoTokenizer

{model}
tokenizer = AutoTokenizer.from_pretrained(MODEL)
model = AutoModel.from_pretrained(MODEL, attn_implementation="eager")  # SDPA cannot return weights
inputs = tokenizer({text!r}, truncation=True, return_tensors="pt")
with torch.no_grad():
    attentions = model(**inputs, output_attentions=True).attentions  # one (1, heads, n, n) per layer
tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
row = attentions[{layer}][0, {head}, {source}]  # where token {source} ({token!r}) looks
"""
TOP = """j = int(row.argmax())
print(j, tokens[j], f"{float(row[j]):.4f}")"""
NOOP = """NOOPS = {noops}  # structural tokens
print(f"{{float(sum(w for t, w in zip(tokens, row, strict=True) if t in NOOPS)):.4f}}")"""


@dataclass(frozen=True)
class Maps:
    """One forward pass with `output_attentions=True`: every head's map of one text."""

    loaded: Any
    text: str
    raw: list[str]
    shown: list[str]
    noop: list[bool]
    source: int
    attentions: torch.Tensor
    """(layers, heads, n, n)."""

    def row(self, layer: int, head: int) -> Row:
        weights = self.attentions[layer, head].tolist()
        return Row(self.loaded, self.raw, self.shown, self.noop, self.source, layer, head, weights)

    def clear_heads(self) -> list[tuple[int, int]]:
        """The (layer, head) pairs whose row for the source has a clear top token (`MARGIN`; a tiny
        random twin's rows are flat, so there only a top at the reveal's four decimals)."""
        import torch
        need = TINY_MARGIN if self.loaded.spec.is_tiny else MARGIN
        top2 = torch.topk(self.attentions[:, :, self.source], 2, dim=-1).values
        lead = ((top2[..., 0] - top2[..., 1]) >= need) & (top2[..., 0] > top2[..., 1])
        return [(int(layer), int(head)) for layer, head in lead.nonzero().tolist()]


@dataclass(frozen=True)
class Row:
    loaded: Any
    raw: list[str]
    shown: list[str]
    noop: list[bool]
    source: int
    layer: int
    head: int
    weights: list[list[float]]
    """The head's whole map, for the picture."""

    @property
    def row(self) -> list[float]:
        return self.weights[self.source]

    def label(self, j: int) -> str:
        """A token as an option: with its position when the same token appears twice."""
        if self.shown.count(self.shown[j]) > 1:
            return f"{self.shown[j]} (token {j})"
        return self.shown[j]

    def inputs(self, text: str) -> dict[str, Any]:
        return {"text": text, "layer": self.layer, "head": self.head, "source": self.source}

    def snippet(self, text: str, tail: str, printed: list[str]) -> str:
        setup = SETUP.format(model=model_line(self.loaded), text=text, layer=self.layer, head=self.head,
                             source=self.source, token=self.raw[self.source])
        return with_output(setup + tail, printed)


def measure(ctx: TaskContext, item: Item) -> Maps:
    import torch
    loaded = load(ctx, "attention", "encoder")
    tok = loaded.tokenizer
    inputs = tok(item.text, truncation=True, return_tensors="pt", return_offsets_mapping=True)
    offsets = inputs.pop("offset_mapping")[0].tolist()
    span = span_of(item.text, item.target) if item.target else None
    source = next((i for i, (a, b) in enumerate(offsets) if b > a and a == span[0]), None) if span else None
    if source is None:
        raise NoQuestion(f"{item.target!r} does not start a token of {item.text!r}")
    with torch.no_grad():
        attentions = loaded.model(**inputs.to(loaded.device), output_attentions=True).attentions
    raw = tok.convert_ids_to_tokens(inputs["input_ids"][0])
    stacked = torch.stack([a[0].float().cpu() for a in attentions])
    return Maps(loaded, item.text, raw, readable_tokens(tok, raw), noop_mask(raw, noop_tokens(tok)), source, stacked)


def _picture(r: Row) -> Picture:
    return Picture(r.shown, [[round(w, 4) for w in row] for row in r.weights], r.noop,
                   f"Layer {r.layer}, head {r.head}")


def _explore(text: str, r: Row) -> tuple[Explore, ...]:
    return (Explore(f"Open as /attention (layer {r.layer})", "attention",
                    {"text": text, "layer": r.layer, "head": r.head}),
            Explore("Every head of this layer", "attention", {"text": text, "layer": r.layer, "head": "all"}))


def top(m: Maps, rng: random.Random) -> Question:
    heads = m.clear_heads()
    if not heads:
        raise NoQuestion("no head has a clear top token for this word")
    r = m.row(*rng.choice(heads))
    text = m.text
    order = sorted(range(len(r.row)), key=lambda j: -r.row[j])
    best = order[0]
    src = code(r.shown[r.source])
    note = ""
    if r.noop[best]:
        words = next((j for j in order if not r.noop[j]), None)
        note = (f" {code(r.shown[best])} is a structural token: heads often park attention there as a \"no-op\" "
                "when nothing in the text fits (Clark et al. 2019)"
                + (f"; the strongest link to the text itself is {code(r.shown[words])} ({r.row[words]:.4f})."
                   if words is not None else "."))
    right = (r.label(best), f"Right: weight {r.row[best]:.4f}, the largest in {src}'s row.{note}")
    twin = r.shown.count(r.shown[best]) > 1  # a repeated word: options name positions, so let its twin be one
    others = [j for j in order[1:] if twin or r.shown.count(r.shown[j]) == 1]
    others.sort(key=lambda j: not (twin and r.shown[j] == r.shown[best]))
    wrong = [(r.label(j), f"Weight {r.row[j]:.4f}, ranked {ordinal(order.index(j) + 1)} of {len(order)}.")
             for j in others]
    options, key, why = arrange(right, wrong, rng)
    return Question(
        kind="attention-top", topic="attention", inputs=r.inputs(text),
        prompt=(f"In {code(text)}, which token does {src} attend to most in layer {r.layer}, head {r.head}? "
                "(The structural tokens count too.)"),
        options=options, key=key, why=why, model=r.loaded.spec.hub_id,
        explanation=(f"1. One forward pass with `output_attentions=True` gave each head an {len(r.raw)} x "
                     f"{len(r.raw)} map; row {r.source} is where {src} looks, and it adds up to 1.\n"
                     "2. The table lists that row, strongest first. The picture is the whole head: rows attend "
                     "to columns."),
        table=Table(("token", "weight"), tuple((r.label(j), f"{r.row[j]:.4f}") for j in order)),
        picture=_picture(r), explore=_explore(text, r),
        code=r.snippet(text, TOP, [f"{best} {r.raw[best]} {r.row[best]:.4f}"]),
    )


def noop_share(m: Maps, rng: random.Random) -> Question:
    if not any(m.noop):
        raise NoQuestion("this tokenizer adds no structural tokens")
    layers, heads = m.attentions.shape[:2]
    r = m.row(rng.randrange(layers), rng.randrange(heads))
    text = m.text
    share = sum(w for w, n in zip(r.row, r.noop, strict=True) if n)
    noops = sorted({t for t, n in zip(r.raw, r.noop, strict=True) if n})
    names = " and ".join(code(t) for t in noops)
    src = code(r.shown[r.source])
    got = f"{names} together got {share:.4f} of {src}'s attention"
    meaning = (" A head that parks most of a row on structural tokens is mostly idle for this token: "
               "attention shows where information may flow, not what the model used." if share >= 0.4 else "")
    options, key, why = banded(share, rng, lambda band: f"Right: {got}: {band}.{meaning}",
                               lambda band, above: f"{got}: {'above' if above else 'below'} this range.")
    return Question(
        kind="attention-noop", topic="attention", inputs=r.inputs(text),
        prompt=(f"In {code(text)}, layer {r.layer}, head {r.head}: how much of {src}'s attention goes to "
                f"the structural tokens {names}?"),
        options=options, key=key, why=why, literal=False, model=r.loaded.spec.hub_id,
        explanation=(f"1. Row {r.source} of the head's map is where {src} looks; it adds up to 1.\n"
                     f"2. The structural tokens ({names}) carry no word of the text; their share of the row is "
                     f"{share:.4f}."),
        table=Table(("token", "weight", "structural"),
                    tuple((r.label(j), f"{w:.4f}", "yes" if r.noop[j] else "") for j, w in enumerate(r.row))),
        picture=_picture(r), explore=_explore(text, r),
        code=r.snippet(text, NOOP.format(noops="{" + ", ".join(repr(t) for t in noops) + "}"),
                       [f"{share:.4f}"]),
    )


def _attending(text: str) -> Item | None:
    word = attending_word(text)
    return Item(text, word) if word else None


KINDS = (
    Kind("attention-top", "attention", "which token a head attends to most", "attention", Steps(measure, top),
         bank.ATTENDING, _attending, ("encoder",)),
    Kind("attention-noop", "attention", "how much attention parks on [CLS]/[SEP]", "attention",
         Steps(measure, noop_share), bank.ATTENDING, _attending, ("encoder",)),
)
