"""/learn: the guided path (core/tutor/lesson_path.py), one step per message, resumable anywhere.

The learner's position (and their own sentence, only while the lesson runs) is kept in the store, so
a lesson resumes after a restart, in a DM or a server. In a channel the steps are private (only the
learner sees and clicks them); each click replaces the step with the next one (`show="update"`).

`/learn` grammar (also in /help and docs/commands.md): nothing (or `resume`) resumes (past a question the
learner has answered); a number opens that lesson (`/learn 7`); a lesson's name or title opens it
(`/learn fillmask`, `/learn "Subwords"`); `part 2` (or `part II`, `part attention`) starts a part; `restart`
starts over; `list` shows the path.

A predict or check step asks its question once a pass: coming back to it before answering (Back, /progress then
/learn) asks the same round again, its options in the same order (`_waiting`, core/store/rounds.py).

Every step fits one phone-sized message (core/tutor/sizing.py). A step shows the run's table once
(the run step) and its snippet once (the try step, or behind "Show code" when it is long); "Open as
/<command>" shows the ordinary command's whole answer with the way back to the lesson.
"""
from __future__ import annotations

import dataclasses
import random
from typing import Any

from core.actions import Action, Ask, flatten, uses_run
from core.context import Caller, TaskContext
from core.errors import UserError
from core.markup import code
from core.results import Result, Show
from core.store.records import LessonState
from core.tutor import lesson_path as path
from core.tutor.predict import token_count
from core.tutor.questions import NoQuestion, Question
from core.tutor.quiz import Asked, lesson_step, open_round, place_of
from core.tutor.service import State, Tutor
from core.tutor.sizing import fit, fits

SENTENCE_CHARS = 200
GRAMMAR = ("`/learn` resumes; `/learn 7` opens lesson 7; `/learn fillmask` or `/learn \"Subwords\"` opens a lesson "
           "by name; `/learn part 2` starts a part; `/learn restart` starts over; `/learn list` shows the path.")
REMAINING_SHOWN = 8
"""Lessons still to do that the end of the path offers as buttons."""
ABOUT = "lesson_run"
"""A prediction's input that names the run it is about (`_about`)."""


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

    @property
    def lesson(self) -> path.Lesson:
        return path.at(self.position)[0]

    @property
    def text(self) -> str:
        return self.sentence or self.lesson.example


def learn(tutor: Tutor, ctx: TaskContext, args: dict[str, Any]) -> Result:
    """/learn [lesson | part N | restart | list]: resume, open a lesson or a part, start over, or list."""
    state, caller, learner = tutor.learner(ctx, args)
    current = state.progress.lesson(learner)
    sentence = current.sentence if current else None
    where = " ".join((args.get("lesson") or "").strip().strip("\"'“”").lower().split())
    if where in ("", "resume", "continue"):
        position = current.position if current and current.position < path.STEPS else 0
        if current is not None and position == current.position and _answered_here(state, learner):
            # the step's question was answered (and its answer shown): resuming moves on, as Continue does
            moved = go(Here(tutor, state, ctx, caller, learner, position + 1, sentence), current)
            return dataclasses.replace(moved, show="reply" if caller.direct else "private")
    elif where in ("restart", "start", "start over"):
        position, sentence = 0, None
    elif where in ("list", "path", "map"):
        return _overview(state, learner, caller, ctx)
    else:
        position = where_to(where)
        sentence = sentence if current and path.at(current.position)[0] is path.at(position)[0] else None
    here = Here(tutor, state, ctx, caller, learner, position, sentence)
    return step(here, show="reply" if caller.direct else "private")


def where_to(where: str) -> int:
    """The first step of the lesson or part `where` names; `UserError` that lists the grammar otherwise."""
    words = where.split()
    if words and words[0] == "part":
        part = _part(" ".join(words[1:]))
        if part is None:
            which = f"There is no part {code(' '.join(words[1:]))}: the" if words[1:] else "Which part? The"
            raise UserError(f"{which} path has parts "
                            + ", ".join(f"{n} ({title})" for n, (_, title, _) in sorted(path.PARTS.items()))
                            + ". " + GRAMMAR)
        return path.first_of_part(part)
    if where.isdigit():
        n = int(where)
        if not 1 <= n <= len(path.LESSONS):
            raise UserError(f"There is no lesson {n}: the path has lessons 1 to {len(path.LESSONS)}. "
                            "`/learn list` shows them; `/learn part 2` starts a part.")
        return (n - 1) * len(path.PHASES)
    found = _lesson(where)
    if found is not None:
        return path.first_of(found)
    part = _part(where)
    if part is not None:
        return path.first_of_part(part)
    raise UserError(f"No lesson is called {code(where)}. {GRAMMAR}")


