"""Pipeline questions: /sentiment's confidence, fill-mask's top guess, NER's type for a name, the label
zero-shot picks, the span /qa answers with.

Each runs the ordinary command on the worker thread (`run_command`), so the key, the table, the
explanation and the snippet are that command's own answer: the snippet prints the key. Argmax keys
(fill-mask's top guess, NER's type, zero-shot's label, /qa's span) lead their runner-up by
`core.tutor.options.MARGIN`, or the question is not asked.

On the offline pack, /sentiment, /fillmask and /ner run through stand-ins (core/tasks/standins/): the
questions ask about what the stand-in answered, and read their scores from the stand-in's own run.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from core.context import TaskContext
from core.errors import UserError
from core.markup import code
from core.results import Result
from core.tasks import standins
from core.tasks.shared.common import load
from core.tutor import bank
from core.tutor.kinds.base import Kind, Steps, run_command
from core.tutor.kinds.words import masked, name_word, span_of
from core.tutor.options import arrange, banded, layouts, lead, place_of, spaced, whole_words
from core.tutor.questions import Explore, Item, NoQuestion, Question, from_result, ordinal

NO_ENTITY = "O"
"""The label of a token outside any entity, as the model names it."""
DEFAULT_LABELS = ("food", "sports", "politics", "weather")
CANDIDATES = 50
"""Fill-mask guesses read for distractors (the reveal's table keeps the command's top 10)."""
SPAN_WORDS = re.compile(r"[\w'-]+")


@dataclass(frozen=True)
class Ran:
    """An ordinary command's answer on an item, and the scores read from its table."""

    item: Item
    result: Result
    rows: list[tuple[str, float]]
    tiny: bool


def _rows(result: object, column: str = "score") -> list[tuple[str, float]]:
    """(first column, score) of each row of an ordinary command's table."""
    table = getattr(result, "table", None)
    if table is None:
        raise NoQuestion("the command gave no table")
    at = table.columns.index(column) if column in table.columns else len(table.columns) - 1
    return [(row[0], float(row[at])) for row in table.rows]


def _tiny(ctx: TaskContext, command: str) -> bool:
    spec = ctx.pack.models.get(command)
    return bool(spec and spec.is_tiny)


def measure_sentiment(ctx: TaskContext, item: Item) -> Ran:
    result = run_command(ctx, "sentiment", {"text": item.text})
    return Ran(item, result, _rows(result), _tiny(ctx, "sentiment"))


def sentiment(r: Ran, rng: random.Random) -> Question:
    """The score of one of the labels, as a range: a label whose score the drawn place can hold (a
    classifier sure of POSITIVE gives NEGATIVE a score near 0: asking about either keeps the places even)."""
    text = r.item.text
    fits = [row for row in r.rows if place_of(rng) in layouts(row[1])]
    label, p = rng.choice(fits) if fits else r.rows[0]
    got = f"{label} got {p:.4f}"
    options, key, why = banded(p, rng, lambda band: f"Right: {got}: {band}.",
                               lambda band, above: f"{got}: {'above' if above else 'below'} this range.")
    return Question(kind="sentiment-90", topic="pipelines", inputs={"text": text, "label": label},
                    prompt=f"Which range holds the score /sentiment gives {label} for {code(text)}?",
                    options=options, key=key, why=why, literal=False, **from_result(r.result),
                    explore=(Explore("Open as /sentiment", "sentiment", {"text": text}),))


@dataclass(frozen=True)
class Guesses:
    ran: Ran
    guesses: list[tuple[str, str, float]]
    """(raw token, the token as /fillmask shows it, probability) of the top `CANDIDATES`, best first."""
    spaced: bool
    """The tokenizer's words carry a space marker (`core.tutor.options.spaced`)."""


def measure_fill(ctx: TaskContext, item: Item) -> Guesses:
    from core.tasks.fillmask import standin_fills, with_model_mask

    raw = {"text": item.text, "top_k": 10}
    loaded = load(ctx, "fillmask")
    if standins.is_standin(loaded):  # one fill gives the command's answer and the candidates' tokens
        answers, fills = standin_fills(loaded, [ctx.registry.get("fillmask").validate(raw)])
        result, guesses = answers[0], _standin_guesses(loaded, fills[0])
    else:
        result = run_command(ctx, "fillmask", raw)
        found = loaded.pipeline("fill-mask")(with_model_mask(item.text, loaded.tokenizer.mask_token),
                                             top_k=CANDIDATES)
        tokens = loaded.tokenizer.convert_ids_to_tokens([g["token"] for g in found])
        guesses = [(t, g["token_str"].strip(), float(g["score"])) for t, g in zip(tokens, found, strict=True)]
    return Guesses(Ran(item, result, _rows(result), loaded.spec.is_tiny), guesses, spaced(loaded.tokenizer))


