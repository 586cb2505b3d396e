"""Pipeline questions: /sentiment's confidence, fill-mask's top guess, NER's type for a name, the label
zero-shot picks, the span /qa answers with.

Each runs the ordinary command on the worker thread (`run_command`), so the key, the table, the
explanation and the snippet are that command's own answer: the snippet prints the key.
"""
from __future__ import annotations

import random

from core.context import TaskContext
from core.errors import UserError
from core.markup import code
from core.tasks import ner as ner_task
from core.tasks.common import load
from core.tutor import bank
from core.tutor.kinds import Kind, run_command
from core.tutor.kinds.words import masked, name_word, span_of, words
from core.tutor.questions import Explore, Item, NoQuestion, Question, from_result, ordinal, shuffled

RANGES = ("under 50%", "50% to 70%", "70% to 90%", "over 90%")
NO_ENTITY = "no entity"
DEFAULT_LABELS = ("food", "sports", "politics", "weather")


def _rows(result: object, column: str = "score") -> list[tuple[str, float]]:
    """(first column, score) of each row of an ordinary command's table."""
    table = getattr(result, "table", None)
    if table is None:
        raise NoQuestion("the command gave no table")
    at = table.columns.index(column) if column in table.columns else len(table.columns) - 1
    return [(row[0], float(row[at])) for row in table.rows]


def sentiment(ctx: TaskContext, item: Item, rng: random.Random) -> Question:
    text = item.text
    result = run_command(ctx, "sentiment", {"text": text})
    scores = dict(_rows(result))
    positive = next((label for label in scores if label.lower().startswith("pos")), None)
    if positive is None:
        raise UserError("This pack's /sentiment model has no POSITIVE label to ask about.")
    p = scores[positive]
    band = 3 if p > 0.9 else 2 if p >= 0.7 else 1 if p >= 0.5 else 0
    got = f"{positive} got {p:.4f}"
    right = (RANGES[band], f"Right: {got}." + (" Over 90%: the model is very sure." if band == 3 else ""))
    wrong = [(r, f"{got}: {'below' if i > band else 'above'} this range.") for i, r in enumerate(RANGES) if i != band]
    options, key, why = shuffled(right, wrong, rng, order=RANGES.index)
    return Question(kind="sentiment-90", topic="pipelines", inputs={"text": text},
                    prompt=f"How sure is /sentiment that {code(text)} is {positive}?",
                    options=options, key=key, why=why, literal=False, **from_result(result),
                    explore=(Explore("Open as /sentiment", "sentiment", {"text": text}),))


def fill(ctx: TaskContext, item: Item, rng: random.Random) -> Question:
    text = item.text
    result = run_command(ctx, "fillmask", {"text": text, "top_k": 10})
    rows = _rows(result)
    if not rows[0][0].strip() or "\ufffd" in rows[0][0]:
        raise NoQuestion("the top guess is not a whole character")  # the key is the top guess, always
    ranked: list[tuple[str, float]] = []
    for token, score in rows:
        if token.strip() and "\ufffd" not in token and token not in (t for t, _ in ranked):
            ranked.append((token, score))
    if len(ranked) < 4:
        raise NoQuestion("fewer than four distinct guesses")
    right = (ranked[0][0], f"Right: the top guess, with probability {ranked[0][1]:.4f}.")
    wrong = [(t, f"Ranked {ordinal(i + 2)}, with probability {s:.4f}; the top guess was {code(ranked[0][0])} "
                 f"({ranked[0][1]:.4f}).") for i, (t, s) in enumerate(ranked[1:4])]
    options, key, why = shuffled(right, wrong, rng)
    return Question(kind="fillmask-top", topic="pipelines", inputs={"text": text},
                    prompt=f"What is fill-mask's top guess for the hidden word in {code(text)}?",
                    options=options, key=key, why=why, **from_result(result),
                    explore=(Explore("Open as /fillmask", "fillmask", {"text": text}),))


