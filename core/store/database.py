"""Opening the database and bringing its schema up to date, once per process; and, after someone's rows
are deleted, making their bytes leave the disk as far as the database allows (`scrub`).

What each database keeps of a deleted row, and what `scrub` does about it:

- **SQLite** (the default): every connection turns on `secure_delete`, so a deleted row's bytes are
  overwritten with zeros in the database file; the write-ahead log (`tutor.db-wal`) still holds the
  pages as they were written until a checkpoint copies them back, so `scrub` checkpoints and truncates
  it to zero bytes (`wal_checkpoint(TRUNCATE)`).
- **PostgreSQL**: a deleted row stays in its table's and indexes' files as a dead tuple until VACUUM
  reclaims the space. `scrub` runs VACUUM (with INDEX_CLEANUP ON, so the indexes that hold the learner's
  key are cleaned even after a small delete) on the tables it deleted from, where the database's
  role may (the tables' owner, the database's owner or a superuser; on PostgreSQL 17 also the
  MAINTAIN privilege) and logs once where it may not. A plain VACUUM lets later rows overwrite the
  space but does not zero it: some bytes can stay in the files until they are overwritten, or until
  an operator runs VACUUM FULL (which rewrites the table under an exclusive lock). The server's
  write-ahead log (pg_wal), its archive, base backups and replicas keep the rows until they are
  recycled or deleted; the tutor cannot reach those.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from core.errors import StoreUnavailable
from core.settings import ConfigError, shown_url
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
        self._told_no_vacuum = False

    @property
    def engine(self) -> sa.Engine:
        """Connects (and migrates) on first use, so a bot that never stores anything opens no file."""
        with self._lock:
            if self._engine is None:
                engine = None
                try:
                    engine = connect(self.url)
                    migrate(engine)
                except (sa.exc.DBAPIError, OSError) as exc:  # DBAPIError: refused, unreachable, or damaged
                    if engine is not None:
                        engine.dispose()
                    reason = why_unopened(self.url, exc)
                    log.warning("the database cannot be opened: %s", reason)
                    raise StoreUnavailable(
                        "The tutor cannot open its database here, so quizzes, lessons, progress and the buttons "
                        "under answers are off for now. Tell whoever runs the tutor (see `tutor doctor`).",
                        reason) from None
                self._engine = engine
            return self._engine

    def begin(self) -> Any:
        """A transaction: `with db.begin() as conn: ...` commits on success, rolls back on error."""
        return self.engine.begin()

    @property
    def dialect(self) -> str:
        return sa.make_url(self.url).get_backend_name()

    def scrub(self, tables: Sequence[sa.Table]) -> list[str]:
        """After deleting rows from `tables`: what this database lets us do to take their bytes off disk
        (see the module's docstring). Returns the tables it could not clean (PostgreSQL VACUUM refused)."""
        if self.dialect == "sqlite":
            self._checkpoint()
            return []
        if self.dialect == "postgresql":
            return self._vacuum([t.name for t in tables])
        return []  # pragma: no cover - the tutor supports the two dialects above

    def _checkpoint(self) -> None:
        with self.engine.connect() as conn:
            busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
        if busy is not None and busy[0]:
            log.warning("the SQLite write-ahead log could not be checkpointed now (a reader is busy); it keeps "
                        "deleted rows until the next checkpoint")

    def _vacuum(self, names: list[str]) -> list[str]:
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            refused = vacuum_refused(conn, names)
            # PostgreSQL 14+ skips the indexes when few rows died, and an index entry holds the learner's key
            options = "(INDEX_CLEANUP ON) " if (conn.dialect.server_version_info or (0,)) >= (12,) else ""
            for name in names:
                if name not in refused:
                    conn.exec_driver_sql(f'VACUUM {options}"{name}"')
        if refused and not self._told_no_vacuum:
            self._told_no_vacuum = True
            log.warning("the database role may not VACUUM %s (only their owner, the database's owner or a superuser "
                        "may), so deleted rows stay in those tables' files until autovacuum reclaims the space; "
                        "see `tutor doctor`", ", ".join(refused))
        return refused

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


DAMAGED = ("file is not a database", "malformed")
"""What SQLite says of a file that is not a database, or no longer a whole one."""


def why_unopened(url: str, exc: BaseException) -> str:
    """What the database's driver said (its first line, with the URL's password hidden), and for a
    damaged SQLite file what to do: the tutor does not move or repair it, since it holds the learners'
    progress and may still be recovered (`sqlite3 tutor.db .recover`)."""
    if isinstance(exc, OSError):
        return f"Its folder cannot be made: {exc.strerror or exc}: {exc.filename}"
    said = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
    parsed = sa.make_url(url)  # it parsed before the driver was asked
    if parsed.password:
        said = said.replace(str(parsed.password), "***")
    if parsed.get_backend_name() == "sqlite" and any(word in said for word in DAMAGED):
        return (f"SQLite says \"{said}\": the file {parsed.database} is damaged. Stop the tutor, then restore a "
                "backup of it, or move it away and the tutor starts a new, empty one (every learner's progress "
                "starts again)")
    return f"The database says: {said}"


def connect(url: str) -> sa.Engine:
    """An engine for the URL, not yet migrated (SQLite with its pragmas: WAL, foreign keys, secure delete)."""
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ConfigError(f"TUTOR_DATABASE_URL is not a database URL: `{shown_url(url)}`. "
                          "Use e.g. postgresql+psycopg://user:pass@host/db, or leave it empty for SQLite.") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite(parsed)
    return sa.create_engine(parsed, pool_pre_ping=True)


SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long a SQLite connection waits for another's write lock before "database is locked"."""


def _sqlite(url: sa.URL) -> sa.Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        _use_wal(cursor)  # readers never wait for a writer
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")  # a deleted row's bytes are overwritten, not left in free pages
        cursor.close()

    return engine


def _use_wal(cursor: sqlite3.Cursor) -> None:
    """Switch the database to WAL, waiting out other connections doing the same.

    WAL is the database's own setting, so only a new database is switched. When several connections
    switch a new database together (several `tutor chat`s started at once), SQLite refuses some of them
    with "database is locked" within a millisecond, without waiting its busy timeout (8 connections on a
    new file: 15 of 200 rounds refused one). So it is tried again, as long as the busy timeout would have
    waited."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def vacuum_refused(conn: sa.Connection, names: Sequence[str]) -> list[str]:
    """Which of the tables (in the current schema) this PostgreSQL role may not VACUUM."""
    maintain = " OR has_table_privilege(c.oid, 'MAINTAIN')" if (conn.dialect.server_version_info or (0,)) >= (17,) \
        else ""
    query = sa.text(
        "SELECT c.relname FROM pg_class c WHERE c.relname IN :names "
        "AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) "
        "AND NOT (pg_has_role(current_user, c.relowner, 'USAGE') "
        "OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) "
        "OR pg_has_role(current_user, (SELECT datdba FROM pg_database WHERE datname = current_database()), 'USAGE')"
        f"{maintain})").bindparams(sa.bindparam("names", expanding=True))
    return sorted(row[0] for row in conn.execute(query, {"names": list(names)}))


MIGRATION_LOCK = 0x7475746F72  # "tutor": PostgreSQL's advisory lock key for migrations


def migrate(engine: sa.Engine) -> int:
    """Apply the migrations this database lacks; returns the schema version now.

    One process at a time: two `tutor chat`s started together on a new database would both find it
    unversioned, and the second would fail on the first's tables or version row. SQLite takes its write
    lock before reading the version (BEGIN IMMEDIATE: the other waits up to its busy timeout), PostgreSQL an
    advisory lock held to the end of the transaction."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        schema.meta.create(conn, checkfirst=True)
        row = conn.execute(sa.select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")).first()
        version = int(row[0]) if row else 0
        for step in schema.MIGRATIONS[version:]:
            step(conn)
        target = len(schema.MIGRATIONS)
        if version != target:
            log.info("database schema %d -> %d", version, target)
            _set_version(conn, version, target)
        conn.commit()
    return target


def _set_version(conn: sa.Connection, old: int, new: int) -> None:
    table = schema.meta
    if old == 0:
        conn.execute(sa.insert(table).values(key="schema_version", value=str(new)))
    else:
        conn.execute(sa.update(table).where(table.c.key == "schema_version").values(value=str(new)))