def _standin_guesses(loaded: Any, filled: Any) -> list[tuple[str, str, float]]:
    """The stand-in's candidates (core/tasks/standins/fillmask.py), best first, each with its share of
    the candidates' sentence scores: the numbers its /fillmask table shows."""
    raw = loaded.tokenizer.convert_ids_to_tokens([g.token for g in filled.guesses])
    return [(t, g.word, g.share) for t, g in zip(raw, filled.guesses, strict=True)]


def fill(g: Guesses, rng: random.Random) -> Question:
    text, result = g.ran.item.text, g.ran.result
    top = g.guesses[0]
    if top[1] != g.ran.rows[0][0]:
        raise NoQuestion("the guesses differ from the command's")
    lead(top[2], g.guesses[1][2], g.ran.tiny)
    words = whole_words(g.guesses, g.spaced)
    if not words or words[0] != top:
        raise NoQuestion("the top guess is not a whole word")
    rank = {t: i for i, t in enumerate(g.guesses)}
    right = (top[1], f"Right: the top guess, with probability {top[2]:.4f}.")
    wrong = [(t[1], f"Ranked {ordinal(rank[t] + 1)}, with probability {t[2]:.4f}; the top guess was {code(top[1])} "
                    f"({top[2]:.4f}).") for t in words[1:]]
    options, key, why = arrange(right, wrong, rng)
    return Question(kind="fillmask-top", topic="pipelines", inputs={"text": text},
                    prompt=f"What is fill-mask's top guess for the hidden word in {code(text)}?",
                    options=options, key=key, why=why, **from_result(result),
                    explore=(Explore("Open as /fillmask", "fillmask", {"text": text}),))


@dataclass(frozen=True)
class Entities:
    item: Item
    result: Result
    types: list[str]
    found: dict[str, Any] | None
    """The entity over the target word, as the pipeline grouped it; None for no entity."""
    margin: float
    """The target's first token: its top label's probability minus the best label of another type."""
    top_type: str
    tiny: bool
    standin: bool = False
    """Typed by the offline pack's stand-in, which proposes capitalised names and types each one."""


def measure_ner(ctx: TaskContext, item: Item) -> Entities:
    import torch
    text, target = item.text, item.target
    span = span_of(text, target)
    if span is None:
        raise NoQuestion(f"{target!r} is not a word of {text!r}")
    loaded = load(ctx, "ner")
    if standins.is_standin(loaded):
        return _standin_entities(ctx, loaded, item, span)
    labels = loaded.model.config.id2label
    entities = loaded.pipeline("token-classification")(text, aggregation_strategy="simple")
    over = [e for e in entities if e["start"] < span[1] and e["end"] > span[0]]
    types = sorted({str(label).split("-", 1)[-1] for label in labels.values()} - {"O"})
    if len(types) < 3:
        raise UserError("This pack's /ner model has fewer than three entity types to choose from.")
    enc = loaded.tokenizer(text, return_offsets_mapping=True, return_tensors="pt")
    offsets = enc.pop("offset_mapping")[0].tolist()
    first = next((i for i, (a, b) in enumerate(offsets) if b > a and a < span[1] and b > span[0]), None)
    if first is None:
        raise NoQuestion(f"no token of {target!r}")
    with torch.no_grad():
        probs = torch.softmax(loaded.model(**enc.to(loaded.device)).logits[0, first].float().cpu(), dim=-1)
    by_label = sorted(((float(p), _type(labels[i])) for i, p in enumerate(probs.tolist())), reverse=True)
    best = by_label[0]
    runner = next((p for p, t in by_label[1:] if t != best[1]), 0.0)
    result = run_command(ctx, "ner", {"text": text})
    return Entities(item, result, types, over[0] if over else None, best[0] - runner, best[1], loaded.spec.is_tiny)


