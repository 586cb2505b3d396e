"""/learn: the guided path (core/tutor/lesson_path.py), one step per message, resumable anywhere.

The learner's position (and their own sentence, only while the lesson runs) is kept in the store, so
a lesson resumes after a restart, in a DM or a server. In a channel the steps are private (only the
learner sees and clicks them); each click replaces the step with the next one (`show="update"`).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from core.actions import Action, Ask
from core.context import Caller, TaskContext
from core.errors import UserError
from core.markup import code
from core.results import Result, Show
from core.store.records import LessonState
from core.tutor import lesson_path as path
from core.tutor.questions import NoQuestion
from core.tutor.quiz import Asked, open_round, place_of
from core.tutor.service import State, Tutor

SENTENCE_CHARS = 200
PART_WORDS = {"1": 1, "i": 1, "2": 2, "ii": 2, "3": 3, "iii": 3, "4": 4, "iv": 4, "pipelines": 1, "tokenizers": 2,
              "attention": 3, "decoder": 4}


@dataclasses.dataclass(frozen=True)
class Here:
    """Everything a step needs: the state, who, where in the path, the running example."""

    tutor: Tutor
    state: State
    ctx: TaskContext
    caller: Caller
    learner: str
    position: int
    sentence: str | None


def learn(tutor: Tutor, ctx: TaskContext, args: dict[str, Any]) -> Result:
    """/learn [part|restart|list]: resume where the learner left off, or jump to a part."""
    state, caller, learner = tutor.learner(ctx, args)
    current = state.progress.lesson(learner)
    sentence = current.sentence if current else None
    where = " ".join((args.get("part") or "").lower().replace("part", "").split())
    if where in ("", "resume", "continue"):
        position = current.position if current and current.position < path.STEPS else 0
    elif where in PART_WORDS:
        position = path.first_of_part(PART_WORDS[where])
    elif where in ("restart", "start"):
        position, sentence = 0, None
    elif where in ("list", "path", "map"):
        return _overview(state, learner, caller)
    else:
        raise UserError("/learn takes a part (`1` to `4`), `restart` or `list`; or nothing, to resume.")
    here = Here(tutor, state, ctx, caller, learner, position, sentence)
    return step(here, show="reply" if caller.direct else "private")


def lesson(tutor: Tutor, ctx: TaskContext, args: dict[str, Any]) -> Result:
    """A lesson's Next, Back, "use my own sentence" or "back to the example"."""
    state, caller, learner = tutor.learner(ctx, args)
    current = state.progress.lesson(learner)
    position = args["at"] if args.get("at") is not None else (current.position if current else 0)
    sentence = current.sentence if current else None
    if args.get("text"):
        sentence = args["text"]
    if args.get("example"):
        sentence = None
    if current is not None and current.position % len(path.PHASES) == len(path.PHASES) - 1 \
            and position > current.position:
        state.progress.finish_lesson(learner, path.at(current.position)[0].id, tutor.clock())
    if position >= path.STEPS:
        return _finished(state, learner, tutor)
    return step(Here(tutor, state, ctx, caller, learner, position, sentence), show="update")


def _finished(state: State, learner: str, tutor: Tutor) -> Result:
    state.progress.put_lesson(learner, LessonState(path.STEPS, None), tutor.clock())  # the sentence goes
    done = len(state.progress.lessons_done(learner))
    return Result(command="learn", answer=f"**You finished the path**: {done} of {len(path.LESSONS)} lessons done.",
                  explanation="Keep it fresh: /review brings back what you missed, /quiz asks anything, and "
                              "/progress shows where you stand.",
                  code="# Start again any time: /learn restart", model="-", show="update")


def step(here: Here, show: Show) -> Result:
    _, phase = path.at(here.position)
    here.state.progress.put_lesson(here.learner, LessonState(here.position, here.sentence), here.tutor.clock())
    body = (_predict, _run, _explain, _try, _check)[phase](here)
    header = _header(here.position)
    return dataclasses.replace(body, command="learn", answer=f"{header}\n{body.answer}", show=show,
                               actions=(*body.actions, *_navigation(here)))


def _header(position: int) -> str:
    lesson, phase = path.at(position)
    number, part, _ = path.PARTS[lesson.part]
    return (f"**Part {number}, {part}: {lesson.title}** (lesson {path.LESSONS.index(lesson) + 1} of "
            f"{len(path.LESSONS)}), step {phase + 1} of {len(path.PHASES)}: {path.PHASES[phase]}")


