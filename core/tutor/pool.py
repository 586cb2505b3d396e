"""The question pool: questions computed ahead from the sentence bank, so /quiz never waits on a model.

A few questions per kind (`PER_KIND`) wait in memory; the pool is bounded. It refills one question at
a time, on the engine's worker pool and only while no request is in flight (`core.tutor.service`),
so a refill never delays a learner by more than one question's forward pass. A cold pool (just
started, or a kind asked for faster than it refills) computes the question on the spot; the caller
says so in the answer's notices. A kind whose model turns out to be of the wrong sort is set aside
with the reason (`unservable`); a kind that fails otherwise is retried after `RETRY_S`.

Each question is posed with a `Draw` whose key place comes from the kind's own shuffled deck of the
four places, so a kind's keys fill each letter a quarter of the time over any run of questions.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Container, Iterable

from core.context import TaskContext
from core.errors import UserError
from core.tutor.kinds import Kind
from core.tutor.options import OPTIONS, Draw
from core.tutor.questions import Item, NoQuestion, Question

log = logging.getLogger("tutor.pool")

PER_KIND = 2
RETRY_S = 600.0


class QuestionPool:
    def __init__(self, kinds: Iterable[Kind], *, per_kind: int = PER_KIND, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.kinds = {k.name: k for k in kinds}
        self.per_kind = per_kind
        self._ready: dict[str, deque[Question]] = {name: deque() for name in self.kinds}
        self._unservable: dict[str, str] = {}
        self._retry_at: dict[str, float] = {}
        self._decks: dict[str, list[int]] = {}
        self._rng = rng or random.Random()
        self._clock = clock
        self._lock = threading.Lock()

    def size(self, name: str | None = None) -> int:
        with self._lock:
            return sum(len(q) for n, q in self._ready.items() if name in (None, n))

    def unservable(self) -> dict[str, str]:
        with self._lock:
            return dict(self._unservable)

    def put(self, question: Question) -> None:
        """Add a ready question (a refill, or a benchmark recycling one), past the quota if need be."""
        with self._lock:
            self._ready[question.kind].append(question)

    def take(self, names: Iterable[str], avoid: Container[str] = ()) -> Question | None:
        """A ready question of one of these kinds (chosen at random among those that have one), on
        none of the texts in `avoid`."""
        with self._lock:
            ready = [n for n in names if any(q.subject not in avoid for q in self._ready.get(n, ()))]
            if not ready:
                return None
            queue = self._ready[self._rng.choice(ready)]
            found = next(q for q in queue if q.subject not in avoid)
            queue.remove(found)
            return found

    def draw(self, name: str, strict: bool = True) -> Draw:
        """The randomness one question of a kind is posed with; its key's place, and where it stands
        by length, closeness and order (`Draw.aims`), are dealt from the kind's decks (the four
        places, shuffled, dealt out, shuffled again). A strict draw is tried on item after item until
        one can meet it (see `core.tutor.options.Draw`)."""
        with self._lock:
            place, *aims = (self._deal(f"{name}:{what}") for what in ("place", "length", "closeness", "named"))
            return Draw(self._rng.getrandbits(64), place, strict, (aims[0], aims[1], aims[2]))

    def _deal(self, deck_name: str) -> int:
        deck = self._decks.setdefault(deck_name, [])
        if not deck:
            deck.extend(range(OPTIONS))
            self._rng.shuffle(deck)
        return deck.pop()

    def needy(self) -> str | None:
        """The kind with the fewest ready questions, below its quota; None when the pool is full."""
        now = self._clock()
        with self._lock:
            open_ = [n for n, q in self._ready.items()
                     if len(q) < self.per_kind and n not in self._unservable and self._retry_at.get(n, 0.0) <= now]
            return min(open_, key=lambda n: len(self._ready[n])) if open_ else None

    def fill_one(self, ctx: TaskContext) -> bool:
        """Compute one question for the neediest kind; False when there was nothing to do."""
        name = self.needy()
        if name is None:
            return False
        try:
            question = self.compute(ctx, name)
        except UserError:
            return True  # set aside by compute
        except NoQuestion as exc:  # no bank item gives this model a fair question: try again later
            log.warning("%s; retrying in %.0f s", exc, RETRY_S)
            self._later(name)
            return True
        except Exception:
            log.exception("could not compute a %s question; retrying in %.0f s", name, RETRY_S)
            self._later(name)
            return True
        self.put(question)
        return True

    def _later(self, name: str) -> None:
        with self._lock:
            self._retry_at[name] = self._clock() + RETRY_S

    def compute(self, ctx: TaskContext, name: str, item: Item | None = None,
                avoid: Container[str] = ()) -> Question:
        """One fresh question of a kind, by a model run now (a worker thread). `item` pins the input
        (a lesson's sentence); otherwise bank items are tried in random order, those in `avoid` (texts
        a learner saw already) last, every item of the bank if need be. `UserError` when the pack's model
        cannot serve this kind; `NoQuestion` when no item gives a fair question."""
        kind = self.kinds[name]
        items = [item] if item is not None else self._items(kind, avoid)
        draw = self.draw(name, strict=item is None)  # one place for the question, whichever item takes it
        for strict in dict.fromkeys((draw.strict, False)):  # none takes it strictly: the nearest place will do
            draw.strict = strict
            for candidate in items:
                try:
                    return kind.build(ctx, candidate, draw)
                except NoQuestion as exc:
                    log.debug("no %s question from %r: %s", name, candidate.text, exc)
                except UserError as exc:
                    with self._lock:
                        self._unservable[name] = exc.message
                    raise
        raise NoQuestion(f"no {name} question from any of {len(items)} texts")

    def _items(self, kind: Kind, avoid: Container[str]) -> list[Item]:
        with self._lock:
            items = list(kind.bank)
            self._rng.shuffle(items)
        return sorted(items, key=lambda i: i.text in avoid)
