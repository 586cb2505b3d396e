"""Spaced review, scheduled by FSRS (py-fsrs, the algorithm Anki ships).

A question kind answered wrongly becomes a review card. Every later counted answer of that kind (in
/quiz, /review or a lesson) reviews the card: a wrong answer is `Rating.Again`, a right one
`Rating.Good`, and FSRS sets the next due date from the card's stability and difficulty (a kind
missed again and again comes back sooner; one answered right moves out: 2 days, 6, 15...). A review
regenerates a fresh question of the kind on a text the learner has not seen lately (`seen`), so the
learner reviews a skill, not a question they could memorise.

Settings, and why: no learning steps (a missed kind comes back the next day, as a new question; /quiz
is there for more the same day); no fuzzing (a learner holds a few dozen cards at most, nothing to
spread, and due dates stay explainable); the default desired retention, 0.9.
"""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from fsrs import Card, Rating, Scheduler

from core.store.records import Review

SCHEDULER = Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)
SEEN = 5
"""How many of a kind's recent texts a review avoids."""


def next_review(current: Review | None, kind: str, topic: str, correct: bool, now: float,
                subject: str = "") -> Review | None:
    """The card after a counted answer on `subject` (the question's text): None when there is none
    and a right answer makes none."""
    if current is None and correct:
        return None
    when = datetime.fromtimestamp(now, UTC)
    card = Card.from_json(current.card) if current and current.card else Card(card_id=int(now * 1000), due=when)
    card, _ = SCHEDULER.review_card(card, Rating.Good if correct else Rating.Again, when)
    streak = (current.streak + 1 if current else 1) if correct else 0
    misses = (current.misses if current else 0) + (not correct)
    return Review(kind, topic, card.due.timestamp(), streak, misses, card.to_json(),
                  remember(current.seen if current else "", subject))


def remember(seen: str, subject: str) -> str:
    """The hashes of the kind's last `SEEN` texts, this one last (a hash: no learner's text is kept)."""
    if not subject:
        return seen
    mark = fingerprint(subject)
    kept = [h for h in seen.split() if h != mark]
    return " ".join([*kept, mark][-SEEN:])


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.strip().encode()).hexdigest()[:12]


class Seen:
    """The texts a review should avoid, as a container of texts (`text in seen`)."""

    def __init__(self, seen: str) -> None:
        self.marks = frozenset(seen.split())

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and fingerprint(text) in self.marks
