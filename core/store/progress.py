"""Each learner's progress: accuracy per topic, spaced review items, and where their lesson stands."""
from __future__ import annotations

import sqlalchemy as sa

from core.store.database import Database
from core.store.records import PRACTICE, LessonState, Review, Tally
from core.store.schema import answers, lessons, lessons_done, reviews
from core.store.sql import upsert


def _review(row: sa.Row) -> Review:
    return Review(row.kind, row.topic, row.due, row.streak, row.misses, row.card, row.seen or "")


class ProgressStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- accuracy ---------------------------------------------------------------------------------------
    def tallies(self, learner: str) -> list[Tally]:
        """Answers and right ones per topic; a lesson step answered again (practice) is not counted."""
        right = sa.func.sum(sa.case((answers.c.correct, 1), else_=0))
        with self.db.begin() as conn:
            rows = conn.execute(sa.select(answers.c.topic, sa.func.count(), right)
                                .where(answers.c.learner == learner, answers.c.purpose != PRACTICE)
                                .group_by(answers.c.topic).order_by(answers.c.topic))
            return [Tally(topic, int(n), int(r or 0)) for topic, n, r in rows]

    # --- spaced review ----------------------------------------------------------------------------------
    def review(self, learner: str, kind: str) -> Review | None:
        with self.db.begin() as conn:
            row = conn.execute(sa.select(reviews).where(reviews.c.learner == learner, reviews.c.kind == kind)).first()
        return None if row is None else _review(row)

    def put_review(self, learner: str, review: Review, now: float) -> None:
        values = {"learner": learner, "kind": review.kind, "topic": review.topic, "due": review.due,
                  "streak": review.streak, "misses": review.misses, "updated": now, "card": review.card,
                  "seen": review.seen}
        with self.db.begin() as conn:
            upsert(conn, reviews, values, ("learner", "kind"),
                   {k: values[k] for k in ("due", "streak", "misses", "updated", "topic", "card", "seen")})

    def retire(self, learner: str, kind: str) -> None:
        with self.db.begin() as conn:
            conn.execute(sa.delete(reviews).where(reviews.c.learner == learner, reviews.c.kind == kind))

    def reviews(self, learner: str) -> list[Review]:
        """Every review item of the learner, the most overdue first."""
        with self.db.begin() as conn:
            rows = conn.execute(sa.select(reviews).where(reviews.c.learner == learner).order_by(reviews.c.due))
            return [_review(r) for r in rows]

    # --- lessons ----------------------------------------------------------------------------------------
    def lesson(self, learner: str) -> LessonState | None:
        with self.db.begin() as conn:
            row = conn.execute(sa.select(lessons).where(lessons.c.learner == learner)).first()
        return None if row is None else LessonState(row.position, row.sentence)

    def put_lesson(self, learner: str, state: LessonState, now: float) -> None:
        values = {"learner": learner, "position": state.position, "sentence": state.sentence, "updated": now}
        with self.db.begin() as conn:
            upsert(conn, lessons, values, ("learner",),
                   {"position": state.position, "sentence": state.sentence, "updated": now})

    def finish_lesson(self, learner: str, lesson: str, now: float) -> None:
        with self.db.begin() as conn:
            upsert(conn, lessons_done, {"learner": learner, "lesson": lesson, "done": now}, ("learner", "lesson"),
                   {"done": now})

    def lessons_done(self, learner: str) -> list[str]:
        with self.db.begin() as conn:
            rows = conn.execute(sa.select(lessons_done.c.lesson).where(lessons_done.c.learner == learner))
            return [r.lesson for r in rows]