def _navigation(here: Here) -> tuple[Action | Ask, ...]:
    p = here.position
    out: list[Action | Ask] = []
    if p > 0:
        out.append(Action.to("Back", "lesson", at=p - 1))
    out.append(Action.to("Next", "lesson", style="primary", at=p + 1))
    out.append(Ask(Action.to("Use my own sentence", "lesson", at=p), "text", "Your own sentence",
                   "A short sentence to carry through the lesson", SENTENCE_CHARS))
    if here.sentence:
        out.append(Action.to("Back to the example", "lesson", at=p, example="yes"))
    return tuple(out)


def _text(here: Here, predict: bool = False) -> str:
    lesson, _ = path.at(here.position)
    if here.sentence:
        return here.sentence
    return lesson.predict_example if predict and lesson.predict_example else lesson.example


def _plain(answer: str, explanation: str = "", code_: str = "# Press Next for the next step.") -> Result:
    return Result(command="learn", answer=answer, explanation=explanation, code=code_, model="-")


def _predict(here: Here) -> Result:
    lesson, _ = path.at(here.position)
    kind = here.state.kinds.get(lesson.kind)
    if kind is None:
        return _plain(f"This pack's models cannot ask this lesson's prediction ({lesson.kind}); press Next to "
                      "see the run.")
    text = _text(here, predict=True)
    item = kind.from_text(text) or kind.from_text(lesson.predict_example or lesson.example)
    try:
        question = here.state.pool.compute(here.ctx, kind.name, item)
    except (UserError, NoQuestion) as exc:
        reason = exc.message if isinstance(exc, UserError) else "this text gives no fair four options"
        return _plain(f"No prediction for this text ({reason}); press Next to see the run.")
    asked = Asked(place_of(here.state, here.caller).place, None, solo=True, purpose="lesson")
    asked_round = open_round(here.tutor, here.state, question, asked, here.learner)
    return dataclasses.replace(asked_round, explanation="Predict first, then see the run. " + path.example_note(text))


def _run(here: Here) -> Result:
    lesson, _ = path.at(here.position)
    text = _text(here)
    try:
        result = lesson.run(here.ctx, text)
    except UserError as exc:
        return _plain(f"This step cannot run here: {exc.message} Press Next to go on.")
    return dataclasses.replace(result, answer=f"{path.example_note(text)}\n{result.answer}", actions=())


def _explain(here: Here) -> Result:
    lesson, _ = path.at(here.position)
    return _plain(lesson.concept, "The next step gives you the code of the run, to try on your own machine.")


def _try(here: Here) -> Result:
    lesson, _ = path.at(here.position)
    text = _text(here)
    try:
        result = lesson.run(here.ctx, text)
    except UserError as exc:
        return _plain(f"No snippet here: {exc.message} Press Next to go on.")
    return dataclasses.replace(
        result, answer=f"Run this on your own machine: it prints exactly what the run of {code(text)} showed. "
                       "Then change the text and run it again.", actions=(), table=None, images=())


def _check(here: Here) -> Result:
    lesson, _ = path.at(here.position)
    question = path.check_question(lesson, here.tutor.clock())
    asked = Asked(place_of(here.state, here.caller).place, None, solo=True, purpose="lesson")
    return dataclasses.replace(open_round(here.tutor, here.state, question, asked, here.learner),
                               explanation="One question from memory: retrieving an idea makes it last.")


def _overview(state: State, learner: str, caller: Caller) -> Result:
    done = set(state.progress.lessons_done(learner))
    lines = []
    for n, lesson in enumerate(path.LESSONS, start=1):
        number = path.PARTS[lesson.part][0]
        lines.append(f"{n}. Part {number}, {lesson.title}{' (done)' if lesson.id in done else ''}")
    return Result(command="learn", answer="**The guided path**\n" + "\n".join(lines),
                  explanation="Each lesson: predict, run, explain, try it, check. `/learn 2` starts Part II; "
                              "`/learn` resumes where you left off.",
                  code="# /learn resumes; /learn restart starts over.", model="-",
                  show="reply" if caller.direct else "private")


def follow_ups(state: State, purpose: str, learner: str) -> tuple[Action, ...]:
    """After a lesson's question is answered: continue the lesson; after a review: the next one."""
    if purpose == "lesson":
        current = state.progress.lesson(learner)
        if current is not None and current.position < path.STEPS:
            return (Action.to("Continue the lesson", "lesson", style="primary", at=current.position + 1),)
    if purpose == "review":
        return (Action.to("Next review", "review", style="primary"),)
    return ()
