"""Fair options: four answers whose form gives nothing away, so a question needs thought, not a trick.

A multiple-choice question leaks its key when something other than the subject picks it out: the
key always in one place, numbers sorted with the key at one end, the key the longest option or the one
closest to all the others (distractors made by perturbing the key cluster around it), the only
bracketed one, the first label the prompt names. Every kind builds its options here:

- `arrange`: options with no natural order (tokens, labels, spans, splits). From the kind's candidate
  distractors (most plausible first) it picks the three that leave the key where the draw's `aims`
  say by length, by closeness to the others and by where it appears in the prompt's text, and that
  never leave the key alone with a visible feature (brackets, `##`, a space marker, digits...).
- `ranked`: numbers, shown in ascending order; the key's rank among them is the place drawn.
- `banded`: a score as four adjacent ranges of one width, low to high, the value in the range at the
  place drawn and never close to a cut.
- `lead`: an argmax question (the top token, the top label) is asked only when the key leads its
  runner-up by `MARGIN`; a near-tie is `NoQuestion`.
- `whole_words`: distractor tokens a model of the key's tokenizer family could answer with.

Where the key goes is the caller's `Draw.place`: the question pool deals places (and aims) per kind
from shuffled decks (core/tutor/pool.py), so each letter holds a quarter of a kind's keys over any
run of questions, not just on average; an item that cannot meet a draw gives way to another.
tests/core/tutor/test_question_fairness.py generates 200 questions per kind on each pack and measures all this.
"""
from __future__ import annotations

import difflib
import itertools
import random
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

OPTIONS = 4
MARGIN = 0.05
"""An argmax question's key leads its runner-up by at least this (a probability or an attention weight)."""
TINY_MARGIN = 0.0
"""A tiny random twin's scores are flat by construction (its weights are random: top probabilities of
0.0014 and 0.0013, equal at the four decimals a table shows), so `MARGIN` would refuse every argmax
question on the tiny pack, whose questions exist to run the code paths in CI and no learner's: there
the key need only come first."""
POOL = 9
"""Distractor candidates considered (the most plausible first): enough to balance the forms."""
Option = tuple[str, str]
"""An option's text and why it is right or wrong."""
Valued = tuple[float, str, str]
"""A numeric option: its value, its text and why."""


class NoQuestion(Exception):
    """This item gives no fair question with this model (too few distinct options, a near-tie...)."""


class Draw(random.Random):
    """The randomness one question is posed with, and the place (0-3) its key goes to.

    The pool deals places (and `aims`) from shuffled decks per kind and tries item after item with one
    draw: `strict`, so an item that cannot put the key at that place (its numbers do not allow it), or
    whose candidates would leave the key the shortest, say, when the aim is the longest, gives way to
    another, and what the questions asked show stays uniform. A question pinned to one item (a
    lesson's sentence) is not strict: its key takes the nearest place the item allows. A plain
    `random.Random` gets a random place."""

    def __init__(self, seed: object = None, place: int | None = None, strict: bool = False,
                 aims: tuple[int, int, int] | None = None) -> None:
        super().__init__(seed)
        self.place = self.randrange(OPTIONS) if place is None else place
        self.strict = strict
        self.aims = aims or (self.randrange(OPTIONS), self.randrange(OPTIONS), self.randrange(OPTIONS))
        """Where the key stands among the options by length, by closeness to the others and by where
        it appears in the prompt's text (`stands`): 0 first (shortest, closest, first named), 3 last."""


def aims_of(rng: random.Random) -> tuple[int, int, int]:
    if isinstance(rng, Draw):
        return rng.aims
    return rng.randrange(OPTIONS), rng.randrange(OPTIONS), rng.randrange(OPTIONS)


def stands(values: Sequence[float], aim: int) -> bool:
    """Whether the key (values[0]) stands where `aim` says: 0 the least (ties allowed), 3 the most,
    1 or 2 strictly between; all equal stands anywhere."""
    key, low, high = values[0], min(values), max(values)
    if low == high:
        return True
    if aim == 0:
        return key == low
    if aim == OPTIONS - 1:
        return key == high
    return low < key < high


def place_of(rng: random.Random) -> int:
    return rng.place if isinstance(rng, Draw) else rng.randrange(OPTIONS)


def settle(allowed: Sequence[int], rng: random.Random) -> int:
    """The place the key takes among the `allowed` ones: the drawn place, else the nearest (or, for a
    strict draw, `NoQuestion`, so the caller tries another item)."""
    want = place_of(rng)
    if want not in allowed and isinstance(rng, Draw) and rng.strict:
        raise NoQuestion(f"this item cannot put its key at {'ABCD'[want]}")
    return min(allowed, key=lambda r: (abs(r - want), rng.random()))


def lead(top: float, runner_up: float, tiny: bool = False) -> None:
    """`NoQuestion` unless the key leads its runner-up clearly (see `MARGIN`, `TINY_MARGIN`)."""
    need = TINY_MARGIN if tiny else MARGIN
    if top - runner_up < need:
        raise NoQuestion(f"a near-tie: the key leads its runner-up by {top - runner_up:.4f} (< {need})")


