"""Spaced review: a documented simple schedule, not `fsrs`.

A question kind answered wrongly becomes a review item, due one day later. Each review regenerates
a fresh question of that kind from another sentence (the learner reviews a skill, not a card they
could memorise). A right answer moves the item three days on; two right answers in a row retire it;
a wrong one brings it back to one day.

Why uniform gaps and not FSRS: the meta-analysis behind spacing (Latimier, Peyre and Ramus 2021,
Educ. Psychol. Rev. 33:959) found spaced retrieval helps a lot (g = 0.74) but expanding gaps no
better than uniform ones; FSRS fits a memory model per card from a long review history, which a
regenerated question of a kind does not have, and would add a dependency for no measured gain.
"""
from __future__ import annotations

from core.store.records import Review

DAY_S = 86400.0
FIRST_GAP_DAYS = 1.0
GAP_DAYS = 3.0
RETIRE_AFTER = 2


def next_review(current: Review | None, kind: str, topic: str, correct: bool, now: float) -> Review | None:
    """The item after an answer: None when there is (or should be) no item."""
    if not correct:
        misses = (current.misses if current else 0) + 1
        return Review(kind, topic, now + FIRST_GAP_DAYS * DAY_S, 0, misses)
    if current is None:
        return None
    streak = current.streak + 1
    if streak >= RETIRE_AFTER:
        return None
    return Review(kind, topic, now + GAP_DAYS * DAY_S, streak, current.misses)
