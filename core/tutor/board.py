"""The study group's board: opt in per server or workspace, then learners opt in one by one.

How a board shows people: **a display name the learner chooses** when joining (`/board join Ada`),
not the platform's mention syntax. A mention needs the raw platform id in the store, which the rest
of the tutor never keeps (learners are HMAC keys), and renders safely only where every adapter
suppresses pings; a chosen name needs neither, can be changed or dropped (`/board leave`, `/forget`),
and is kept only for learners who joined. Names are short and plain (letters, digits, spaces, `.-_'`),
so no name can be mention syntax; they are read in NFKC form, may hold no invisible filler, and may not
look like another member's name on the same board (core/tutor/names.py says how far "look like" goes;
the store's unique index on the name's skeleton holds it against two joins at once). Points favour
taking part (every try scores), and the board shows
the hit rate and the week's most improved learner, so one expert does not own it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.context import Caller, TaskContext
from core.errors import UserError
from core.markup import plain
from core.registry import shown
from core.results import Result, Table
from core.store.records import Standing
from core.tutor.names import invisible, normalised, skeleton
from core.tutor.quiz import RIGHT_POINTS, TRY_POINTS
from core.tutor.service import State, Tutor

DAY_S = 86400.0
WEEK_S = 7 * DAY_S
NAME = re.compile(r"[^\W_][\w .'\-]{0,23}")
"""A letter or digit, then letters, digits, spaces and `.-_'`: 24 characters at most, nothing a platform
could read as a mention, a channel or markup."""
SHOWN = 10
MIN_ANSWERS = 3
"""Answers in each of two weeks before a learner can be "most improved"."""
CODE = "# /board join <name> puts you on it; /board leave takes you off; /forget deletes everything."


USAGE = "/board takes `on`, `off` (admins), `join <display name>` or `leave`."


def board(tutor: Tutor, ctx: TaskContext, args: dict[str, Any]) -> Result:
    """/board [on|off|join NAME|leave]: only an admin turns the board on or off."""
    state, caller, learner = tutor.learner(ctx, args)
    grp = state.keys.group(caller.platform, caller.group)
    if grp is None:
        return _private("The study-group board belongs to a server or workspace: use /board in one of its channels.")
    verb, _, rest = (args.get("what") or "").strip().partition(" ")
    verb = verb.lower()
    if verb in ("on", "off", "leave") and rest.strip():  # `/board on off` once turned the board on
        raise UserError(f"`/board {verb}` takes nothing after it, and yours has {shown(rest.strip())}. " + USAGE)
    if verb in ("on", "off"):
        return _switch(tutor, state, caller, grp, verb == "on")
    if verb == "join":
        return _join(tutor, state, grp, learner, rest)
    if verb == "leave":
        left = state.board.leave(grp, learner)
        return _private("You left this group's board." if left else "You were not on this group's board.")
    if verb:
        raise UserError(USAGE)
    return _status(state, grp, learner)


def _switch(tutor: Tutor, state: State, caller: Caller, grp: str, on: bool) -> Result:
    if not caller.admin:
        return _private("Only someone who can manage this server or workspace can turn the board on or off.")
    state.board.switch(grp, on, tutor.clock())
    if on:
        return _private("The study-group board is **on**. Learners appear on it only after `/board join <name>`, "
                        "under the name they choose; /leaderboard shows it.")
    return _private("The study-group board is **off**; nobody's points are shown. Members stay joined.")


def _join(tutor: Tutor, state: State, grp: str, learner: str, raw: str) -> Result:
    if not state.board.is_on(grp):
        return _private("This group's board is off; someone who manages the server can turn it on with `/board on`.")
    name = normalised(raw)
    if invisible(name):
        raise UserError("That name holds characters that show as nothing (a filler or a format character), so "
                        "others could not read it. Choose one of visible letters, digits, spaces or `.-_'`.")
    if not NAME.fullmatch(name):
        raise UserError("Choose a display name of 1 to 24 letters, digits, spaces or `.-_'`, "
                        "e.g. `/board join Ada L.`. It is the only name the board keeps.")
    look = skeleton(name)
    clash = next((other for who, other in state.board.members(grp) if who != learner and skeleton(other) == look),
                 None)
    if clash is not None or not state.board.join(grp, learner, name, look, tutor.clock()):
        already = f"**{plain(clash)}**, a name" if clash is not None else "a name"
        raise UserError(f"**{plain(name)}** looks like {already} already on this board (the same letters, or "
                        "letters that look alike). Choose one nobody could take for it.")
    end = "" if name.endswith(".") else "."  # `Ada L.` ends its own sentence
    return _private(f"You are on this group's board as **{plain(name)}**{end} `/board leave` takes you off.")


def _status(state: State, grp: str, learner: str) -> Result:
    on = state.board.is_on(grp)
    name = state.board.name_of(grp, learner)
    you = f"You are on it as **{plain(name)}**." if name else "You are not on it; `/board join <name>` adds you."
    return _private(f"This group's board is **{'on' if on else 'off'}**. {you}")


def _private(text: str, command: str = "board") -> Result:
    return Result(command=command, answer=text,
                  explanation="A board is opt-in twice: an admin turns it on for the group, and each learner "
                              "joins under a name they choose. It never mentions anyone.",
                  code=CODE, model="-", show="private")


@dataclass(frozen=True)
class Line:
    name: str
    points: int
    answered: int
    right: int

    @property
    def rate(self) -> float:
        return self.right / self.answered if self.answered else 0.0


def leaderboard(tutor: Tutor, ctx: TaskContext, args: dict[str, Any]) -> Result:
    """/leaderboard week|all: points, hit rate and the week's most improved, for those who joined."""
    state, caller, _ = tutor.learner(ctx, args)
    grp = state.keys.group(caller.platform, caller.group)
    if grp is None or not state.board.is_on(grp):
        return _private("There is no study-group board here. In a server or workspace, an admin turns it on "
                        "with `/board on`.", command="leaderboard")
    period = (args.get("period") or "week").strip().lower()
    if period not in ("week", "all"):
        raise UserError("/leaderboard takes `week` or `all`.")
    now = tutor.clock()
    since = now - WEEK_S if period == "week" else 0.0
    lines = sorted((Line(s.name, s.points, s.answered, s.right) for s in state.board.standings(grp, since)),
                   key=lambda line: (-line.points, -line.rate, line.name))
    rows = tuple((str(i), line.name, str(line.points), str(line.answered), f"{line.rate:.0%}")
                 for i, line in enumerate(lines[:SHOWN], start=1))
    improved = most_improved(state.board.standings(grp, now - WEEK_S),
                             state.board.standings(grp, now - 2 * WEEK_S, now - WEEK_S))
    title = "this week" if period == "week" else "all time"
    return Result(
        command="leaderboard",
        answer=f"**Study-group board, {title}**" + ("" if rows else ": nobody has joined yet (`/board join <name>`)."),
        table=Table(("#", "name", "points", "answers", "hit rate"), rows) if rows else None,
        explanation=(f"Points: {RIGHT_POINTS} for a right answer, {TRY_POINTS} for every try, in this group's "
                     f"channel quizzes. {_improved(improved)}"),
        code=CODE, model="-",
    )


def _improved(improved: tuple[str, float] | None) -> str:
    if improved is None:
        return f"Most improved needs {MIN_ANSWERS} answers in each of the last two weeks."
    return f"Most improved this week: **{plain(improved[0])}**, hit rate up {improved[1]:.0%} on the week before."


def most_improved(this_week: list[Standing], last_week: list[Standing]) -> tuple[str, float] | None:
    """The member whose hit rate rose most between the two weeks (enough answers in both)."""
    before = {s.learner: s for s in last_week if s.answered >= MIN_ANSWERS}
    gains = [(s.name, s.right / s.answered - before[s.learner].right / before[s.learner].answered)
             for s in this_week if s.answered >= MIN_ANSWERS and s.learner in before]
    best = max(gains, key=lambda g: g[1], default=None)
    return best if best is not None and best[1] > 0 else None