# --- the surface features a guesser could use -------------------------------------------------------------

FEATURES: dict[str, Callable[[str], bool]] = {
    "bracketed": lambda s: bool(re.fullmatch(r"\[.*\]|<.*>", s.split(" (")[0])),
    "numeric": lambda s: bool(re.fullmatch(r"[\d.,%\s-]+", s)),
    "continuation": lambda s: "##" in s,
    "space marker": lambda s: any(m in s for m in ("␣", "Ġ", "▁")),
    "capitalised": lambda s: s[:1].isupper(),
    "several words": lambda s: " " in s.strip(),
    "punctuation": lambda s: bool(s.strip()) and not any(ch.isalnum() for ch in s),
    "position": lambda s: "(token " in s,
}


def distance(a: str, b: str) -> float:
    """How unlike two options read (0 the same, 1 nothing shared)."""
    return 1.0 - difflib.SequenceMatcher(None, a, b).ratio()


def first_seen(options: Sequence[str], context: str) -> list[float]:
    """Where each option first appears in the context (the end of it when it does not)."""
    return [float(context.find(o)) if o in context else float(len(context) + 1) for o in options]


# --- tokens as options ---------------------------------------------------------------------------------

MARKERS = ("##", "Ġ", "▁")
"""`##` continues a word (WordPiece); `Ġ` and `▁` start one after a space (byte-level BPE, SentencePiece)."""


def token_form(raw: str) -> tuple[str, str]:
    """A token's marker and the rest."""
    marker = next((m for m in MARKERS if raw.startswith(m)), "")
    return marker, raw[len(marker):]


Scored = TypeVar("Scored", bound=tuple)


def spaced(tokenizer: object) -> bool:
    """Whether this tokenizer's words carry a space marker (byte-level BPE's `Ġ`, SentencePiece's `▁`):
    there a token without one, after a space, is the rest of a word, not a word."""
    pieces = getattr(tokenizer, "tokenize", lambda _: [])("a b")
    return any(str(p).startswith(("Ġ", "▁")) for p in pieces)


def whole_words(tokens: Sequence[Scored], marked: bool) -> list[Scored]:
    """The tokens that are whole words of the same form as the first (the key), or [] when the key
    is not one: each a tuple of the raw token, the token as shown, ...; best first. A whole word is
    letters once shown (a byte-level piece such as `Ê` is not), not a `##` continuation, and carries
    the space marker where the tokenizer's words do (`marked`, see `spaced`): a distractor a model
    of this tokenizer family could give."""
    marker = token_form(tokens[0][0])[0]
    if marker == "##" or marked != bool(marker):
        return []
    return [t for t in tokens if token_form(t[0])[0] == marker
            and str(t[1]).lstrip("␣ ").isascii() and str(t[1]).lstrip("␣ ").isalpha()]


# --- unordered options -------------------------------------------------------------------------------------

def arrange(right: Option, wrong: Sequence[Option], rng: random.Random, context: str = "",
            side: Callable[[str], object] | None = None) -> tuple[tuple[str, ...], int, tuple[str, ...]]:
    """Four options, the key at the drawn place: the options, the key's index and the reasons.

    `wrong` lists candidate distractors, most plausible first; the first `POOL` distinct ones are
    considered. `context` is the text the prompt quotes (a QA context), so that where the options
    appear in it says nothing either. `side` sorts options by what the prompt lets a learner see of them
    (a token before or after the masked row's own): the key must not be the only one of its side, as a
    feature of its form must not single it out. Fewer than three distinct distractors is `NoQuestion`."""
    pool: list[Option] = []
    for option in wrong:
        if option[0] != right[0] and option[0] not in (p[0] for p in pool):
            pool.append(option)
        if len(pool) == POOL:
            break
    if len(pool) < OPTIONS - 1:
        raise NoQuestion(f"only {len(pool) + 1} distinct options")
    aims = aims_of(rng)
    texts = [right[0], *(p[0] for p in pool)]
    apart = [[distance(a, b) for b in texts] for a in texts]
    seen = first_seen(texts, context) if context and right[0] in context else None
    marks = [[has(t) for has in FEATURES.values()] + ([side(t)] if side else []) for t in texts]

    def misses(chosen: tuple[int, ...]) -> int:
        """How many of the aims these distractors miss (length, closeness, where named)."""
        at = (0, *(i + 1 for i in chosen))
        missed = not stands([len(texts[i]) for i in at], aims[0])
        missed += not stands([sum(apart[i][j] for j in at) for i in at], aims[1])
        return missed + (seen is not None and not stands([seen[i] for i in at], aims[2]))

    def cost(chosen: tuple[int, ...]) -> float:
        """The aims missed, 2 for each feature that singles the key out, a little for plausibility
        (earlier candidates) and a little noise to break ties."""
        at = (0, *(i + 1 for i in chosen))
        odd = sum(1 for f in range(len(marks[0])) if [marks[i][f] for i in at].count(marks[0][f]) == 1)
        return misses(chosen) + 2.0 * odd + 0.02 * sum(chosen) / len(pool) + 0.01 * rng.random()

    best = min(itertools.combinations(range(len(pool)), OPTIONS - 1), key=cost)
    if isinstance(rng, Draw) and rng.strict and misses(best):
        raise NoQuestion("the options' forms would single the key out")
    others = [pool[i] for i in best]
    rng.shuffle(others)
    place = place_of(rng)
    pairs = [*others[:place], right, *others[place:]]
    return tuple(p[0] for p in pairs), place, tuple(p[1] for p in pairs)