def _standin_entities(ctx: TaskContext, loaded: Any, item: Item, span: tuple[int, int]) -> Entities:
    """The stand-in's run (core/tasks/standins/ner.py): a word it did not propose as a name is O by its
    rule (certain); a name's type leads by its share minus the next type's share."""
    from core.tasks.standins import ner as standin

    found = [e for e in standin.find(loaded, [item.text])[0] if e.start < span[1] and e.end > span[0]]
    result = run_command(ctx, "ner", {"text": item.text})
    if not found:
        return Entities(item, result, list(standin.TYPE_WORDS), None, 1.0, NO_ENTITY, False, standin=True)
    shares = sorted(found[0].scores.values(), reverse=True)
    return Entities(item, result, list(standin.TYPE_WORDS), found[0].as_dict(), shares[0] - shares[1],
                    found[0].entity_group, False, standin=True)


def _type(label: str) -> str:
    return NO_ENTITY if label == "O" else str(label).split("-", 1)[-1]


def ner(e: Entities, rng: random.Random) -> Question:
    text, target = e.item.text, e.item.target
    key = e.found["entity_group"] if e.found else NO_ENTITY
    if key != e.top_type:
        raise NoQuestion("the word's first token and its entity disagree")
    lead(e.margin, 0.0, e.tiny)
    if e.found and e.standin:
        name = "" if e.found["word"] == target else f" (in the name {code(e.found['word'])})"
        right = (key, f"Right: the stand-in proposed {code(target)}{name} as a name and typed it {key}, share "
                      f"{float(e.found['score']):.4f} of the four types.")
        given = f"{key} (share {float(e.found['score']):.4f})"
    elif e.found:
        part = "" if e.found["word"].replace("##", "").strip() == target else f" (the piece {code(e.found['word'])})"
        right = (key, f"Right: the model labelled {code(target)}{part} {key}, score {float(e.found['score']):.4f}.")
        given = f"{key} (score {float(e.found['score']):.4f})"
    elif e.standin:
        right = (key, f"Right: the stand-in did not propose {code(target)} as a name (it proposes runs of "
                      "capitalised words, less words such as `The`, `Dr` or a month), so it is outside any entity (O).")
        given = "no entity label (O)"
    else:
        right = (key, f"Right: no piece of {code(target)} got an entity label: the model put it outside any "
                      "entity (O).")
        given = "no entity label (O)"
    wrong = [(t, f"The model gave {code(target)} {given}, not {t}.") for t in [*e.types, NO_ENTITY] if t != key]
    rng.shuffle(wrong)
    options, key_index, why = arrange(right, wrong, rng)
    return Question(kind="ner-type", topic="pipelines", inputs={"text": text, "target": target},
                    prompt=f"In {code(text)}, which label does /ner give {code(target)}: an entity type, or O (outside "
                           "any entity)?",
                    options=options, key=key_index, why=why, literal=False, **from_result(e.result),
                    explore=(Explore("Open as /ner", "ner", {"text": text}),))


def measure_zeroshot(ctx: TaskContext, item: Item) -> Ran:
    labels = list(item.extra or DEFAULT_LABELS)
    result = run_command(ctx, "zeroshot", {"text": item.text, "labels": ", ".join(labels)})
    return Ran(Item(item.text, extra=tuple(labels)), result, _rows(result), _tiny(ctx, "zeroshot"))


def zeroshot(r: Ran, rng: random.Random) -> Question:
    text, ranked = r.item.text, r.rows
    best = ranked[0]
    lead(best[1], ranked[1][1], r.tiny)
    right = (best[0], f"Right: the highest score, {best[1]:.4f}.")
    wrong = [(label, f"Score {score:.4f}, ranked {ordinal(i + 2)}; {code(best[0])} scored {best[1]:.4f}.")
             for i, (label, score) in enumerate(ranked[1:])]
    options, key, why = arrange(right, wrong, rng)
    labels = list(r.item.extra)
    rng.shuffle(labels)  # named in an order of their own: neither the bank's nor the options'
    return Question(kind="zeroshot-label", topic="pipelines", inputs={"text": text, "labels": list(r.item.extra)},
                    prompt=f"Zero-shot classification reads {code(text)} with the labels "
                           + ", ".join(code(label) for label in labels) + ". Which label does it pick?",
                    options=options, key=key, why=why, **from_result(r.result),
                    explore=(Explore("Open as /zeroshot", "zeroshot",
                                     {"text": text, "labels": ", ".join(r.item.extra)}),))


