"""The tutor's own small database: runs behind buttons (and, later, learners' progress).

SQLite in the cache dir by default (created on first use, WAL); `TUTOR_DATABASE_URL` points the same
code at PostgreSQL when several bot processes share it. SQLAlchemy Core serves both dialects.
Every call blocks, so callers on an event loop run it in a thread (`asyncio.to_thread`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from core.store.database import Database, database_url
    from core.store.runs import RunStore

__all__ = ["Database", "RunStore", "database_url"]


def __getattr__(name: str) -> Any:
    """`from core.store import Database` imports SQLAlchemy only then: `core.store.records` and the
    package itself stay light (a start that never opens the database does not pay for it)."""
    if name in ("Database", "database_url"):
        from core.store import database

        return getattr(database, name)
    if name == "RunStore":
        from core.store.runs import RunStore

        return RunStore
    raise AttributeError(f"module 'core.store' has no attribute {name!r}")
