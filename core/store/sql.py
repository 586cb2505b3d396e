"""Small SQL helpers that read the same on SQLite and PostgreSQL."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa


def upsert(conn: sa.Connection, table: sa.Table, values: Mapping[str, Any], keys: Sequence[str],
           update: Mapping[str, Any]) -> None:
    """Insert a row, or update `update` where a row with the same `keys` exists: one statement, so two
    processes doing it at once cannot both insert (`INSERT ... ON CONFLICT DO UPDATE` on both dialects)."""
    statement = _insert(conn)(table).values(**values)
    conn.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=dict(update)))


def insert_missing(conn: sa.Connection, table: sa.Table, values: Mapping[str, Any], keys: Sequence[str]) -> bool:
    """Insert a row unless one with the same `keys` exists (`INSERT ... ON CONFLICT DO NOTHING`); True if inserted."""
    statement = _insert(conn)(table).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    return bool(conn.execute(statement).rowcount)


def _insert(conn: sa.Connection) -> Any:
    name = conn.dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the tutor supports the two dialects above
        raise NotImplementedError(f"no upsert for the {name} dialect")
    return insert


def as_dicts(result: sa.CursorResult[Any]) -> list[dict[str, Any]]:
    return [dict(row) for row in result.mappings()]