def _lesson(name: str) -> path.Lesson | None:
    """A lesson by id, title or alias (exact), else the one lesson whose title or id starts with `name`."""
    names = {n: lesson for lesson in path.LESSONS for n in (lesson.id, lesson.title.lower(), *lesson.aliases)}
    if name in names:
        return names[name]
    starting = {lesson.id: lesson for n, lesson in names.items() if n.startswith(name) and len(name) >= 3}
    return next(iter(starting.values())) if len(starting) == 1 else None


def _part(name: str) -> int | None:
    for number, (roman, title, topic) in path.PARTS.items():
        if name in (str(number), roman.lower(), title.lower(), topic):
            return number
    return None


def lesson(tutor: Tutor, ctx: TaskContext, args: dict[str, Any]) -> Result:
    """A lesson's Next, Back, "use my own sentence", "back to the example", "Show code" or "Open as"."""
    state, caller, learner = tutor.learner(ctx, args)
    current = state.progress.lesson(learner)
    position = args["at"] if args.get("at") is not None else (current.position if current else 0)
    sentence = current.sentence if current else None
    if args.get("text"):
        sentence = args["text"]
    if args.get("example"):
        sentence = None
    here = Here(tutor, state, ctx, caller, learner, min(position, path.STEPS - 1), sentence)
    view = (args.get("view") or "").strip().lower()
    if view == "code" and position < path.STEPS:
        return _code(here)
    if view == "open" and position < path.STEPS:
        return _open(here)
    return go(dataclasses.replace(here, position=position), current)


def _answered_here(state: State, learner: str) -> bool:
    """Whether the learner's current step asks a question they have answered (a predict or check step)."""
    at = lesson_step(state, learner)
    return at is not None and state.rounds.step_answered(learner, at)


def go(here: Here, current: LessonState | None) -> Result:
    """The step at `here.position`, coming from `current`: leaving a lesson's last step forward counts the lesson
    done (when its steps could run here), and past the last lesson is the end of the path."""
    state, learner, ctx, tutor = here.state, here.learner, here.ctx, here.tutor
    if current is not None and current.position % len(path.PHASES) == len(path.PHASES) - 1 \
            and here.position > current.position:
        done = path.at(current.position)[0]
        if path.runnable(done, ctx):  # a lesson whose steps could not run here is not done
            state.progress.finish_lesson(learner, done.id, tutor.clock())
    if here.position >= path.STEPS:
        return _finished(state, learner, tutor, ctx)
    return step(here, show="update")


def _finished(state: State, learner: str, tutor: Tutor, ctx: TaskContext) -> Result:
    state.progress.put_lesson(learner, LessonState(path.STEPS, None), tutor.clock())  # the sentence goes
    done = set(state.progress.lessons_done(learner))
    left = [(n, lesson) for n, lesson in enumerate(path.LESSONS, start=1) if lesson.id not in done]
    total = len(path.LESSONS)
    if not left:
        return Result(command="learn", answer=f"**You finished the path**: all {total} lessons done.",
                      explanation="Keep it fresh: /review brings back what you missed, /quiz asks anything, and "
                                  "/progress shows where you stand. `/learn restart` starts over.",
                      code="", model="", show="update")
    cannot = [lesson.title for _, lesson in left if not path.runnable(lesson, ctx)]
    names = ", ".join(f"{n}. {lesson.title}" for n, lesson in left)
    note = (f" This pack cannot run {len(cannot)} of them ({', '.join(cannot)}): `/models` says which pack can."
            if cannot else "")
    actions = tuple(Action.to(f"{n}. {lesson.title}", "lesson", at=path.first_of(lesson))
                    for n, lesson in left[:REMAINING_SHOWN])
    return Result(command="learn",
                  answer=(f"**You reached the end of the path**: {len(done & {x.id for x in path.LESSONS})} of "
                          f"{total} lessons done; {len(left)} still to do: {names}.{note}"),
                  explanation="Open one below, or `/learn <number>` any time.", code="", model="",
                  actions=actions, show="update")


