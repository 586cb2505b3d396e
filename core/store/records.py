"""The store's records: plain values its queries return, importable without SQLAlchemy.

The tutor's modules name these in their own code; only the stores themselves (core/store/*.py) need
the database library, and they are opened on first use, so a start that never touches the database
(`tutor ask "/tokenize ..."`) does not import it.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

PRACTICE = "practice"
"""The purpose an answer is kept under when the learner had answered its lesson step before: it earns
no points and moves no review (core/store/rounds.py)."""


@dataclass(frozen=True)
class Review:
    kind: str
    topic: str
    due: float
    streak: int
    misses: int
    card: str | None = None
    """The FSRS card (py-fsrs's JSON: stability, difficulty, state, due, last review); None for an item
    kept before the tutor scheduled with FSRS."""
    seen: str = ""
    """Short hashes of the texts its recent questions were about, space-separated: a review avoids them."""


@dataclass(frozen=True)
class Tally:
    topic: str
    answered: int
    right: int


@dataclass(frozen=True)
class LessonState:
    position: int
    sentence: str | None


class Counted(StrEnum):
    COUNTED = "counted"
    AGAIN = "again"
    """This learner already answered this round."""
    CLOSED = "closed"
    """The round was revealed already."""
    UNKNOWN = "unknown"
    """No such round (expired, or a forged id)."""
    PRACTICE = "practice"
    """Kept, without points or a review: this learner already answered this lesson step once."""


@dataclass(frozen=True)
class Round:
    id: str
    place: str
    grp: str | None
    asker: str | None
    solo: bool
    purpose: str
    kind: str
    topic: str
    question: str
    created: float
    closes: float
    revealed: float | None
    answers: int
    step: str | None = None
    """For a lesson's question: the lesson and step it belongs to (`sentiment:predict`)."""


@dataclass(frozen=True)
class Answer:
    learner: str
    choice: int
    correct: bool
    points: int
    practice: bool = False
    """A lesson step answered again: kept without points (core/store/rounds.py)."""


@dataclass(frozen=True)
class Standing:
    learner: str
    name: str
    points: int
    answered: int
    right: int


@dataclass(frozen=True)
class Purged:
    learners: int
    rounds: int
