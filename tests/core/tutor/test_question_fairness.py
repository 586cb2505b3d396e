"""Every question kind needs thought: over 200 generated questions per kind, on each pack that serves
it, no place, order or form of the options gives the key away.

Questions are made the way the product makes them: the kind's model run on an item (`Steps.measure`,
the bank's items and learner-like sentences), then the question posed from that run with a draw
from a real `QuestionPool` (`Steps.pose`), which deals the key's place. A run is the same for every
question on its item, so each item is measured once and posed many times (as the pool would over
many draws); the model work is what takes time, the posing is cheap. Measured per kind and pack:

- the key's place: each letter holds 20-30% of the keys;
- guessing rules, each scored by its expected accuracy (a tie among several options it points at
  counts as a random pick among them; a rule with nothing to say guesses at random): the longest and
  the shortest option, the largest and smallest number (ranges by their middle), the widest and
  narrowest range, the option closest to all the others, the first and last option named in the
  prompt, and "the only one" with a visible feature (bracketed, numeric, `##`, a space marker,
  capitalised, several words, punctuation, a position): none beats chance (25%) by more than 10
  points, and the longest option is the key at most a third of the time;
- near-ties: on trained models, an argmax key leads the runner-up by `MARGIN` in the scores the
  reveal's table shows, and a range question's value is clear of every cut (a tiny random twin's
  scores are flat, so there the key need only lead: see `core.tutor.options.TINY_MARGIN`);
- impossible distractors: each option is an answer the model and its tokenizer family could give
  (a split into pieces the vocabulary holds, with `##` where WordPiece puts it; a whole word with the
  key's space marker; a token of the text; a special token of the tokenizer; a span of the context...).

The figures are printed (`pytest -s`) for the closing note.
"""
from __future__ import annotations

import functools
import itertools
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from core.engine import Engine
from core.errors import UserError
from core.tutor.kinds import Kind, Steps, all_kinds
from core.tutor.options import FEATURES, MARGIN, Draw, NoQuestion, clearance, distance, token_form
from core.tutor.pool import QuestionPool
from core.tutor.questions import LETTERS, OPTIONS, Item, Question
from core.tutor.service import context_of

QUESTIONS = 200
CHANCE = 1 / OPTIONS
SLACK = 0.10
SOURCES = 3
"""A random twin's answers give a fair question on few texts (its top fill-mask guess is a byte piece,
not a word, on all but one of the bank's texts): with fewer texts than this behind its 200 questions,
they are 200 arrangements of one or two questions, and the guessing rules are reported, not judged."""
LEARNER_TEXTS = (
    "I really enjoyed the concert in Vienna last night.",
    "My grandmother bakes fresh bread every Sunday.",
    "The new phone from Samsung is surprisingly cheap.",
    "We learned Python with Ada at the library.",
    "The weather in Oslo turned cold very quickly.",
    "Our team lost the final because the goalkeeper slipped.",
    "She reads science fiction before she goes to bed.",
    "Transformers changed natural language processing forever.",
)
"""Sentences a learner might bring to a lesson ("use my own sentence"), made into items by each kind."""
NOT_SERVED = {("offline", "qa-span"): "the offline pack's /qa is a chat model that writes its answer: no span to ask "
                                     "about (sentiment, fill-mask and NER run through stand-ins: core/tasks/standins/)"}
"""The one kind a pack does not serve; every other kind is asked on both packs."""
RANGE = re.compile(r"(?:under (?P<under>[\d.]+)%|(?P<low>[\d.]+)% to (?P<high>[\d.]+)%|over (?P<over>[\d.]+)%)")


@dataclass
class Figures:
    pack: str
    kind: str
    items: int
    made: list[Question] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    seconds: tuple[float, float] = (0.0, 0.0)
    """Measuring the items (the model runs), posing the questions."""

    def shares(self) -> list[float]:
        places = Counter(q.key for q in self.made)
        return [places[i] / len(self.made) for i in range(OPTIONS)]


# --- making the questions ------------------------------------------------------------------------------------

def items_of(kind: Kind) -> list[Item]:
    learners = [kind.from_text(text) for text in LEARNER_TEXTS]
    return [*kind.bank, *(item for item in learners if item is not None)]


