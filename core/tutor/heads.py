"""Attention heads with a measured pattern, for Part III's lessons: which head of this pack's encoder
looks at the previous token, which parks its attention on the structural tokens, and how clearly.

Heads "specialise" only where a measurement says so: a pattern is a property of one model's weights,
not of attention in general (a randomly initialised model has none). So each lesson measures its
head on this pack's own attention model, over the sentences of the question bank (`SENTENCES`), and
then asks the learner to predict that head on a new sentence (the lesson's own). The measurement
is one batched forward pass (about a second for all-MiniLM-L6-v2 on a CPU) and is deterministic,
so the predict step and the run step that follows pick the same head.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from core.context import TaskContext
from core.markup import code
from core.results import Table
from core.tasks.shared.common import load
from core.tokens import noop_mask, noop_tokens, readable_tokens
from core.tutor import bank
from core.tutor.kinds.words import attending_word, span_of
from core.tutor.options import banded
from core.tutor.questions import Item, NoQuestion, Question, ordinal, shuffled

CLEAR = 0.5
MARGIN = 0.05
"""An argmax question is asked only when the key beats every other option by this much: below it, the
answer is a coin flip (a model with random weights gives every token nearly the same weight)."""
NO_PATTERN = "a head specialises only if training made it; this model may have random weights"


def sentences(avoid: str = "") -> tuple[str, ...]:
    """The measurement set: every distinct sentence of the bank, less the one the learner will predict on."""
    items = (*bank.SENTENCES, *bank.ATTENDING, *bank.SENTIMENT, *bank.NAMES, *bank.CONTEXTS, *bank.LABELS)
    return tuple(t for t in dict.fromkeys(i.text for i in items) if t.strip().lower() != avoid.strip().lower())


@dataclass(frozen=True)
class Heads:
    """Per head (`[layer][head]`), over the text tokens of every measured sentence: how often the row's
    strongest link is the previous token, and the mean share a row gives the structural tokens."""

    previous: list[list[float]]
    parking: list[list[float]]
    rows: int
    """Rows measured per head (text tokens over all sentences)."""
    sentences: int
    model: str

    @property
    def layers(self) -> int:
        return len(self.previous)

    @property
    def heads(self) -> int:
        return len(self.previous[0])

    def best(self, what: str) -> tuple[int, int]:
        """(layer, head) with the highest rate of `what` (`previous` or `parking`); ties to the lowest."""
        table = getattr(self, what)
        return max(((layer, head) for layer in range(self.layers) for head in range(self.heads)),
                   key=lambda at: (table[at[0]][at[1]], -at[0], -at[1]))

    def rate(self, what: str, at: tuple[int, int]) -> float:
        return getattr(self, what)[at[0]][at[1]]

    def chance(self) -> float:
        """The previous-token rate a head looking at random would get: one token of the row, on average."""
        return 1.0 / max(2.0, self.rows / max(1, self.sentences))

    def clear(self, what: str, at: tuple[int, int]) -> bool:
        """A pattern worth the name: at least half the rows (previous) or half of a row's weight (parking)."""
        return self.rate(what, at) >= CLEAR

    def describe(self, what: str, at: tuple[int, int], caveat: bool = True) -> str:
        """One sentence with the measurement; `caveat` adds what it means when the pattern is not clear."""
        layer, head = at
        rate = self.rate(what, at)
        over = f"over {self.sentences} other sentences ({self.rows} tokens)"
        if what == "previous":
            said = (f"Measured {over}, layer {layer}, head {head} put its strongest link on the previous token "
                    f"in {rate:.0%} of rows")
        else:
            said = (f"Measured {over}, layer {layer}, head {head} gave the structural tokens "
                    f"{rate:.0%} of a row's attention on average")
        if self.clear(what, at) or not caveat:
            return said + "."
        return said + f": the clearest head here, yet no clear pattern ({NO_PATTERN})."


