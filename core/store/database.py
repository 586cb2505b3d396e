"""Opening the database and bringing its schema up to date, once per process."""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from core.errors import StoreUnavailable
from core.settings import ConfigError
from core.store import schema

log = logging.getLogger("tutor.store")

SQLITE_NAME = "tutor.db"


def database_url(cache_dir: Path, configured: str = "") -> str:
    """`TUTOR_DATABASE_URL` if set, else a SQLite file in the tutor's cache dir."""
    if configured.strip():
        return configured.strip()
    return f"sqlite:///{Path(cache_dir).expanduser().resolve() / SQLITE_NAME}"


class Database:
    """One SQLAlchemy engine and a migrated schema; safe to share between threads."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: sa.Engine | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> sa.Engine:
        """Connects (and migrates) on first use, so a bot that never stores anything opens no file."""
        with self._lock:
            if self._engine is None:
                engine = None
                try:
                    engine = _connect(self.url)
                    migrate(engine)
                except (sa.exc.OperationalError, OSError) as exc:
                    if engine is not None:
                        engine.dispose()
                    log.warning("the database cannot be opened: %s", str(exc).splitlines()[0])
                    raise StoreUnavailable(
                        "The tutor cannot open its database here, so quizzes, lessons, progress and the buttons "
                        "under answers are off for now. Tell whoever runs the tutor (see `tutor doctor`).") from None
                self._engine = engine
            return self._engine

    def begin(self) -> Any:
        """A transaction: `with db.begin() as conn: ...` commits on success, rolls back on error."""
        return self.engine.begin()

    @property
    def dialect(self) -> str:
        return sa.make_url(self.url).get_backend_name()

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


def _connect(url: str) -> sa.Engine:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError(f"TUTOR_DATABASE_URL is not a database URL: `{url}`. "
                          "Use e.g. postgresql+psycopg://user:pass@host/db, or leave it empty for SQLite.") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite(parsed)
    return sa.create_engine(parsed, pool_pre_ping=True)


def _sqlite(url: sa.URL) -> sa.Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def migrate(engine: sa.Engine) -> int:
    """Apply the migrations this database lacks; returns the schema version now."""
    with engine.begin() as conn:
        schema.meta.create(conn, checkfirst=True)
        row = conn.execute(sa.select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")).first()
        version = int(row[0]) if row else 0
        for step in schema.MIGRATIONS[version:]:
            step(conn)
        target = len(schema.MIGRATIONS)
        if version != target:
            log.info("database schema %d -> %d", version, target)
            _set_version(conn, version, target)
    return target


def _set_version(conn: sa.Connection, old: int, new: int) -> None:
    table = schema.meta
    if old == 0:
        conn.execute(sa.insert(table).values(key="schema_version", value=str(new)))
    else:
        conn.execute(sa.update(table).where(table.c.key == "schema_version").values(value=str(new)))