# --- numbers -----------------------------------------------------------------------------------------------

def ranked(right: Valued, candidates: Sequence[Valued],
           rng: random.Random) -> tuple[tuple[str, ...], int, tuple[str, ...]]:
    """Four numbers in ascending order, the key's rank the drawn place where the candidates allow
    it (else the nearest rank they allow). `candidates` are the distractors, the most plausible
    first; on each side of the key the chosen ones are drawn among the first few."""
    lows = _distinct(candidates, right, lambda v: v < right[0])
    highs = _distinct(candidates, right, lambda v: v > right[0])
    allowed = ranks(len(lows), len(highs))
    if not allowed:
        raise NoQuestion("too few numbers around the key")
    at = settle(allowed, rng)
    chosen = _some(lows, at, rng) + _some(highs, OPTIONS - 1 - at, rng) + [right]
    chosen.sort(key=lambda v: v[0])
    return tuple(v[1] for v in chosen), chosen.index(right), tuple(v[2] for v in chosen)


def ranks(lows: int, highs: int) -> list[int]:
    """The ranks a key can take with this many candidates below and above it."""
    return [r for r in range(OPTIONS) if r <= lows and OPTIONS - 1 - r <= highs]


def _distinct(values: Sequence[Valued], right: Valued, side: Callable[[float], bool]) -> list[Valued]:
    out: list[Valued] = []
    for value in values:
        if side(value[0]) and value[1] != right[1] and all(value[0] != v[0] for v in out):
            out.append(value)
    return out


def _some(values: list[Valued], n: int, rng: random.Random) -> list[Valued]:
    """n of the first n + 2 candidates, at random: plausible, yet not always the same neighbours."""
    return rng.sample(values[:n + 2], n) if n else []


# --- ranges ------------------------------------------------------------------------------------------------

WIDTHS = (0.25, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.001)
"""How wide a question's four ranges are (all four alike, so no width gives the key away): the widest
that fits, down to tenths of a percent for scores that sit near 0 or 1."""


def clearance(cut: float, width: float) -> float:
    """How far a value must stay from a cut to be asked: 0.02, less in narrow ranges (a quarter of the
    width) and near 0 and 1 (0.99 vs 0.995)."""
    return min(0.02, width / 4, 0.25 * min(cut, 1.0 - cut))


def percent(share: float) -> str:
    return f"{round(share * 100, 4):g}%"


def band(low: float, high: float) -> str:
    if low <= 1e-9:
        return f"under {percent(high)}"
    if high >= 1 - 1e-9:
        return f"over {percent(low)}"
    return f"{percent(low)} to {percent(high)}"


def layouts(value: float) -> dict[int, tuple[float, ...]]:
    """For each place the value can take: the edges of four adjacent ranges of one width, the widest
    that puts it there, on a grid of that width (or the grid shifted by half of it), clear of every
    cut by `clearance`."""
    found: dict[int, tuple[float, ...]] = {}
    for width in WIDTHS:
        for shift in (0.0, width / 2) if (width * 50).is_integer() else (0.0,):  # 5%, not 2.5%
            k = int((value - shift) // width)
            for place in range(OPTIONS):
                low = shift + (k - place) * width
                edges = tuple(round(low + i * width, 6) for i in range(OPTIONS + 1))
                if place in found or edges[0] < -1e-9 or edges[-1] > 1 + 1e-9:
                    continue
                if all(abs(value - e) >= clearance(e, width) for e in edges if 0 < e < 1):
                    found[place] = edges
    return found


def banded(value: float, rng: random.Random, right: Callable[[str], str],
           wrong: Callable[[str, bool], str]) -> tuple[tuple[str, ...], int, tuple[str, ...]]:
    """Four adjacent ranges of one width of a share in [0, 1], low to high ("40% to 50%" ... "70% to
    80%"), with `value` in the range at the drawn place (see `settle`), clear of every cut.
    `right(range)` and `wrong(range, value_is_above_it)` say why.

    Ranges of one width leave nothing to guess from: ranges that covered 0 to 1 would make the key's
    the widest whenever it is the first or the last (a range that holds a given point tends to be a
    long one)."""
    found = layouts(value)
    if not found:
        raise NoQuestion(f"no ranges fit around {value:.4f}")
    at = settle(sorted(found), rng)
    options = tuple(band(a, b) for a, b in itertools.pairwise(found[at]))
    why = tuple(right(o) if i == at else wrong(o, i < at) for i, o in enumerate(options))
    return options, at, why
