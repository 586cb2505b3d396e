"""The tables, and the migrations that bring an older database up to date.

Each migration is a function run once, in order; the `meta` table records the schema version.
Add a table or column by appending a migration; never edit one that has shipped.
"""
from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

metadata = sa.MetaData()

meta = sa.Table(
    "tutor_meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
)

runs = sa.Table(
    "tutor_runs", metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("command", sa.String(32), nullable=False),
    sa.Column("args", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False, index=True),
)


def _v1(conn: sa.Connection) -> None:
    for table in (meta, runs):
        table.create(conn, checkfirst=True)


MIGRATIONS: list[Callable[[sa.Connection], None]] = [_v1]
"""MIGRATIONS[n] takes a database from version n to n + 1."""