def ner(ctx: TaskContext, item: Item, rng: random.Random) -> Question:
    text, target = item.text, item.target
    span = span_of(text, target)
    if span is None:
        raise NoQuestion(f"{target!r} is not a word of {text!r}")
    types, entities = ner_task.entities(ctx, text)  # /ner's own run: the NER model's, or the stand-in's
    over = [e for e in entities if e["start"] < span[1] and e["end"] > span[0]]
    if len(types) < 3:
        raise UserError("This pack's /ner model has fewer than three entity types to choose from.")
    if over:
        found = over[0]
        key = found["entity_group"]
        part = "" if found["word"].replace("##", "").strip() == target else f" (the piece {code(found['word'])})"
        right = (key, f"Right: the model labelled {code(target)}{part} {key}, score {float(found['score']):.4f}.")
        given = f"{key} (score {float(found['score']):.4f})"
    else:
        key = NO_ENTITY
        right = (key, f"Right: no piece of {code(target)} got an entity label: the model put it outside any "
                      "entity (O).")
        given = "no entity label (O)"
    wrong = [(t, f"The model gave {code(target)} {given}, not {t}.") for t in [*types, NO_ENTITY] if t != key]
    rng.shuffle(wrong)
    result = run_command(ctx, "ner", {"text": text})
    options, key_index, why = shuffled(right, wrong, rng)
    return Question(kind="ner-type", topic="pipelines", inputs={"text": text, "target": target},
                    prompt=f"In {code(text)}, which entity type does /ner give {code(target)}?",
                    options=options, key=key_index, why=why, literal=False, **from_result(result),
                    explore=(Explore("Open as /ner", "ner", {"text": text}),))


def zeroshot(ctx: TaskContext, item: Item, rng: random.Random) -> Question:
    text, labels = item.text, list(item.extra or DEFAULT_LABELS)
    result = run_command(ctx, "zeroshot", {"text": text, "labels": ", ".join(labels)})
    ranked = _rows(result)
    best = ranked[0]
    right = (best[0], f"Right: the highest score, {best[1]:.4f}.")
    wrong = [(label, f"Score {score:.4f}, ranked {ordinal(i + 2)}; {code(best[0])} scored {best[1]:.4f}.")
             for i, (label, score) in enumerate(ranked[1:])]
    options, key, why = shuffled(right, wrong, rng)
    return Question(kind="zeroshot-label", topic="pipelines", inputs={"text": text, "labels": labels},
                    prompt=f"Zero-shot classification reads {code(text)} with the labels "
                           + ", ".join(code(label) for label in labels) + ". Which label does it pick?",
                    options=options, key=key, why=why, **from_result(result),
                    explore=(Explore("Open as /zeroshot", "zeroshot", {"text": text, "labels": ", ".join(labels)}),))


def qa(ctx: TaskContext, item: Item, rng: random.Random) -> Question:
    context, question = item.text, (item.extra[0] if item.extra else "What is this about?")
    load(ctx, "qa", "extractive-qa")  # a chat model writes its answer: no span to ask about
    result = run_command(ctx, "qa", {"question": question, "context": context})
    answer, score = _rows(result)[0]
    if not answer.strip():
        raise NoQuestion("an empty answer span")
    others = [w for w in dict.fromkeys(words(context)) if len(w) >= 3 and w not in answer and answer not in w]
    others.sort(key=lambda w: (not w[:1].isupper(), rng.random()))
    right = (answer, f"Right: the span the model scored highest, start x end probability {score:.4f}.")
    wrong = [(w, f"The model scored the span {code(answer)} highest ({score:.4f}), not this one.") for w in others]
    options, key, why = shuffled(right, wrong, rng)
    return Question(kind="qa-span", topic="pipelines", inputs={"question": question, "context": context},
                    prompt=f"/qa reads the context {code(context)} and the question {code(question)}. "
                           "Which span does it answer with?",
                    options=options, key=key, why=why, **from_result(result),
                    explore=(Explore("Open as /qa", "qa", {"question": question, "context": context}),))


def _fill_item(text: str) -> Item | None:
    hidden = masked(text)
    return Item(hidden) if hidden else None


def _name_item(text: str) -> Item | None:
    name = name_word(text)
    return Item(text, name) if name else None


KINDS = (
    Kind("sentiment-90", "pipelines", "how sure /sentiment is", "sentiment", sentiment, bank.SENTIMENT,
         lambda text: Item(text), ("classifier", "chat")),
    Kind("fillmask-top", "pipelines", "fill-mask's top guess", "fillmask", fill, bank.FILL, _fill_item,
         ("masked-lm", "chat")),
    Kind("ner-type", "pipelines", "which entity type NER gives a name", "ner", ner, bank.NAMES, _name_item,
         ("token-classifier", "chat")),
    Kind("zeroshot-label", "pipelines", "which label zero-shot picks", "zeroshot", zeroshot, bank.LABELS,
         lambda text: Item(text, extra=DEFAULT_LABELS), ("nli", "embedding")),
    Kind("qa-span", "pipelines", "which span /qa answers with", "qa", qa, bank.CONTEXTS,
         lambda text: Item(text, extra=("What is this about?",)), ("extractive-qa",)),
)
