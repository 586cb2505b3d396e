"""Quiz rounds and their answers: each learner's answer counts once per round, whatever the concurrency.

Counting once is the database's job, not a Python lock's: several bot processes may share one
PostgreSQL database. An answer is one transaction that first updates the round's row (only while
it is not revealed: that row lock, or SQLite's single writer, orders it against the reveal) and then
inserts the answer, which the unique constraint on (round, learner) refuses a second time. A reveal
is one `UPDATE ... WHERE revealed IS NULL`, so exactly one caller (the timer, the asker's button,
another process) closes a round.

A lesson's question (a round with a `step`) scores once per learner and step: its answer carries the
step, and a unique index on (learner, step) refuses a second one, which is then kept as practice
(no points, purpose `practice`): going Back, or opening the lesson again, farms nothing.

A step's question waits for its answer: coming back to the step before answering it (Back, /progress then
/learn) asks the same round again, its options in the same order, so a letter the learner read means what
they read, and a second draw teaches nothing about the first (`unanswered_at`, and `open` giving that round
back). Only the learner's own round (solo), in the conversation it was asked in, and only while none of their
answers is in it; once it is answered, the step asks afresh (a new pass through the path draws anew).
"""
from __future__ import annotations

import json
import secrets

import sqlalchemy as sa

from core.store.database import Database
from core.store.records import PRACTICE, Answer, Counted, Round
from core.store.schema import answers, rounds

ID_BYTES = 8


class RoundStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def open(self, *, place: str, grp: str | None, asker: str, solo: bool, purpose: str, kind: str, topic: str,
             question: str, now: float, seconds: float, step: str | None = None) -> str:
        """A new round's id; for a lesson step's question (`step`) that this learner's last round at the step asked
        already, here, and still waits for their answer: that round's id, open again if the lesson closed it when it
        moved on (`close_open`), so the buttons shown before keep their meaning."""
        round_id = secrets.token_urlsafe(ID_BYTES)
        with self.db.begin() as conn:
            if step is not None and solo and asker:
                last = _unanswered_at(conn, asker, step, place, purpose)
                if last is not None and json.loads(last.question) == json.loads(question) and conn.execute(
                        sa.update(rounds).where(rounds.c.id == last.id, rounds.c.answers == 0)
                        .values(revealed=None)).rowcount:
                    return last.id
            conn.execute(sa.insert(rounds).values(
                id=round_id, place=place, grp=grp, asker=asker, solo=solo, purpose=purpose, kind=kind, topic=topic,
                question=question, created=now, closes=now + seconds, revealed=None, answers=0, step=step))
        return round_id

    def get(self, round_id: str) -> Round | None:
        with self.db.begin() as conn:
            row = conn.execute(sa.select(rounds).where(rounds.c.id == round_id)).mappings().first()
        return Round(**row) if row is not None else None

    def current(self, place: str) -> Round | None:
        """The newest round of the place's group quiz that is not revealed yet."""
        with self.db.begin() as conn:
            row = conn.execute(sa.select(rounds).where(rounds.c.place == place, ~rounds.c.solo,
                                                       rounds.c.revealed.is_(None))
                               .order_by(rounds.c.created.desc()).limit(1)).mappings().first()
        return Round(**row) if row is not None else None

    def answer(self, round_: Round, learner: str, choice: int, correct: bool, points: int, now: float) -> Counted:
        """Count one answer, exactly once per learner and round; a lesson step's points once per learner
        and step (a second answer to the step is `PRACTICE`: kept, without points)."""
        try:
            return self._insert(round_, learner, choice, correct, points, now, round_.step)
        except sa.exc.IntegrityError:
            if round_.step is None or self.choice_of(round_.id, learner) is not None:
                return Counted.AGAIN
        try:  # the step scored already, in another round: this one is practice
            counted = self._insert(round_, learner, choice, correct, 0, now, None, PRACTICE)
        except sa.exc.IntegrityError:
            return Counted.AGAIN
        return Counted.PRACTICE if counted is Counted.COUNTED else counted

    def _insert(self, round_: Round, learner: str, choice: int, correct: bool, points: int, now: float,
                step: str | None, purpose: str | None = None) -> Counted:
        with self.db.begin() as conn:
            open_ = conn.execute(sa.update(rounds).where(rounds.c.id == round_.id, rounds.c.revealed.is_(None))
                                 .values(answers=rounds.c.answers + 1)).rowcount
            if not open_:
                known = conn.execute(sa.select(rounds.c.id).where(rounds.c.id == round_.id)).first()
                return Counted.CLOSED if known is not None else Counted.UNKNOWN
            conn.execute(sa.insert(answers).values(
                round_id=round_.id, learner=learner, grp=round_.grp, purpose=purpose or round_.purpose,
                kind=round_.kind, topic=round_.topic, choice=choice, correct=correct, points=points, at=now,
                step=step))
        return Counted.COUNTED

    def reveal(self, round_id: str, now: float) -> bool:
        """Close the round; True for the one caller that closed it."""
        with self.db.begin() as conn:
            return bool(conn.execute(sa.update(rounds).where(rounds.c.id == round_id, rounds.c.revealed.is_(None))
                                     .values(revealed=now)).rowcount)

    def answers_to(self, round_id: str) -> list[Answer]:
        with self.db.begin() as conn:
            rows = conn.execute(sa.select(answers.c.learner, answers.c.choice, answers.c.correct, answers.c.points,
                                          answers.c.purpose)
                                .where(answers.c.round_id == round_id).order_by(answers.c.id))
            return [Answer(r.learner, r.choice, bool(r.correct), r.points, r.purpose == PRACTICE) for r in rows]

    def asked_since(self, asker: str, since: float, *, besides: str = "") -> list[float]:
        """When each round this learner asked since `since` was opened, oldest first (the per-minute
        limit); rounds of the purpose `besides` not counted."""
        with self.db.begin() as conn:
            return [float(r.created) for r in conn.execute(
                sa.select(rounds.c.created).where(rounds.c.asker == asker, rounds.c.created > since,
                                                  rounds.c.purpose != besides)
                .order_by(rounds.c.created))]

    def open_count(self, asker: str, since: float, *, besides: str = "") -> int:
        """This learner's rounds still waiting for an answer, of those opened since `since`; rounds of the
        purpose `besides` not counted."""
        with self.db.begin() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(rounds).where(
                rounds.c.asker == asker, rounds.c.revealed.is_(None), rounds.c.created > since,
                rounds.c.purpose != besides)).scalar_one())

    def close_open(self, asker: str, purpose: str, now: float) -> int:
        """Close this learner's unanswered rounds of one purpose (a lesson moved on from its question)."""
        with self.db.begin() as conn:
            return conn.execute(sa.update(rounds).where(rounds.c.asker == asker, rounds.c.purpose == purpose,
                                                        rounds.c.revealed.is_(None)).values(revealed=now)).rowcount

    def trim(self, asker: str, keep: int, stale_before: float) -> int:
        """Delete this learner's rounds past their newest `keep`, closed or stale ones only (an open round
        is never taken from under its answerers); returns how many went. Their answers stay (progress)."""
        with self.db.begin() as conn:
            older = sa.select(rounds.c.id).where(rounds.c.asker == asker).order_by(
                rounds.c.created.desc(), rounds.c.id).offset(keep)
            ids = [r.id for r in conn.execute(older)]
            if not ids:
                return 0
            return conn.execute(sa.delete(rounds).where(
                rounds.c.id.in_(ids), sa.or_(rounds.c.revealed.is_not(None), rounds.c.created < stale_before))
            ).rowcount

    def answered_unrevealed(self, learner: str) -> set[str]:
        """The rounds this learner answered that are still waiting for their reveal."""
        with self.db.begin() as conn:
            return {r.round_id for r in conn.execute(
                sa.select(answers.c.round_id).join(rounds, rounds.c.id == answers.c.round_id)
                .where(answers.c.learner == learner, rounds.c.revealed.is_(None)))}

    def step_answered(self, learner: str, step: str) -> bool:
        """Whether the question this learner's lesson asked at `step` last is answered: none of their rounds at the
        step is open, and one of the newest holds their answer (an answer from an earlier pass through the path
        does not count: going through it again asks afresh)."""
        at_step = sa.and_(rounds.c.asker == learner, rounds.c.step == step)
        newest = sa.select(sa.func.max(rounds.c.created)).where(at_step).scalar_subquery()
        with self.db.begin() as conn:
            if conn.execute(sa.select(rounds.c.id).where(at_step, rounds.c.revealed.is_(None)).limit(1)).first():
                return False
            return conn.execute(sa.select(answers.c.id).join(rounds, rounds.c.id == answers.c.round_id).where(
                at_step, rounds.c.created == newest, answers.c.learner == learner).limit(1)).first() is not None

    def unanswered_at(self, learner: str, step: str, place: str, purpose: str = "lesson") -> Round | None:
        """The question this learner's lesson asked at `step` last, while it waits for their answer: their newest
        round at the step, when it is their own (solo), was asked in `place` and holds no answer, open or closed
        when the lesson moved on. None when it is answered (the step asks afresh: an earlier pass's answer too)
        or was asked in another conversation (its buttons are there)."""
        with self.db.begin() as conn:
            return _unanswered_at(conn, learner, step, place, purpose)

    def choice_of(self, round_id: str, learner: str) -> int | None:
        with self.db.begin() as conn:
            row = conn.execute(sa.select(answers.c.choice).where(answers.c.round_id == round_id,
                                                                 answers.c.learner == learner)).first()
        return None if row is None else int(row.choice)


def _unanswered_at(conn: sa.Connection, asker: str, step: str, place: str, purpose: str) -> Round | None:
    """As `step_answered` reads "last": the newest rounds at the step (several only where a clock stood still:
    then the open one, the learner's one open lesson question, is the last)."""
    at_step = sa.and_(rounds.c.asker == asker, rounds.c.step == step)
    newest = sa.select(sa.func.max(rounds.c.created)).where(at_step).scalar_subquery()
    rows = [Round(**row) for row in conn.execute(sa.select(rounds).where(at_step, rounds.c.created == newest)
                                                 .order_by(rounds.c.id)).mappings()]
    waiting = [r for r in rows if not r.answers and r.solo and r.place == place and r.purpose == purpose]
    open_ = [r for r in waiting if r.revealed is None]
    if open_:
        return open_[0]
    return None if any(r.answers for r in rows) or not waiting else waiting[0]
