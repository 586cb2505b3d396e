"""The tutor's own small database: runs behind buttons (and, later, learners' progress).

SQLite in the cache dir by default (created on first use, WAL); `TUTOR_DATABASE_URL` points the same
code at PostgreSQL when several bot processes share it. SQLAlchemy Core serves both dialects.
Every call blocks, so callers on an event loop run it in a thread (`asyncio.to_thread`).
"""
from core.store.database import Database, database_url
from core.store.runs import RunStore

__all__ = ["Database", "RunStore", "database_url"]