def step(here: Here, show: Show) -> Result:
    _, phase = path.at(here.position)
    here.state.progress.put_lesson(here.learner, LessonState(here.position, here.sentence), here.tutor.clock())
    body = (_predict, _run, _explain, _try, _check)[phase](here)
    header = _header(here.position)
    result = dataclasses.replace(body, command="learn", answer=f"{header}\n{body.answer}", show=show,
                                 actions=(*body.actions, *_navigation(here)))
    return fit(result, _more(body))


def _more(body: Result) -> str:
    opened = next((a.label for a in flatten(body.actions) if a.label.startswith("Open as /")), None)
    return f"{opened} shows it all" if opened else "the snippet of step 4 prints it all"


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
    lesson, phase = path.at(p)
    if not path.runnable(lesson, here.ctx) and phase < len(path.PHASES) - 1:
        out.append(Action.to("Skip this lesson", "lesson", at=path.first_of(lesson) + len(path.PHASES)))
    out.append(Ask(Action.to("Use my own sentence", "lesson", at=p), "text", "Your own sentence",
                   "A short sentence to carry through the lesson", SENTENCE_CHARS))
    if here.sentence:
        out.append(Action.to("Back to the example", "lesson", at=p, example="yes"))
    return tuple(out)


def _plain(answer: str, explanation: str = "", actions: tuple[Action, ...] = ()) -> Result:
    return Result(command="learn", answer=answer, explanation=explanation, code="", model="", actions=actions)


def _predict(here: Here) -> Result:
    text = here.text
    try:
        for name in here.lesson.needs:
            here.ctx.pack.spec(name)  # the pack's own words when it has no model for this lesson's run
        asked = _asked(here)
        question = _waiting(here, asked, _about(here, text)) or _prediction(here, text)
    except UserError as exc:  # the pack has no model for this lesson's run
        return _plain(f"No prediction here: {exc.message}")
    round_ = open_round(here.tutor, here.state, question, asked, here.learner)
    return dataclasses.replace(round_, code="", explanation="Predict first, then see the run. "
                                                            + path.example_note(text))


def _asked(here: Here) -> Asked:
    """A lesson's question is the learner's own round, in the conversation they learn in."""
    return Asked(place_of(here.state, here.caller).place, None, solo=True, purpose="lesson")


def _about(here: Here, text: str) -> list[str]:
    """What a prediction is about (kept with its question): the pack whose model runs, and the running example."""
    return [here.ctx.pack.name, text]


def _waiting(here: Here, asked: Asked, about: list[str] | None = None) -> Question | None:
    """The question this step asked already and the learner has not answered yet (core/store/rounds.py): coming
    back to the step asks it again, the same round with its options in the same order, not a fresh draw (the
    letter the learner read keeps its meaning; a second set of options would tell about the first). A prediction
    only when it is `about` the same run (a sentence of their own, or another pack, asks anew)."""
    at = lesson_step(here.state, here.learner)
    found = here.state.rounds.unanswered_at(here.learner, at, asked.place) if at is not None else None
    if found is None:
        return None
    question = Question.from_json(found.question)
    if about is not None and question.inputs.get(ABOUT) != about:
        return None
    return question


def _prediction(here: Here, text: str) -> Question:
    """The lesson's question about the run that follows: its own, its kind's, or its fallback's, in that
    order; stripped of the run's table and snippet, which the run and try steps show, and marked with what it is
    `ABOUT` (`_waiting` asks it again only about the same run)."""
    lesson, rng = here.lesson, random.Random(here.tutor.clock())
    question: Question | None = None
    if lesson.kind in here.state.kinds and lesson.predict is None:
        item = lesson.item(here.ctx, text) if lesson.item else here.state.kinds[lesson.kind].from_text(text)
        if item is not None:
            question = _try_predict(lambda: here.state.pool.compute(here.ctx, lesson.kind, item))
    if question is None:  # the lesson's own question: a missed one brings back the lesson's check in /review
        own = lesson.predict and _try_predict(lambda: lesson.predict(here.ctx, text, rng))  # type: ignore[misc]
        fallback = lesson.fallback or token_count((lesson.needs or ("tokenize",))[0])
        question = dataclasses.replace(own or fallback(here.ctx, text, rng), kind=lesson.check_kind)
    return dataclasses.replace(question, table=None, code="", explanation="", picture=None, explore=(), notes=(),
                               inputs={**question.inputs, ABOUT: _about(here, text)})


def _try_predict(make: Any) -> Question | None:
    """The question, or None when the text gives no fair options or the kind's model is of another sort
    here (a chat model for extractive QA): the fallback then asks about the same run."""
    try:
        return make()
    except (NoQuestion, UserError):
        return None