def generate(engine: Engine, kind: Kind, seed: int = 19) -> Figures:
    assert isinstance(kind.build, Steps), f"{kind.name} is not made in two steps"
    ctx = context_of(engine)
    runs: list[Any] = []
    figures = Figures(engine.pack.name, kind.name, 0)
    started = time.perf_counter()
    for item in items_of(kind):
        try:
            runs.append(kind.build.measure(ctx, item))
        except NoQuestion as exc:
            figures.refused[f"item: {exc}"[:60]] += 1
    figures.items = len(runs)
    assert runs, f"no item of {kind.name} could be measured on {engine.pack.name}: {figures.refused}"
    measured = time.perf_counter()
    pool, rng = QuestionPool([kind], rng=random.Random(seed)), random.Random(seed)
    for _ in range(QUESTIONS):
        figures.made.append(pose(kind, runs, pool.draw(kind.name), rng, figures.refused))
    figures.seconds = (measured - started, time.perf_counter() - measured)
    return figures


def pose(kind: Kind, runs: list[Any], draw: Draw, rng: random.Random, refused: Counter[str]) -> Question:
    """What `QuestionPool.compute` does with one draw: the items in random order, strictly first."""
    order = rng.sample(runs, len(runs))
    for strict in (True, False):
        draw.strict = strict
        for run in order:
            try:
                return kind.build.pose(run, draw)
            except NoQuestion as exc:
                refused[re.sub(r"[A-D]$|[\d.]+", "#", str(exc))[:60]] += 1
        refused["no item took the draw strictly"] += 1
    raise AssertionError(f"no {kind.name} question from any item: {refused}")


# --- the guessing rules ------------------------------------------------------------------------------------

def _number(option: str) -> float | None:
    found = RANGE.fullmatch(option)
    if found:
        low, high = _bounds(found)
        return (low + high) / 2
    try:
        return float(option)
    except ValueError:
        return None


def _bounds(found: re.Match[str]) -> tuple[float, float]:
    if found["under"]:
        return 0.0, float(found["under"])
    if found["over"]:
        return float(found["over"]), 100.0
    return float(found["low"]), float(found["high"])


def _extreme(values: list[float], pick: Callable[[list[float]], float]) -> list[int]:
    best = pick(values)
    return [i for i, v in enumerate(values) if v == best]


def _widths(options: tuple[str, ...]) -> list[float] | None:
    found = [RANGE.fullmatch(o) for o in options]
    if not all(found):
        return None
    return [high - low for low, high in (_bounds(f) for f in found if f)]


def _closest(options: tuple[str, ...]) -> list[int]:
    numbers = [_number(o) for o in options]
    if all(n is not None for n in numbers):
        spread = [sum(abs(a - b) for b in numbers) for a in numbers]  # type: ignore[operator]
    else:
        spread = [sum(distance(a, b) for b in options) for a in options]
    return _extreme(spread, min)


def _named(q: Question, pick: Callable[[list[float]], float]) -> list[int]:
    at = [float(q.prompt.find(o)) for o in q.options]
    named = [a for a in at if a >= 0]
    return [i for i, a in enumerate(at) if named and a == pick(named)]


def _only(has: Callable[[str], bool]) -> Callable[[Question], list[int]]:
    def rule(q: Question) -> list[int]:
        marks = [has(o) for o in q.options]
        return [marks.index(v) for v in (True, False) if marks.count(v) == 1]
    return rule


def _numbers(q: Question) -> list[float] | None:
    numbers = [_number(o) for o in q.options]
    return None if any(n is None for n in numbers) else numbers  # type: ignore[return-value]


def _unmasked(q: Question) -> list[int]:
    """The options the prompt shows before the row's own token ("token 4 ... scores every token: 0 `I` 2.46 · ..."),
    when only one is: knowing there is a mask would be enough to pick it."""
    row = re.search(r"token (\d+) `", q.prompt) if q.kind == "qkv-mask" else None
    if row is None:
        return []
    at = {token: int(j) for j, token in re.findall(r"(\d+) `([^`]+)` -?[\d.]+", q.prompt)}
    seen = [n for n, o in enumerate(q.options)
            if int(m[2] if (m := re.fullmatch(r"(.*) \((\d+)\)", o)) else at.get(o, -1)) <= int(row[1])]
    return seen if len(seen) == 1 else []


