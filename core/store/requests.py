"""Requests already answered, remembered in the database that several bot processes share.

Each process remembers the requests it answered (`core.policy.SeenRequests`), but a platform may deliver
a retry to another process: Slack spreads Socket Mode events over up to 10 connections and retries an
event it believes lost. With a shared database (`TUTOR_DATABASE_URL`), the first process to claim a
request id answers it; every other claim of that id fails. Ids are kept one hour: retries come within
minutes.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import sqlalchemy as sa

from core.store.database import Database
from core.store.schema import requests

KEEP_S = 3600.0


class SharedRequests:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    def claim(self, key: str) -> bool:
        """True for the first claim of `key` in any process on this database; False for every later one."""
        now = self._clock()
        try:
            with self.db.begin() as conn:
                conn.execute(sa.delete(requests).where(requests.c.at < now - KEEP_S))
                conn.execute(sa.insert(requests).values(id=_digest(key), at=now))
        except sa.exc.IntegrityError:
            return False
        return True


def _digest(key: str) -> str:
    """What is stored: a hash of `platform:request id`, so nothing a platform sent is kept as it is."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