def measure(ctx: TaskContext, avoid: str = "") -> Heads:
    """One forward pass over the measurement set with `output_attentions=True` (on a worker thread)."""
    import torch
    loaded = load(ctx, "attention", "encoder")
    tok = loaded.tokenizer
    texts = list(sentences(avoid))
    enc = tok(texts, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        attentions = loaded.model(**enc.to(loaded.device), output_attentions=True).attentions
    maps = torch.stack([a.float().cpu() for a in attentions], dim=1)  # (sentence, layer, head, row, column)
    noops = noop_tokens(tok)
    structural = torch.tensor([noop_mask(tok.convert_ids_to_tokens(ids), noops)
                               for ids in enc["input_ids"].tolist()])
    text = enc["attention_mask"].cpu().bool() & ~structural
    text[:, 0] = False  # the first token has no previous token
    n = maps.shape[-1]
    strongest = maps.argmax(dim=-1)
    previous = strongest == (torch.arange(n) - 1)
    parked = (maps * structural[:, None, None, None, :].float()).sum(-1)
    rows = text[:, None, None, :].expand_as(previous)
    count = rows.sum(dim=(0, 3)).clamp(min=1).float()
    return Heads(previous=((previous & rows).sum(dim=(0, 3)).float() / count).tolist(),
                 parking=((parked * rows).sum(dim=(0, 3)) / count).tolist(),
                 rows=int(text.sum()), sentences=len(texts), model=loaded.spec.label)


@dataclass(frozen=True)
class Map:
    """One head's map on one sentence, and the row of the token a question is about."""

    loaded: Any
    raw: list[str]
    shown: list[str]
    noop: list[bool]
    source: int
    weights: list[list[float]]
    """`[layer][head]` -> the (row, column) map."""

    def row(self, layer: int, head: int) -> list[float]:
        return self.weights[layer][head][self.source]

    def label(self, j: int) -> str:
        return f"{self.shown[j]} (token {j})" if self.shown.count(self.shown[j]) > 1 else self.shown[j]


def read(ctx: TaskContext, text: str) -> Map:
    """Every head's map on `text`, and the row of its attending word (a pronoun, else a late word)."""
    import torch
    loaded = load(ctx, "attention", "encoder")
    tok = loaded.tokenizer
    word = attending_word(text)
    span = span_of(text, word) if word else None
    inputs = tok(text, truncation=True, return_tensors="pt", return_offsets_mapping=True)
    offsets = inputs.pop("offset_mapping")[0].tolist()
    source = next((i for i, (a, b) in enumerate(offsets) if b > a and span and a == span[0]), None)
    if source is None:
        raise NoQuestion(f"no word of {text!r} starts a token")
    with torch.no_grad():
        attentions = loaded.model(**inputs.to(loaded.device), output_attentions=True).attentions
    raw = tok.convert_ids_to_tokens(inputs["input_ids"][0])
    return Map(loaded, raw, readable_tokens(tok, raw), noop_mask(raw, noop_tokens(tok)), source,
               [a[0].float().cpu().tolist() for a in attentions])


def top_question(ctx: TaskContext, text: str, at: tuple[int, int], heads: Heads, rng: random.Random) -> Question:
    """Which token the attending word looks at most in the measured previous-token head, on `text`."""
    m = read(ctx, text)
    layer, head = at
    row = m.row(layer, head)
    order = sorted(range(len(row)), key=lambda j: -row[j])
    best, src = order[0], m.source
    where = {src - 1: "the previous token", src + 1: "the next token", src: "the token itself"}

    def why(j: int) -> str:
        role = where.get(j, "a structural token" if m.noop[j] else "")
        return f"weight {row[j]:.4f}" + (f", {role}" if role else "") + f", ranked {ordinal(order.index(j) + 1)}"

    right = (m.label(best), f"Right: {why(best)}, the largest in {code(m.shown[src])}'s row.")
    candidates = [j for j in (src - 1, src + 1, src, *(j for j in order if m.noop[j]), *order[1:])
                  if 0 <= j < len(row) and j != best and row[j] <= row[best] - MARGIN]
    wrong = [(m.label(j), f"{why(j).capitalize()}; {code(m.label(best))} got {row[best]:.4f}.")
             for j in dict.fromkeys(candidates)]
    options, key, reasons = shuffled(right, wrong, rng)
    return Question(
        kind="lesson:onehead", topic="attention",
        prompt=(f"{heads.describe('previous', at)} Now a new sentence, {code(text)}: in layer {layer}, head {head}, "
                f"which token does {code(m.shown[src])} attend to most?"),
        options=options, key=key, why=reasons, model=m.loaded.spec.label, code="",
        inputs={"text": text, "layer": layer, "head": head, "source": src})


def layer_question(ctx: TaskContext, text: str, layer: int, rng: random.Random) -> Question:
    """Which head of `layer` puts the most weight on the previous token, on `text` (all its rows)."""
    m = read(ctx, text)
    rates = []
    for head in range(len(m.weights[layer])):
        grid = m.weights[layer][head]
        rows = [i for i in range(1, len(grid)) if not m.noop[i]]
        rates.append(sum(grid[i][i - 1] for i in rows) / max(1, len(rows)))
    order = sorted(range(len(rates)), key=lambda h: -rates[h])
    if len(order) < 4:
        raise NoQuestion("fewer than four heads")
    best = order[0]
    apart = [h for h in order[1:] if rates[h] <= rates[best] - MARGIN]
    if len(apart) < 3:
        raise NoQuestion(f"no three heads of layer {layer} are {MARGIN} below the best")
    picked = [best, *rng.sample(apart, 3)]

    def why(h: int) -> str:
        return f"head {h} gave the previous token {rates[h]:.4f} of a row on average"

    right = (f"head {best}", f"Right: {why(best)}, the most of layer {layer}'s {len(rates)} heads.")
    wrong = [(f"head {h}", f"{why(h).capitalize()}; head {best} gave {rates[best]:.4f}.") for h in picked[1:]]
    options, key, reasons = shuffled(right, wrong, rng)  # shuffled: in number order a low head would give it away
    return Question(
        kind="lesson:allheads", topic="attention",
        prompt=(f"Layer {layer} has {len(rates)} heads, each with its own map of {code(text)}. Which of these "
                "heads gives the previous token the most weight, averaged over the text's tokens?"),
        options=options, key=key, why=reasons, model=m.loaded.spec.label, code="", literal=False,
        inputs={"text": text, "layer": layer, "head": "all"},
        table=Table(("head", "weight on the previous token"), tuple((str(h), f"{rates[h]:.4f}") for h in order)))


def maps_question(ctx: TaskContext, text: str, heads: Heads, rng: random.Random) -> Question:
    """Of four maps from different layers, which parks the most attention on the structural tokens on `text`."""
    m = read(ctx, text)
    shares = {(layer, head): _parked(m, layer, head) for layer in range(len(m.weights))
              for head in range(len(m.weights[layer]))}
    by_layer = [max(((layer, h) for h in range(heads.heads)), key=lambda at: shares[at])
                for layer in range(heads.layers)]
    best = max(shares, key=lambda at: shares[at])
    apart = [at for at in dict.fromkeys([heads.best("previous"), *by_layer, *shares])
             if at != best and shares[at] <= shares[best] - MARGIN]
    if len(apart) < 3:
        raise NoQuestion(f"no three maps give the structural tokens {MARGIN} less than the most")
    picked = [best, *apart[:3]]

    def name(at: tuple[int, int]) -> str:
        return f"layer {at[0]}, head {at[1]}"

    right = (name(best), f"Right: {shares[best]:.4f} of the text's attention went to the structural tokens.")
    wrong = [(name(at), f"It gave them {shares[at]:.4f}; {name(best)} gave them {shares[best]:.4f}.")
             for at in picked[1:]]
    options, key, reasons = shuffled(right, wrong, rng)
    noops = " and ".join(code(t) for t in dict.fromkeys(t for t, n in zip(m.shown, m.noop, strict=True) if n))
    return Question(
        kind="lesson:layers", topic="attention",
        prompt=(f"/overview draws every map of {code(text)}. Which of these four maps gives the structural tokens "
                f"({noops}) the largest share of the text's attention?"),
        options=options, key=key, why=reasons, model=m.loaded.spec.label, code="", literal=False,
        inputs={"text": text})


def parking_question(ctx: TaskContext, text: str, at: tuple[int, int], heads: Heads,
                     rng: random.Random) -> Question:
    """How much of the attending word's attention the measured parking head gives the structural tokens."""
    m = read(ctx, text)
    layer, head = at
    row = m.row(layer, head)
    if not any(m.noop):
        raise NoQuestion("this tokenizer adds no structural tokens")
    share = sum(w for w, n in zip(row, m.noop, strict=True) if n)
    src = code(m.shown[m.source])
    got = f"the structural tokens got {share:.4f} of {src}'s row"
    options, key, reasons = banded(share, rng, lambda band: f"Right: {got}: {band}.",
                                   lambda band, above: f"No: {got}, {'above' if above else 'below'} this range.")
    noops = " and ".join(code(t) for t in dict.fromkeys(t for t, n in zip(m.shown, m.noop, strict=True) if n))
    return Question(
        kind="lesson:limits", topic="attention",
        prompt=(f"{heads.describe('parking', at)} Now a new sentence, {code(text)}: in layer {layer}, head {head}, "
                f"how much of {src}'s attention goes to {noops}?"),
        options=options, key=key, why=reasons, model=m.loaded.spec.label, code="", literal=False,
        inputs={"text": text, "layer": layer, "head": head, "source": m.source})


def _parked(m: Map, layer: int, head: int) -> float:
    grid = m.weights[layer][head]
    rows = [i for i in range(len(grid)) if not m.noop[i]] or list(range(len(grid)))
    return sum(sum(w for w, n in zip(grid[i], m.noop, strict=True) if n) for i in rows) / len(rows)


def item_word(text: str) -> Item | None:
    word = attending_word(text)
    return Item(text, word) if word else None