RULES: dict[str, Callable[[Question], list[int]]] = {
    "the only one the mask lets the row see": _unmasked,
    "longest": lambda q: _extreme([len(o) for o in q.options], max),
    "shortest": lambda q: _extreme([len(o) for o in q.options], min),
    "largest number": lambda q: _extreme(n, max) if (n := _numbers(q)) else [],
    "smallest number": lambda q: _extreme(n, min) if (n := _numbers(q)) else [],
    "widest range": lambda q: _extreme(w, max) if (w := _widths(q.options)) else [],
    "narrowest range": lambda q: _extreme(w, min) if (w := _widths(q.options)) else [],
    "closest to the others": lambda q: _closest(q.options),
    "first named in the prompt": lambda q: _named(q, min),
    "last named in the prompt": lambda q: _named(q, max),
    **{f"the only {name}": _only(has) for name, has in FEATURES.items()},
}


def accuracy(made: list[Question], rule: Callable[[Question], list[int]]) -> float:
    """The rule's expected hit rate: a random pick among the options it points at, or among all four
    when it points at none (or at one that a feature shares with no other: both ways round)."""
    total = 0.0
    for q in made:
        guesses = rule(q)
        total += (q.key in guesses) / len(guesses) if guesses else CHANCE
    return total / len(made)


# --- near-ties and impossible distractors ----------------------------------------------------------------

ARGMAX_KINDS = ("next-word", "fillmask-top", "zeroshot-label", "attention-top")
"""Kinds whose key is the top of the scores in the reveal's table (its second column)."""
ARGMAX_COLUMN = {"qkv-mask": 2, "template-first": 1}
"""Part IV's kinds whose token question (`literal`) is an argmax, and the table column of its scores: a head's
weights after the mask, the reply's first-token probabilities (their count questions are exact numbers)."""


def near_tie(q: Question, tiny: bool) -> str | None:
    """What makes this question a near-tie, read from its reveal's own table; None when it is clear."""
    column = ARGMAX_COLUMN.get(q.kind, 1)
    if (q.kind in ARGMAX_KINDS or (q.kind in ARGMAX_COLUMN and q.literal)) and q.table is not None:
        scores = sorted((float(row[column]) for row in q.table.rows), reverse=True)
        gap = scores[0] - scores[1]
        return None if gap >= MARGIN - 5e-5 else f"key leads by {gap:.4f}"
    value = _banded_value(q)
    if value is not None:
        cuts = sorted({c for o in q.options if (f := RANGE.fullmatch(o)) for c in _bounds(f)} - {0.0, 100.0})
        width = min(b - a for a, b in itertools.pairwise(cuts)) / 100 if len(cuts) > 1 else 1.0
        near = [c for c in cuts if abs(value - c / 100) < clearance(c / 100, width) - 5e-5]
        return f"{value:.4f} is next to the cut {near[0]}%" if near else None
    return None


def _banded_value(q: Question) -> float | None:
    if q.kind == "sentiment-90" and q.table is not None:
        return next(float(r[1]) for r in q.table.rows if r[0].lower().startswith("pos"))
    if q.kind == "attention-noop" and q.table is not None:
        return sum(float(r[1]) for r in q.table.rows if r[2] == "yes")
    return None


def impossible(q: Question, engine: Engine) -> list[str]:
    """The options that no model of this tokenizer family could give as the answer."""
    tok = engine.models.get("tokenize", engine.pack.spec("tokenize")).tokenizer if "tokenize" in \
        engine.pack.models else None
    check = CHECKS.get(q.kind)
    bad = [o for o in q.options if not o.strip() or any(ord(ch) < 32 for ch in o)]
    return bad + ([o for o in q.options if not check(q, o, tok, engine)] if check else [])


@functools.lru_cache(maxsize=2)  # the tiny and the offline pack's tokenizer
def vocabulary(tok: Any) -> frozenset[str]:
    """The tokenizer's pieces, read once: `get_vocab()` builds its 30,522 entries again on every call (tens of
    ms), and four options of two hundred questions each asked it, most of the token-split kind's time."""
    return frozenset(tok.get_vocab())


