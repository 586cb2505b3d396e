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


# --- v2: the tutor's learners (core/tutor/) ---------------------------------------------------------------
# Every learner, place and group column holds an HMAC of the platform and its id (core/tutor/privacy.py),
# never a platform id or a name. What is kept and for how long: core/tutor/privacy.py's docstring.

KEY = 64
"""Length of a hex HMAC-SHA256: learners, places and groups."""
LOOK = 96
"""Room for the skeleton of a 24-character name (casefolding can lengthen it, `ß` -> `ss`)."""

learners = sa.Table(
    "tutor_learners", metadata,
    sa.Column("id", sa.String(KEY), primary_key=True),
    sa.Column("first_seen", sa.Float, nullable=False),
    sa.Column("last_seen", sa.Float, nullable=False, index=True),
)

rounds = sa.Table(
    "tutor_rounds", metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("place", sa.String(KEY), nullable=False, index=True),
    sa.Column("grp", sa.String(KEY), nullable=True),
    sa.Column("asker", sa.String(KEY), nullable=True, index=True),
    sa.Column("solo", sa.Boolean, nullable=False),  # only the asker answers; revealed at once (DM, lesson, review)
    sa.Column("purpose", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("topic", sa.String(16), nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False, index=True),
    sa.Column("closes", sa.Float, nullable=False),
    sa.Column("revealed", sa.Float, nullable=True),
    sa.Column("answers", sa.Integer, nullable=False, default=0),
    sa.Column("step", sa.String(48), nullable=True),  # v5: a lesson's question: its lesson and step
)

answers = sa.Table(
    "tutor_answers", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("round_id", sa.String(16), nullable=False),
    sa.Column("learner", sa.String(KEY), nullable=False, index=True),
    sa.Column("grp", sa.String(KEY), nullable=True, index=True),
    sa.Column("purpose", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("topic", sa.String(16), nullable=False),
    sa.Column("choice", sa.Integer, nullable=False),
    sa.Column("correct", sa.Boolean, nullable=False),
    sa.Column("points", sa.Integer, nullable=False),
    sa.Column("at", sa.Float, nullable=False, index=True),
    sa.Column("step", sa.String(48), nullable=True),  # v5: the lesson step an answer scored, once
    sa.UniqueConstraint("round_id", "learner", name="tutor_answers_once"),
    sa.Index("tutor_answers_step_once", "learner", "step", unique=True),
)
"""One row per learner per round: the unique constraint, not a lock, makes a second answer fail, also
when several bot processes share one PostgreSQL database. Likewise one scoring answer per learner and
lesson step (`step`; NULL for quiz and review answers, and for an answer to a step already scored)."""

reviews = sa.Table(
    "tutor_reviews", metadata,
    sa.Column("learner", sa.String(KEY), primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("topic", sa.String(16), nullable=False),
    sa.Column("due", sa.Float, nullable=False, index=True),
    sa.Column("streak", sa.Integer, nullable=False),
    sa.Column("misses", sa.Integer, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
    sa.Column("card", sa.Text, nullable=True),  # v5: the FSRS card, as py-fsrs writes it (JSON)
    sa.Column("seen", sa.String(128), nullable=True),  # v5: hashes of the texts recently asked about
)

lessons = sa.Table(
    "tutor_lessons", metadata,
    sa.Column("learner", sa.String(KEY), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("sentence", sa.Text, nullable=True),  # the learner's own sentence, only while the lesson runs
    sa.Column("updated", sa.Float, nullable=False),
)

lessons_done = sa.Table(
    "tutor_lessons_done", metadata,
    sa.Column("learner", sa.String(KEY), primary_key=True),
    sa.Column("lesson", sa.String(32), primary_key=True),
    sa.Column("done", sa.Float, nullable=False),
)

groups = sa.Table(
    "tutor_groups", metadata,
    sa.Column("id", sa.String(KEY), primary_key=True),
    sa.Column("board", sa.Boolean, nullable=False),
    sa.Column("changed", sa.Float, nullable=False),
)

board = sa.Table(
    "tutor_board", metadata,
    sa.Column("grp", sa.String(KEY), primary_key=True),
    sa.Column("learner", sa.String(KEY), primary_key=True),
    sa.Column("name", sa.String(32), nullable=False),
    sa.Column("joined", sa.Float, nullable=False),
    # the name's skeleton (core/tutor/names.py), unique per board; added by the board-names migration below
    sa.Column("look", sa.String(LOOK), nullable=True),
    sa.Index("tutor_board_look", "grp", "look", unique=True),
)

LEARNING_TABLES = (learners, rounds, answers, reviews, lessons, lessons_done, groups, board)
LEARNER_COLUMNS = ((learners, "id"), (answers, "learner"), (reviews, "learner"), (lessons, "learner"),
                   (lessons_done, "learner"), (board, "learner"), (rounds, "asker"))
"""Every column that names a learner: what /mydata exports and /forget and the retention purge delete."""


def _v2(conn: sa.Connection) -> None:
    for table in LEARNING_TABLES:
        table.create(conn, checkfirst=True)


# --- v3: requests already answered, shared by every bot process on one database -------------------------
# A platform may deliver a request twice (Slack retries an event it thinks was lost) to another process.

requests = sa.Table(
    "tutor_requests", metadata,
    # a SHA-256 of `platform:request id` (a Slack event or trigger id, a Discord interaction id)
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("at", sa.Float, nullable=False, index=True),
)


def _v3(conn: sa.Connection) -> None:
    requests.create(conn, checkfirst=True)


# --- v4: no two names on a board look alike ---------------------------------------------------------------
# `tutor_board.look` holds the name's skeleton and a unique index covers (grp, look). A database created
# after this change has both already (`board` above, created by _v2); an older one gets them here. Rows
# joined before it keep an empty `look` (NULLs never clash), and a new name is still checked against
# their names when someone joins (core/tutor/board.py).

def _v4(conn: sa.Connection) -> None:
    if "look" not in {c["name"] for c in sa.inspect(conn).get_columns(board.name)}:
        conn.execute(sa.text(f"ALTER TABLE {board.name} ADD COLUMN look VARCHAR({LOOK})"))
    for index in board.indexes:
        index.create(conn, checkfirst=True)



# --- v5: reviews scheduled by FSRS, on new texts; lesson steps score once -------------------------------
# The columns above marked v5. A database made at v2 from these definitions has them already.

V5_COLUMNS = ((reviews, "card"), (reviews, "seen"), (rounds, "step"), (answers, "step"))


def _v5(conn: sa.Connection) -> None:
    inspector = sa.inspect(conn)
    for table, name in V5_COLUMNS:
        if name not in {c["name"] for c in inspector.get_columns(table.name)}:
            kind = table.c[name].type.compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))
    next(i for i in answers.indexes if i.name == "tutor_answers_step_once").create(conn, checkfirst=True)



MIGRATIONS: list[Callable[[sa.Connection], None]] = [_v1, _v2, _v3, _v4, _v5]
"""MIGRATIONS[n] takes a database from version n to n + 1."""
