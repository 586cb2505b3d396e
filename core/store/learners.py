"""Learners: who was active when, everything kept about one of them, and deleting it.

A learner is only a key (an HMAC of platform and user id, core/tutor/privacy.py). `export` and
`forget` walk `schema.LEARNER_COLUMNS`, every column that names a learner, so a new table that keeps
something about learners is exported and deleted as soon as it is listed there.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from core.store.database import Database
from core.store.records import Purged
from core.store.schema import LEARNER_COLUMNS, learners, rounds
from core.store.sql import as_dicts, upsert

DAY_S = 86400.0
ROUND_DAYS = 7.0
"""Quiz rounds (the question and who asked) are dropped after this many days; answers stay with the learner."""


class LearnerStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def touch(self, learner: str, now: float) -> None:
        """The learner was active now: retention counts from here."""
        with self.db.begin() as conn:
            upsert(conn, learners, {"id": learner, "first_seen": now, "last_seen": now}, ("id",),
                   {"last_seen": now})

    def export(self, learner: str) -> dict[str, list[dict[str, Any]]]:
        """Every row that names the learner, table by table."""
        out: dict[str, list[dict[str, Any]]] = {}
        with self.db.begin() as conn:
            for table, column in LEARNER_COLUMNS:
                rows = as_dicts(conn.execute(sa.select(table).where(table.c[column] == learner)))
                if rows:
                    out[table.name] = rows
        return out

    def forget(self, learner: str) -> int:
        """Delete every row that names the learner; returns how many. A channel's quiz round they asked
        stays for the others who answered it, without its asker; a round of their own (a DM, a lesson,
        a review, which may hold their sentence) goes."""
        removed = 0
        with self.db.begin() as conn:
            removed += conn.execute(sa.delete(rounds).where(rounds.c.asker == learner, rounds.c.solo)).rowcount
            conn.execute(sa.update(rounds).where(rounds.c.asker == learner).values(asker=None))
            for table, column in LEARNER_COLUMNS:
                if table is not rounds:
                    removed += conn.execute(sa.delete(table).where(table.c[column] == learner)).rowcount
        return removed

    def purge(self, now: float, retention_days: float) -> Purged:
        """Forget learners inactive for `retention_days`, and drop rounds older than `ROUND_DAYS`."""
        cutoff = now - retention_days * DAY_S
        with self.db.begin() as conn:
            stale = [row.id for row in conn.execute(sa.select(learners.c.id).where(learners.c.last_seen < cutoff))]
        for learner in stale:
            self.forget(learner)
        with self.db.begin() as conn:
            old = conn.execute(sa.delete(rounds).where(rounds.c.created < now - ROUND_DAYS * DAY_S)).rowcount
        return Purged(len(stale), old)