def _split_ok(q: Question, option: str, tok: Any, _engine: Engine) -> bool:
    vocab = vocabulary(tok)
    pieces = option.split(" ")
    word = "".join(p.removeprefix("##") for p in pieces)
    wordpiece = any(p.startswith("##") for p in q.answer.split(" "))
    right = "".join(p.removeprefix("##") for p in q.answer.split(" "))
    marked = all(p.startswith("##") for p in pieces[1:]) and not pieces[0].startswith("##") if wordpiece else True
    return word == right and marked and all(p in vocab for p in pieces)


def _text_token(q: Question, option: str, tok: Any, engine: Engine) -> bool:
    from core.tokens import readable_tokens

    spec = engine.pack.spec("attention" if q.kind == "attention-top" else "tokenize")
    tokenizer = engine.models.get("attention" if q.kind == "attention-top" else "tokenize", spec).tokenizer
    shown = readable_tokens(tokenizer, tokenizer.convert_ids_to_tokens(tokenizer(q.inputs["text"])["input_ids"]))
    return option.split(" (token ")[0] in shown or option in getattr(tokenizer, "all_special_tokens", ())


def _decoder_token(q: Question, option: str, _tok: Any, engine: Engine) -> bool:
    """A token of the question's text as the pack's decoder splits it (qkv-mask's options)."""
    from core.tokens import readable_tokens

    tokenizer = engine.models.get("qkv", engine.pack.spec("qkv")).tokenizer
    shown = readable_tokens(tokenizer, tokenizer.convert_ids_to_tokens(tokenizer(q.inputs["text"])["input_ids"]))
    return option.rsplit(" (", 1)[0] in shown


def _count(q: Question, option: str, most: int = 10_000) -> bool:
    return option.isdigit() and 0 <= int(option) <= most


def _share(option: str) -> bool:
    try:
        return 0.0 < float(option) <= 1.0
    except ValueError:
        return False


def _same_form(q: Question, option: str, _tok: Any, _engine: Engine) -> bool:
    key = token_form(q.answer.replace("␣", "Ġ"))
    form = token_form(option.replace("␣", "Ġ"))
    return form[0] == key[0] and form[1].isalpha()


CHECKS: dict[str, Callable[[Question, str, Any, Engine], bool]] = {
    "token-count": lambda q, o, t, e: o.isdigit() and int(o) >= 1,
    "pad-count": lambda q, o, t, e: o.isdigit(),
    "cls-id": _text_token,
    "token-split": _split_ok,
    "special-token": _text_token,
    "attention-top": _text_token,
    "next-word": _same_form,
    "fillmask-top": lambda q, o, t, e: o.isalpha(),
    "zeroshot-label": lambda q, o, t, e: o in q.inputs["labels"],
    "qa-span": lambda q, o, t, e: o in q.inputs["context"],
    "ner-type": lambda q, o, t, e: o.isupper(),
    "sentiment-90": lambda q, o, t, e: RANGE.fullmatch(o) is not None,
    "attention-noop": lambda q, o, t, e: RANGE.fullmatch(o) is not None,
    "causal-zeros": lambda q, o, t, e: _count(q, o),
    "qkv-mask": lambda q, o, t, e: _decoder_token(q, o, t, e) if q.literal else _count(q, o),
    "temperature-top": lambda q, o, t, e: _share(o),
    "template-first": lambda q, o, t, e: _same_form(q, o, t, e) if q.literal else _count(q, o) and int(o) >= 1,
}


# --- the test ------------------------------------------------------------------------------------------------

def report(f: Figures, rules: dict[str, float], ties: int) -> str:
    best = max(rules, key=lambda r: rules[r])
    refused = sum(n for r, n in f.refused.items() if not r.startswith("item:"))
    return (f"{f.pack:8} {f.kind:15} items {f.items:3} (asked {len({q.subject for q in f.made}):2})  places "
            + " ".join(f"{letter} {share:.0%}" for letter, share in zip(LETTERS, f.shares(), strict=True))
            + f"  best rule {best!r} {rules[best]:.0%} (chance {CHANCE:.0%})  longest {rules['longest']:.0%}"
            + f"  near-ties {ties}  refused {refused} {dict(f.refused)}"
            + f"  ({f.seconds[0]:.1f} s measuring, {f.seconds[1]:.1f} s posing)")


