"""/mydata and /forget: a learner sees everything kept about them, and can delete all of it.

What is kept, and for how long, is written once in core/tutor/privacy.py. One thing waits: a quiz
round that is not revealed yet. Its asker may answer it like everyone else (core/tutor/quiz.py), so
/mydata shows such a round's question and options but not its key or reasons, and an answer given
to it without whether it was right, until the reveal; then the whole rows. A lesson's question that the lesson
moved past unanswered counts as not revealed: coming back to its step asks the same round again
(core/store/rounds.py), so its key waits for the learner's answer too.
"""
from __future__ import annotations

import json
from typing import Any

from core.actions import Action
from core.context import TaskContext
from core.results import Result
from core.tutor.questions import Question
from core.tutor.service import State, Tutor
from core.wording import plural

KEPT = ("Rows are keyed by an HMAC of your platform and user id with this server's secret: no user id or name "
        "is kept, and no message text under your key except your own sentence while a lesson that uses it is in "
        "progress. All of it is deleted by /forget, or after {days:.0f} days without activity. Apart from that, an "
        "answer with buttons keeps its command and text for 7 days, under a run id that names nobody, so a "
        "click can run it again; it expires on its own.")
WITHHELD = "withheld until the answer is revealed"


def mydata(tutor: Tutor, ctx: TaskContext, args: dict[str, Any]) -> Result:
    state, _, learner = tutor.learner(ctx, args)
    kept = until_revealed(state, learner, state.learners.export(learner))
    rows = sum(len(r) for r in kept.values())
    document = json.dumps({"learner": learner, "tables": kept}, indent=1, ensure_ascii=False, default=str)
    return Result(
        command="mydata",
        answer=f"**Everything the tutor keeps about you**: {plural(rows, 'row')} in {plural(len(kept), 'table')}, "
               "as JSON below.",
        explanation=KEPT.format(days=state.settings.retention_days),
        code=document, model="-", show="private", code_file="mydata.json",
    )


def until_revealed(state: State, learner: str, kept: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The export with every key and verdict of a round not yet revealed left out (said in its place)."""
    waiting = state.rounds.answered_unrevealed(learner)
    for row in kept.get("tutor_rounds", []):
        if row.get("revealed") is None or (row.get("step") and not row.get("answers")):  # a lesson asks it again
            question = Question.from_json(row["question"])
            row["question"] = {"prompt": question.prompt, "options": list(question.options), "answer": WITHHELD}
    for row in kept.get("tutor_answers", []):
        if row.get("round_id") in waiting:
            row["correct"] = row["points"] = WITHHELD
    return kept


def forget(tutor: Tutor, ctx: TaskContext, args: dict[str, Any]) -> Result:
    """Asks first: a danger button deletes, Cancel keeps everything."""
    state, _, _ = tutor.learner(ctx, args)
    return Result(
        command="forget",
        answer="**Delete everything the tutor keeps about you?** Your answers, points, review items, lesson "
               "position and your place on any study-group board. This cannot be undone.",
        explanation=KEPT.format(days=state.settings.retention_days),
        code="# See it first: /mydata", model="-", show="private",
        actions=(Action.to("Yes, forget me", "forgetme", style="danger", confirm="yes"),
                 Action.to("Cancel", "forgetme", confirm="no")),
    )


def forgetme(tutor: Tutor, ctx: TaskContext, args: dict[str, Any]) -> Result:
    state, _, learner = tutor.learner(ctx, args)
    if not args.get("confirm"):
        return Result(command="forget", answer="Nothing was deleted.", explanation="", code="", model="-",
                      show="update")
    removed = state.learners.forget(learner)
    state.runs.forget(learner)
    tutor.forgotten(learner)
    return Result(command="forget", answer=f"**Done**: {plural(removed, 'record')} about you deleted.",
                  explanation="If you use the tutor again, it starts afresh.", code="", model="-", show="update",
                  forgot=True)
