"""Runs behind buttons: an answer's input kept under a short id, so a button's id can stay short.

A Discord `custom_id` holds 100 characters, far less than a learner's text. The answer's
actions name the run (`run=k3x9...`); a click looks the run up, adds what the button changes,
and runs the command again. Runs expire after 7 days (`RunStore(days=...)`): a click on an
older answer says so and how to ask again.

The same store keeps the key that seals every action id (core/actions.py): one random key in
`tutor_meta`, made by the first process that needs it, so every process on one database seals and
checks alike, and a restart keeps the buttons already sent working. It names no one.
"""
from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from core.store.database import Database
from core.store.schema import meta, runs

DAY_S = 86400.0
ID_BYTES = 6
"""8 url-safe characters: 2**48 ids, enough that guessing another learner's run is hopeless."""
ACTION_KEY = "action_key"
KEY_BYTES = 32


class RunStore:
    def __init__(self, db: Database, *, days: float = 7.0, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.max_age_s = days * DAY_S
        self._clock = clock
        self._key: bytes | None = None

    def action_key(self) -> bytes:
        """The key that seals action ids: read once, made on first use (the first process to insert wins)."""
        if self._key is None:
            with self.db.begin() as conn:
                found = conn.execute(sa.select(meta.c.value).where(meta.c.key == ACTION_KEY)).scalar()
            if found is None:
                try:
                    with self.db.begin() as conn:
                        conn.execute(sa.insert(meta).values(key=ACTION_KEY, value=secrets.token_hex(KEY_BYTES)))
                except sa.exc.IntegrityError:  # another process made it first: use theirs
                    pass
                with self.db.begin() as conn:
                    found = conn.execute(sa.select(meta.c.value).where(meta.c.key == ACTION_KEY)).scalar_one()
            self._key = bytes.fromhex(found)
        return self._key

    def put(self, command: str, args: dict[str, Any]) -> str:
        """Store one run; returns its id. Expired runs are dropped in the same transaction."""
        run_id = secrets.token_urlsafe(ID_BYTES)
        now = self._clock()
        with self.db.begin() as conn:
            conn.execute(sa.delete(runs).where(runs.c.created < now - self.max_age_s))
            conn.execute(sa.insert(runs).values(id=run_id, command=command, args=json.dumps(args), created=now))
        return run_id

    def get(self, run_id: str) -> tuple[str, dict[str, Any]] | None:
        """The command and arguments of a run, or None when it is unknown or expired."""
        with self.db.begin() as conn:
            row = conn.execute(sa.select(runs.c.command, runs.c.args, runs.c.created)
                               .where(runs.c.id == run_id)).first()
        if row is None or row.created < self._clock() - self.max_age_s:
            return None
        return row.command, json.loads(row.args)

    def forget_older_than(self, seconds: float) -> int:
        with self.db.begin() as conn:
            return conn.execute(sa.delete(runs).where(runs.c.created < self._clock() - seconds)).rowcount