@pytest.fixture(params=("tiny", "offline"))
def engine(request: pytest.FixtureRequest) -> Engine:
    """The session's engine of each pack (conftest.py). Not module-scoped: that would keep every kind of a pack
    on one pytest-xdist worker (tests/conftest.py groups module fixtures), while each kind is seconds of work
    that any worker with the session's engine can do."""
    return request.getfixturevalue(f"{request.param}_engine")


@pytest.mark.parametrize("name", sorted(all_kinds()))
def test_two_hundred_questions_of_a_kind_give_nothing_away(engine: Engine, name: str):
    kind = all_kinds()[name]
    if not kind.serves(engine.pack):
        assert (engine.pack.name, name) in NOT_SERVED, f"the {engine.pack.name} pack no longer serves {name}"
        pytest.skip(NOT_SERVED[engine.pack.name, name])
    try:
        figures = generate(engine, kind)
    except UserError as exc:
        pytest.fail(f"{name} is declared served by {engine.pack.name} but refuses: {exc.message}")
    made = figures.made
    rules = {rule: accuracy(made, guess) for rule, guess in RULES.items()}
    tiny = engine.pack.spec(kind.needs).is_tiny
    ties = [(q.inputs, why) for q in made if (why := near_tie(q, tiny))]
    print("\n" + report(figures, rules, len(ties)) + (" (a random twin: flat scores, exempt)" if tiny else ""))
    assert all(0.20 <= share <= 0.30 for share in figures.shares()), figures.shares()
    bad = [(q.options, wrong) for q in made if (wrong := impossible(q, engine))]
    assert not bad, bad[:3]
    assert all(len(set(q.options)) == OPTIONS for q in made)
    sources = len({q.subject for q in made})
    if tiny and sources < SOURCES:
        pytest.skip(f"{name} on the random twin: fair questions from only {sources} text(s); rules not judged")
    leaks = {rule: hit for rule, hit in rules.items() if hit > CHANCE + SLACK}
    assert not leaks, f"{name} on {engine.pack.name}: these rules guess the key: {leaks}"
    assert rules["longest"] <= 1 / 3
    assert tiny or not ties, ties[:3]


def test_a_leaky_arrangement_is_caught():
    """The measures can fail: questions whose key is always the longest, and always at A, are flagged."""
    made = [Question(kind="x", topic="tokenizers", prompt="?", options=(f"long answer {i}", "b", "c", "d"), key=0,
                     why=("", "", "", ""), model="-", code="") for i in range(QUESTIONS)]
    figures = Figures("test", "x", 1, made)
    assert figures.shares()[0] == 1.0
    assert accuracy(made, RULES["longest"]) == 1.0 and accuracy(made, RULES["the only several words"]) == 1.0


def test_a_near_tie_and_an_impossible_distractor_are_caught(tiny_engine: Engine):
    """The other two measures can fail too: a key that leads by 0.02, and a split into a piece that the
    vocabulary lacks (or a continuation without its `##`)."""
    from dataclasses import replace

    from core.results import Table

    tied = Question(kind="next-word", topic="generation", prompt="?", options=("␣a", "␣b", "␣c", "␣d"), key=0,
                    why=("", "", "", ""), model="-", code="", table=Table(("token", "p"), (("␣a", "0.30"),
                                                                                         ("␣b", "0.28"))))
    assert near_tie(tied, tiny=False) == "key leads by 0.0200"
    assert near_tie(replace(tied, table=Table(("token", "p"), (("␣a", "0.30"), ("␣b", "0.20")))), False) is None
    kind = all_kinds()["token-split"]
    assert isinstance(kind.build, Steps)
    split = kind.build.pose(kind.build.measure(context_of(tiny_engine), Item("unbelievably")), Draw(1))
    assert not impossible(split, tiny_engine)
    wrong = 1 if split.key != 1 else 2
    for bad in ("unbelievab ##ly", "un bel ##ie ##va ##bly", "unb ##elievably"):
        options = tuple(bad if i == wrong else o for i, o in enumerate(split.options))
        assert impossible(replace(split, options=options), tiny_engine) == [bad]