def _run_once(here: Here) -> Result:
    """The lesson's run on its sentence: once for the run, explain and try steps (core/tutor/recent_runs.py)."""
    return here.state.runs.get(here.learner, here.lesson.id, here.text, lambda: here.lesson.run(here.ctx, here.text),
                               now=here.tutor.clock())


def _run(here: Here) -> Result:
    lesson = here.lesson
    try:
        result = _run_once(here)
    except UserError as exc:
        return _plain(f"This step cannot run here: {exc.message}")
    note = path.example_note(here.text) + (f" {lesson.shows(here.text)}" if lesson.shows else "")
    ordinary = result.command in {c.name for c in here.ctx.registry.visible()} and result.command != "learn"
    opened = (Action.to(f"Open as /{result.command}", "lesson", at=here.position, view="open"),) if ordinary else ()
    return dataclasses.replace(result, answer=f"{note}\n{result.answer}", code="", actions=opened)


def _explain(here: Here) -> Result:
    ran: list[Result] = []

    def result() -> Result:  # the run, only for an idea that reads it, and only once
        if not ran:
            ran.append(_run_once(here))
        return ran[0]

    try:
        for name in here.lesson.needs:
            here.ctx.pack.spec(name)
        idea = here.lesson.explain(here.ctx, here.text, result)
    except UserError as exc:
        concept = here.lesson.concept
        idea = concept if isinstance(concept, str) else f"This pack cannot run this lesson: {exc.message}"
    return _plain(idea)


def _try(here: Here) -> Result:
    try:
        result = _run_once(here)
    except UserError as exc:
        return _plain(f"No snippet here: {exc.message}")
    intro = (f"Run this on your own machine: it prints exactly what the run of {code(here.text)} showed. "
             f"Then: {here.lesson.try_this}")
    shown = _plain(intro)
    with_code = dataclasses.replace(shown, code=result.code, model=result.model)
    full = dataclasses.replace(with_code, answer=f"{_header(here.position)}\n{intro}",
                               actions=_navigation(here))
    if fits(full):
        return with_code
    return dataclasses.replace(shown, answer=f"{intro}\nThe snippet is {result.code.count(chr(10)) + 1} lines: "
                                             "**Show code** sends it.",
                               model=result.model,
                               actions=(Action.to("Show code", "lesson", at=here.position, view="code"),))


def _code(here: Here) -> Result:
    """"Show code": the try step's snippet, for the learner alone, with the way on."""
    try:
        result = _run_once(here)
    except UserError as exc:
        return _plain(f"No snippet here: {exc.message}")
    p = here.position
    return Result(command="learn", answer=f"The code of {code(here.text)}'s run ({here.lesson.title}):",
                  explanation="", code=result.code, model=result.model, show="private",
                  actions=(Action.to("Next", "lesson", style="primary", at=p + 1),
                           Action.to("Back to the lesson", "lesson", at=p)))


def _open(here: Here) -> Result:
    """"Open as /<command>": the ordinary command's whole answer, for the learner alone, with the way back."""
    try:
        result = _run_once(here)
    except UserError as exc:
        return _plain(f"This step cannot run here: {exc.message}")
    p = here.position
    kept = tuple(choice for choice in result.actions if not uses_run((choice,)))
    back = (Action.to("Back to the lesson", "lesson", at=p), Action.to("Next", "lesson", style="primary", at=p + 1))
    return dataclasses.replace(result, actions=(*kept, *back), show="private")


def _check(here: Here) -> Result:
    lesson = here.lesson
    asked = _asked(here)
    question = _waiting(here, asked) or path.check_question(lesson, here.tutor.clock())
    return dataclasses.replace(open_round(here.tutor, here.state, question, asked, here.learner), code="",
                               explanation="One question from memory: retrieving an idea makes it last.")


def _overview(state: State, learner: str, caller: Caller, ctx: TaskContext) -> Result:
    done = set(state.progress.lessons_done(learner))
    lines = []
    for n, lesson in enumerate(path.LESSONS, start=1):
        number = path.PARTS[lesson.part][0]
        mark = " (done)" if lesson.id in done else "" if path.runnable(lesson, ctx) else " (this pack cannot run it)"
        lines.append(f"{n}. Part {number}, {lesson.title} (`{lesson.id}`){mark}")
    return Result(command="learn", answer="**The guided path**\n" + "\n".join(lines),
                  explanation="Each lesson: predict, run, explain, try it, check. " + GRAMMAR,
                  code="", model="", show="reply" if caller.direct else "private")
