"""The study group's board: whether a group shows one, who joined it under which name, and their answers.

Only learners who joined a group's board appear on it, under the display name they chose; the
board keeps no platform id (see core/tutor/board.py for why names are chosen, not mentions). A name's
skeleton (`look`, core/tutor/names.py) is unique per board, so no two members look alike.
"""
from __future__ import annotations

import sqlalchemy as sa

from core.store.database import Database
from core.store.records import Standing
from core.store.schema import answers, board, groups
from core.store.sql import upsert


class BoardStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def switch(self, grp: str, on: bool, now: float) -> None:
        with self.db.begin() as conn:
            upsert(conn, groups, {"id": grp, "board": on, "changed": now}, ("id",), {"board": on, "changed": now})

    def is_on(self, grp: str) -> bool:
        with self.db.begin() as conn:
            row = conn.execute(sa.select(groups.c.board).where(groups.c.id == grp)).first()
        return bool(row and row.board)

    def join(self, grp: str, learner: str, name: str, look: str, now: float) -> bool:
        """Join (or rename) under `name`, whose skeleton is `look`; False when another member's name has
        that skeleton (the unique index decides, also between processes joining at once)."""
        try:
            with self.db.begin() as conn:
                upsert(conn, board, {"grp": grp, "learner": learner, "name": name, "look": look, "joined": now},
                       ("grp", "learner"), {"name": name, "look": look})
        except sa.exc.IntegrityError:
            return False
        return True

    def members(self, grp: str) -> list[tuple[str, str]]:
        """Everyone on the group's board: (learner, name)."""
        with self.db.begin() as conn:
            return [(r.learner, r.name) for r in conn.execute(sa.select(board.c.learner, board.c.name)
                                                              .where(board.c.grp == grp))]

    def leave(self, grp: str, learner: str) -> bool:
        with self.db.begin() as conn:
            return bool(conn.execute(sa.delete(board).where(board.c.grp == grp, board.c.learner == learner)).rowcount)

    def name_of(self, grp: str, learner: str) -> str | None:
        with self.db.begin() as conn:
            row = conn.execute(sa.select(board.c.name).where(board.c.grp == grp, board.c.learner == learner)).first()
        return None if row is None else row.name

    def standings(self, grp: str, since: float, until: float | None = None) -> list[Standing]:
        """Every member's points and answers in the group's quizzes between `since` and `until`."""
        right = sa.func.sum(sa.case((answers.c.correct, 1), else_=0))
        joined = sa.and_(answers.c.learner == board.c.learner, answers.c.grp == grp, answers.c.at >= since,
                         *([answers.c.at < until] if until is not None else []))
        query = (sa.select(board.c.learner, board.c.name, sa.func.coalesce(sa.func.sum(answers.c.points), 0),
                           sa.func.count(answers.c.id), sa.func.coalesce(right, 0))
                 .select_from(board.outerjoin(answers, joined)).where(board.c.grp == grp)
                 .group_by(board.c.learner, board.c.name))
        with self.db.begin() as conn:
            return [Standing(r[0], r[1], int(r[2]), int(r[3]), int(r[4])) for r in conn.execute(query)]