@dataclass(frozen=True)
class Span:
    item: Item
    result: Result
    answer: str
    score: float
    runner_up: float
    tiny: bool


def measure_qa(ctx: TaskContext, item: Item) -> Span:
    context, question = item.text, (item.extra[0] if item.extra else "What is this about?")
    loaded = load(ctx, "qa", "extractive-qa")  # a chat model writes its answer: no span to ask about
    result = run_command(ctx, "qa", {"question": question, "context": context})
    answer, score = _rows(result)[0]
    return Span(Item(context, extra=(question,)), result, answer, score, _runner_up(loaded, question, context),
                loaded.spec.is_tiny)


def _runner_up(loaded: Any, question: str, context: str) -> float:
    """The second-best span's start x end probability (the first window, as short contexts have)."""
    import torch

    from core.tasks.qa import MAX_ANSWER_TOKENS
    from core.tasks.shared.base import forward

    enc = loaded.tokenizer(question, context, truncation="only_second", max_length=384, return_tensors="pt")
    outside = torch.tensor([s != 1 for s in enc.sequence_ids(0)])
    out = forward(loaded, enc)
    start = torch.softmax(out.start_logits[0].float().cpu().masked_fill(outside, -1e4), dim=-1)
    end = torch.softmax(out.end_logits[0].float().cpu().masked_fill(outside, -1e4), dim=-1)
    spans = torch.triu(start[:, None] * end[None, :]).tril(MAX_ANSWER_TOKENS - 1).flatten()
    return float(torch.topk(spans, 2).values[1])


def qa(s: Span, rng: random.Random) -> Question:
    context, question, answer = s.item.text, s.item.extra[0], s.answer
    if not answer.strip():
        raise NoQuestion("an empty answer span")
    lead(s.score, s.runner_up, s.tiny)
    right = (answer, f"Right: the span the model scored highest, start x end probability {s.score:.4f}.")
    wrong = [(span, f"The model scored the span {code(answer)} highest ({s.score:.4f}), not this one.")
             for span in _spans(context, answer, rng)]
    options, key, why = arrange(right, wrong, rng, context=context)
    return Question(kind="qa-span", topic="pipelines", inputs={"question": question, "context": context},
                    prompt=f"/qa reads the context {code(context)} and the question {code(question)}. "
                           "Which span does it answer with?",
                    options=options, key=key, why=why, **from_result(s.result),
                    explore=(Explore("Open as /qa", "qa", {"question": question, "context": context}),))


def _spans(context: str, answer: str, rng: random.Random) -> list[str]:
    """Spans of whole words of the context, up to two words longer than the answer, that neither hold
    the answer nor lie inside it: answers the same model could have given (its spans run from a token
    to a token, and may overlap the right one)."""
    found = list(SPAN_WORDS.finditer(context))
    most = len(SPAN_WORDS.findall(answer)) + 2
    spans = {context[a.start():b.end()] for i, a in enumerate(found) for b in found[i:i + most]}
    out = sorted(span for span in spans if span not in answer and answer not in span)
    rng.shuffle(out)
    return out


def _fill_item(text: str) -> Item | None:
    hidden = masked(text)
    return Item(hidden) if hidden else None


def _name_item(text: str) -> Item | None:
    name = name_word(text)
    return Item(text, name) if name else None


KINDS = (
    Kind("sentiment-90", "pipelines", "what score /sentiment gives a label", "sentiment",
         Steps(measure_sentiment, sentiment), bank.SENTIMENT, lambda text: Item(text), ("classifier", "chat")),
    Kind("fillmask-top", "pipelines", "fill-mask's top guess", "fillmask", Steps(measure_fill, fill), bank.FILL,
         _fill_item, ("masked-lm", "chat")),
    Kind("ner-type", "pipelines", "which label NER gives a word", "ner", Steps(measure_ner, ner), bank.NAMES,
         _name_item, ("token-classifier", "chat")),
    Kind("zeroshot-label", "pipelines", "which label zero-shot picks", "zeroshot", Steps(measure_zeroshot, zeroshot),
         bank.LABELS, lambda text: Item(text, extra=DEFAULT_LABELS), ("nli", "embedding")),
    Kind("qa-span", "pipelines", "which span /qa answers with", "qa", Steps(measure_qa, qa), bank.CONTEXTS,
         lambda text: Item(text, extra=("What is this about?",)), ("extractive-qa",)),
)
