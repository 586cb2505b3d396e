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
from core.store.schema import LEARNER_COLUMNS, LEARNING_TABLES, learners, meta, rounds
from core.store.sql import as_dicts, insert_missing, upsert

DAY_S = 86400.0
ROUND_DAYS = 7.0
"""Quiz rounds (the question and who asked) are dropped after this many days; answers stay with the learner."""
LEARNER_TABLES = tuple(dict.fromkeys(table for table, _ in LEARNER_COLUMNS))
FINGERPRINT = "secret_fingerprint"
"""The `tutor_meta` row that holds the fingerprint of the secret the learners are keyed with."""
ACTIVITY = ("at", "updated", "done", "joined", "created", "last_seen")
"""The column of a learner table that says when its row was written, the first of these it has: how
the purge dates rows whose learner has no `tutor_learners` row."""


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
        a review, which may hold their sentence) goes. Then the deleted bytes are taken off disk as far as
        the database allows (`Database.scrub`)."""
        removed = self._delete(learner)
        if removed:
            self.db.scrub(LEARNER_TABLES)
        return removed

    def _delete(self, learner: str) -> int:
        removed = 0
        with self.db.begin() as conn:
            removed += conn.execute(sa.delete(rounds).where(rounds.c.asker == learner, rounds.c.solo)).rowcount
            conn.execute(sa.update(rounds).where(rounds.c.asker == learner).values(asker=None))
            for table, column in LEARNER_COLUMNS:
                if table is not rounds:
                    removed += conn.execute(sa.delete(table).where(table.c[column] == learner)).rowcount
        return removed

    def purge(self, now: float, retention_days: float) -> Purged:
        """Forget learners inactive for `retention_days`, and drop rounds older than `ROUND_DAYS`.

        Learners are found through every learner column, not only `tutor_learners`: a process that saw a
        learner in the last hour writes their rows without touching that table (core/tutor/service.py),
        so rows written by another process just after their /forget have no learner row. Such a
        learner is dated by their newest row: forgotten when that is past the retention, else recorded
        in `tutor_learners` from then on."""
        cutoff = now - retention_days * DAY_S
        self._adopt(self._unlisted())
        with self.db.begin() as conn:
            stale = [row.id for row in conn.execute(sa.select(learners.c.id).where(learners.c.last_seen < cutoff))]
        for learner in stale:
            self._delete(learner)
        with self.db.begin() as conn:
            old = conn.execute(sa.delete(rounds).where(rounds.c.created < now - ROUND_DAYS * DAY_S)).rowcount
        if stale or old:
            self.db.scrub(LEARNER_TABLES)
        return Purged(len(stale), old)

    def keyed_with(self, fingerprint: str) -> str:
        """The fingerprint of the secret this database's learners are keyed with; `fingerprint` becomes it
        when none is recorded (a new database, or one from before fingerprints). One statement decides, so
        of two processes starting at once with different secrets, exactly one is refused."""
        with self.db.begin() as conn:
            insert_missing(conn, meta, {"key": FINGERPRINT, "value": fingerprint}, ("key",))
            return str(conn.execute(sa.select(meta.c.value).where(meta.c.key == FINGERPRINT)).scalar_one())

    def fingerprint(self) -> str | None:
        """The recorded fingerprint, if any (read only: `tutor doctor`)."""
        with self.db.begin() as conn:
            return conn.execute(sa.select(meta.c.value).where(meta.c.key == FINGERPRINT)).scalar_one_or_none()

    def start_afresh(self, fingerprint: str) -> dict[str, int]:
        """A new secret (`tutor rotate-secret`): every row keyed with the old one is deleted (learners,
        places and groups alike: no key can be moved, the ids they were made from are not kept) and the
        new secret's fingerprint recorded, in one transaction. Rows deleted, by table."""
        deleted: dict[str, int] = {}
        with self.db.begin() as conn:
            for table in reversed(LEARNING_TABLES):
                deleted[table.name] = conn.execute(sa.delete(table)).rowcount
            upsert(conn, meta, {"key": FINGERPRINT, "value": fingerprint}, ("key",), {"value": fingerprint})
        self.db.scrub(LEARNING_TABLES)
        return deleted

    def _unlisted(self) -> dict[str, float]:
        """Learners with rows but no `tutor_learners` row, and when each was last active (as far as
        their rows say; a table with no time column dates them at 0, so it never keeps them)."""
        found: dict[str, float] = {}
        with self.db.begin() as conn:
            for table, column in LEARNER_COLUMNS:
                if table is learners:
                    continue
                key = table.c[column]
                when = next((table.c[name] for name in ACTIVITY if name in table.c), None)
                latest = sa.func.max(when) if when is not None else sa.literal(0.0)
                query = (sa.select(key, latest).where(key.is_not(None), key.not_in(sa.select(learners.c.id)))
                         .group_by(key))
                for learner, at in conn.execute(query):
                    found[learner] = max(found.get(learner, 0.0), float(at or 0.0))
        return found

    def _adopt(self, unlisted: dict[str, float]) -> None:
        """Record each unlisted learner as last active at their newest row, so retention counts from there."""
        if not unlisted:
            return
        with self.db.begin() as conn:
            for learner, at in unlisted.items():  # a learner who came back meanwhile keeps their newer row
                insert_missing(conn, learners, {"id": learner, "first_seen": at, "last_seen": at}, ("id",))
