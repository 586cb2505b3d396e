"""/progress (private): lessons done, accuracy per topic, review items due; /review: the most overdue one,
as a fresh question of the same kind on a new text (core/tutor/schedule.py: FSRS says when items are due)."""
from __future__ import annotations

import dataclasses
from typing import Any

from core.context import TaskContext
from core.errors import UserError
from core.results import Result, Table
from core.tutor import lesson_path
from core.tutor.kinds import all_kinds
from core.tutor.questions import NoQuestion
from core.tutor.quiz import Asked, new_question, note, open_round, place_of
from core.tutor.schedule import Seen
from core.tutor.service import Tutor
from core.wording import plural

DATA_CODE = "# Everything kept about you: /mydata. Delete it all: /forget."
SCHEDULE = ("A kind of question you miss comes back for review the next day, as a new question on a new text; "
            "FSRS (the scheduler Anki uses) then spaces it further out each time you get it right, and brings it "
            "back sooner when you miss it.")


def progress(tutor: Tutor, ctx: TaskContext, args: dict[str, Any]) -> Result:
    state, _, learner = tutor.learner(ctx, args)
    now = tutor.clock()
    tallies = state.progress.tallies(learner)
    done = set(state.progress.lessons_done(learner))
    lesson = state.progress.lesson(learner)
    reviews = state.progress.reviews(learner)
    due = [r for r in reviews if r.due <= now]
    answered, right = sum(t.answered for t in tallies), sum(t.right for t in tallies)
    summary = (f"**Your progress**: {len(done)} of {len(lesson_path.LESSONS)} lessons done; "
               + (f"{plural(answered, 'answer')}, {right / answered:.0%} right; " if answered else "no answers yet; ")
               + f"{plural(len(due), 'review item')} due now.")
    running = lesson is not None and lesson.position < lesson_path.STEPS
    where = (f"Your lesson stands at {lesson_path.describe(lesson.position)}: /learn resumes it." if running
             else "You finished the path: /review brings back what you missed, `/learn restart` walks it again."
             if len(done) == len(lesson_path.LESSONS) else "Start or resume the guided path: /learn.")
    later = [r for r in reviews if r.due > now]
    lines = [where]
    if due:
        lines.append("Due now: " + ", ".join(_title(r.kind) for r in due) + ". /review asks the first one.")
    if later:
        lines.append(f"Coming back later: {plural(len(later), 'item')}; the next in "
                     f"{_days(later[0].due - now)}.")
    lines.append(SCHEDULE)
    rows = tuple((t.topic, str(t.answered), str(t.right), f"{t.right / t.answered:.0%}") for t in tallies)
    return Result(command="progress", answer=summary,
                  table=Table(("topic", "answers", "right", "hit rate"), rows) if rows else None,
                  explanation="\n".join(lines), code=DATA_CODE, model="-", show="private")


def _title(kind: str) -> str:
    known = all_kinds().get(kind)
    if known is not None:
        return known.title
    lesson = lesson_path.by_check_kind(kind)
    return f"the check of lesson {lesson.title!r}" if lesson else kind


def _days(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:.0f} h" if hours < 36 else f"{hours / 24:.0f} days"


def review(tutor: Tutor, ctx: TaskContext, args: dict[str, Any]) -> Result:
    """The most overdue review item, regenerated: a fresh question of the kind, or the lesson's check again."""
    state, caller, learner = tutor.learner(ctx, args)
    now = tutor.clock()
    due = [r for r in state.progress.reviews(learner) if r.due <= now]
    if not due:
        return _nothing_due(state, learner, now)
    asked = Asked(place_of(state, caller).place, None, solo=True, purpose="review")
    for item in due:
        question = _fresh(tutor, state, ctx, item.kind, Seen(item.seen))
        if question is not None:
            result = open_round(tutor, state, question, asked, learner)
            return dataclasses.replace(result, answer=f"**Review** ({plural(len(due), 'item')} due). {result.answer}",
                                       show="reply" if caller.direct else "private")
    return note("review", "Your due items are kinds this pack's models cannot ask right now; they keep until then.")


def _fresh(tutor: Tutor, state: Any, ctx: TaskContext, kind: str, seen: Seen) -> Any:
    """A new question of the kind, on a text the learner has not met in it lately. A missed lesson check
    comes back as a new item of that lesson: its prediction's kind on a new text (answering it moves the
    check's card), or, where this pack cannot ask that kind, the check itself."""
    lesson = lesson_path.by_check_kind(kind)
    if lesson is not None:
        question = _fresh(tutor, state, ctx, lesson.kind, seen) if lesson.kind in state.kinds else None
        if question is not None:
            return dataclasses.replace(question, kind=kind)
        return lesson_path.check_question(lesson, tutor.clock())
    if kind not in state.kinds:
        return None
    try:
        return new_question(tutor, state, ctx, [kind], avoid=seen)[0]
    except (UserError, NoQuestion):
        return None


def _nothing_due(state: Any, learner: str, now: float) -> Result:
    later = state.progress.reviews(learner)
    when = f" The next one is due in {_days(later[0].due - now)}." if later else ""
    return Result(command="review", answer=f"**Nothing to review right now.**{when}",
                  explanation=SCHEDULE,
                  code="# Practise meanwhile: /quiz (any topic) or /learn.", model="-", show="private")
