"""/quiz: guess, then reveal.

A question comes from the pool (core/tutor/pool.py), its key computed by a model run before it is
shown. In a channel everyone may answer once (acknowledged privately); the answer is revealed when
the timer fires or the asker presses Reveal, replacing the question for everyone. In a DM the answer
is revealed at once. Every answer counts once per learner per round (core/store/rounds.py).

Who may do what with a round (every click is checked against the stored round, whatever its id says):

- A round is answered, revealed and opened ("Open as") only in the conversation it was asked in.
- A learner's own round (a DM's, a lesson's, a review's: `solo`) only by that learner.
- "Open as" reruns the question's command, which shows the key: only once the round is revealed.
- The asker of a channel round may answer it like everyone else: asking shows them no more than the
  others see (the key stays in the store until the reveal, and /mydata withholds it and their answer's
  verdict until then, core/tutor/data.py); pressing Reveal early closes it for everyone, themselves too.

Floods: a learner may start `Limits.per_minute` quiz and review rounds a minute and leave
`Limits.open_rounds` unanswered; past either the request gets a note instead of a question. A
lesson's question is closed when the lesson shows its next one (one open lesson question each; its
pace is the learner's budget for the model runs between). Their oldest closed rounds past
`Limits.kept` are deleted as new ones open, so one learner's rounds never grow without bound.
"""
from __future__ import annotations

import dataclasses
import random
from collections.abc import Container
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.actions import Action, uses_run
from core.context import Caller, TaskContext
from core.errors import UserError
from core.markup import code, plain
from core.results import Image, Result, Timer
from core.store.records import Counted, Round
from core.tutor.kinds import run_command
from core.tutor.questions import LETTERS, TOPICS, NoQuestion, Question
from core.tutor.service import Limits, State, Tutor
from core.wording import plural

RIGHT_POINTS = 10
TRY_POINTS = 3
"""A wrong answer still earns points: a failed retrieval attempt still helps learning (Kornell et al. 2009)."""
WAIT_CODE = "# The snippet comes with the answer: it prints the key."
PREDICT = "Commit to a guess before you see the run: predicting first makes the result stick."
ALIASES = {"tokenizer": "tokenizers", "tokens": "tokenizers", "tokenize": "tokenizers", "pipeline": "pipelines",
           "generate": "generation", "decoding": "generation", "heads": "attention"}
COLD = ("This question was computed just now (the question pool was still filling); the next ones come "
        "ready-made from the pool.")
ELSEWHERE = "This question was asked in another conversation: answer it there."
NOT_YOURS = "This question belongs to another learner. Ask your own with /quiz."
NOT_YET = "Its run opens once the answer is revealed: answer first, or wait for the reveal."
MINUTE_S = 60.0
LESSON = "lesson"


@dataclass(frozen=True)
class Asked:
    """Where a question goes: a channel's round (everyone answers) or a learner's own (`solo`)."""

    place: str
    grp: str | None
    solo: bool
    purpose: str = "quiz"


def place_of(state: State, caller: Caller) -> Asked:
    keys = state.keys
    place = keys.place(caller.platform, caller.place or f"direct:{caller.user}")
    return Asked(place, keys.group(caller.platform, caller.group), caller.direct)


def kinds_for(state: State, ctx: TaskContext, topic: str | None) -> list[str]:
    """The kinds a /quiz topic names that this pack serves; a UserError that says why when none."""
    from core.tutor.kinds import all_kinds

    everything = all_kinds()
    usable = [n for n in state.kinds if n not in state.pool.unservable()]
    wanted = ALIASES.get((topic or "").strip().lower(), (topic or "").strip().lower())
    if not wanted:
        chosen = usable
    elif wanted in everything:
        chosen = [wanted] if wanted in usable else []
    elif wanted in TOPICS:
        chosen = [n for n in usable if everything[n].topic == wanted]
    else:
        raise UserError(f"/quiz knows the topics {', '.join(TOPICS)} and the kinds "
                        + ", ".join(sorted(everything)) + ". Leave it empty for any.")
    if chosen:
        return chosen
    missing = [k for k in everything.values() if (k.name == wanted or k.topic == wanted) and k.name not in usable]
    reasons = sorted({state.pool.unservable().get(k.name) or _lacks(ctx, k) for k in missing})
    served = sorted({everything[n].topic for n in usable})
    raise UserError(f"The `{ctx.pack.name}` pack cannot ask that: {' '.join(reasons)} "
                    + (f"It can quiz you on {', '.join(served)}." if served else "It serves no quiz questions."))


def _lacks(ctx: TaskContext, kind: Any) -> str:
    spec = ctx.pack.models.get(kind.needs)
    if spec is None:
        return f"it has no model for /{kind.needs}."
    sorts = " or ".join(f"`{k}`" for k in kind.model_roles)
    return f"its /{kind.needs} model is of the `{spec.role}` sort, and asking {kind.title} needs {sorts}."


def new_question(tutor: Tutor, state: State, ctx: TaskContext, kinds: list[str],
                 avoid: Container[str] = ()) -> tuple[Question, tuple[str, ...]]:
    """A ready question from the pool, or one computed now (with the notice that says so), on none
    of the texts in `avoid` where the bank allows."""
    ready = state.pool.take(kinds, avoid)
    if ready is not None:
        return ready, ()
    for name in random.sample(kinds, len(kinds)):
        try:
            return state.pool.compute(ctx, name, avoid=avoid), (COLD,)
        except (UserError, NoQuestion):
            continue
    raise UserError("No question could be made from this pack's models right now; please try again in a minute.")


def ask(tutor: Tutor, ctx: TaskContext, args: dict[str, Any]) -> Result:
    """/quiz [topic]."""
    state, caller, learner = tutor.learner(ctx, args)
    asked = place_of(state, caller)
    kinds = kinds_for(state, ctx, args.get("topic"))
    if not asked.solo:
        waiting = _open_round(tutor, state, asked.place)
        if waiting is not None:
            return waiting
    room_for(tutor, state, learner)  # before a cold pool spends a model run on a question refused anyway
    question, notices = new_question(tutor, state, ctx, kinds)
    return open_round(tutor, state, question, asked, learner, notices)


def _open_round(tutor: Tutor, state: State, place: str) -> Result | None:
    """A private note when this channel's question is still open; a stale one (its timer was lost in a
    restart) is closed so a new one can start."""
    current = state.rounds.current(place)
    if current is None:
        return None
    left = current.closes - tutor.clock()
    if left > 0:
        return note("quiz", f"A question is open here: answer it above. Its answer is revealed in {left:.0f} s.")
    state.rounds.reveal(current.id, tutor.clock())
    return None


def room_for(tutor: Tutor, state: State, learner: str) -> None:
    """A `UserError` with the note that says why, when this learner may not start another quiz or review
    round now (a lesson's questions are bounded by closing the one before)."""
    limits, now = tutor.limits, tutor.clock()
    recent = state.rounds.asked_since(learner, now - MINUTE_S, besides=LESSON)
    if len(recent) >= limits.per_minute:
        wait = recent[len(recent) - limits.per_minute] + MINUTE_S - now
        raise UserError(f"You have started {plural(len(recent), 'question')} in the last minute, the most one "
                        f"learner may. The next one can start in {max(1, round(wait))} s.")
    waiting = state.rounds.open_count(learner, now - limits.open_for_s, besides=LESSON)
    if waiting >= limits.open_rounds:
        raise UserError(f"You have {plural(waiting, 'question')} waiting for your answer, the most one learner "
                        f"may leave open. Answer one of them first (a question left unanswered for "
                        f"{limits.open_for_s / 60:.0f} minutes stops counting).")


def open_round(tutor: Tutor, state: State, question: Question, asked: Asked, learner: str,
               notices: tuple[str, ...] = (), extra: tuple[Action, ...] = ()) -> Result:
    seconds, now, limits = state.settings.quiz_seconds, tutor.clock(), tutor.limits
    if asked.purpose == LESSON:  # the lesson moved on: its earlier question closes
        state.rounds.close_open(learner, LESSON, now)
    else:
        room_for(tutor, state, learner)
    round_id = state.rounds.open(place=asked.place, grp=asked.grp, asker=learner, solo=asked.solo,
                                 purpose=asked.purpose, kind=question.kind, topic=question.topic,
                                 question=question.to_json(), now=now, seconds=seconds,
                                 step=lesson_step(state, learner) if asked.purpose == LESSON else None)
    _trim(state, learner, limits, now)
    buttons = [Action.to(_label(letter, option), "answer", style="primary", round=round_id, choice=letter)
               for letter, option in zip(LETTERS, question.options, strict=True)]
    reveal = Action.to("Reveal", "reveal", round=round_id)
    how = (" The answer comes as soon as you choose." if asked.solo else
           f" Everyone here may answer once; the answer is revealed in {seconds:.0f} s, or when the asker "
           "presses Reveal.")
    return Result(
        command="quiz", answer=question_text(question), explanation=PREDICT + how, code=WAIT_CODE,
        model=question.model, notices=notices,
        actions=(*buttons, *(() if asked.solo else (reveal,)), *extra),
        timer=None if asked.solo else Timer(seconds, reveal.id),
        show="reply",
    )


def _trim(state: State, learner: str, limits: Limits, now: float) -> None:
    state.rounds.trim(learner, limits.kept, now - limits.open_for_s)


def lesson_step(state: State, learner: str) -> str | None:
    """The lesson and step the learner stands at (a lesson's question is asked at its own step): its
    points count once per learner and step, however often Back or /learn brings the step back."""
    from core.tutor import lesson_path

    current = state.progress.lesson(learner)
    if current is None or current.position >= lesson_path.STEPS:
        return None
    lesson, phase = lesson_path.at(current.position)
    return f"{lesson.id}:{lesson_path.PHASES[phase]}"


def question_text(question: Question) -> str:
    lines = [f"**Quiz: {question.topic}.** {question.prompt}"]
    lines += [f"**{letter}.** {shown(question, option)}" for letter, option in zip(LETTERS, question.options,
                                                                                    strict=True)]
    return "\n".join(lines)


def shown(question: Question, option: str) -> str:
    return code(option) if question.literal else plain(option)


def _label(letter: str, option: str) -> str:
    text = f"{letter}: {option}"
    return text if len(text) <= 40 else text[:39] + "…"


def note(command: str, text: str, actions: tuple[Action, ...] = ()) -> Result:
    """A short private answer (an acknowledgement, a refusal) with nothing to explain or run."""
    return Result(command=command, answer=text, explanation="", code="", model="-", actions=actions, show="private")


# --- answering -----------------------------------------------------------------------------------------

def letter_index(raw: str) -> int:
    letter = (raw or "").strip().upper()[:1]
    if letter not in LETTERS or not letter:
        raise UserError(f"Choose one of {', '.join(LETTERS)}.")
    return LETTERS.index(letter)


def answer(tutor: Tutor, ctx: TaskContext, args: dict[str, Any]) -> Result:
    """A learner's choice (a button): counted once, acknowledged privately, or revealed at once when solo."""
    state, caller, learner = tutor.learner(ctx, args)
    found = _round(state, args.get("round"), caller, learner, "answer")
    if isinstance(found, Result):
        return found
    question, choice = Question.from_json(found.question), letter_index(args.get("choice") or "")
    correct = choice == question.key
    counted = state.rounds.answer(found, learner, choice, correct, RIGHT_POINTS if correct else TRY_POINTS,
                                  tutor.clock())
    if counted is Counted.COUNTED:
        tutor.record(state, learner, question, correct)  # practice (a lesson step answered again) moves no card
    if found.solo:
        state.rounds.reveal(found.id, tutor.clock())
        return reveal_result(tutor, state, ctx, state.rounds.get(found.id) or found, learner,
                             follow_ups(state, found.purpose, learner))
    if counted is Counted.COUNTED:
        return note("answer", f"You chose **{LETTERS[choice]}**. The answer is revealed for everyone soon.")
    if counted is Counted.AGAIN:
        mine = state.rounds.choice_of(found.id, learner)
        chosen = f" (**{LETTERS[mine]}**)" if mine is not None else ""
        return note("answer", f"You already answered this one{chosen}: one answer each.")
    return note("answer", "This question is closed: its answer has been revealed above.")


def _round(state: State, round_id: str | None, caller: Caller, learner: str, command: str) -> Round | Result:
    """The round a click names, when this learner may use it from here; else the note that says why."""
    found = state.rounds.get(round_id or "")
    if found is None:
        return note(command, "This quiz is over (questions are kept for 7 days). Ask a new one with /quiz.")
    if found.place != place_of(state, caller).place:
        return note(command, ELSEWHERE)
    if found.solo and learner != found.asker:
        return note(command, NOT_YOURS)
    return found


def reveal(tutor: Tutor, ctx: TaskContext, args: dict[str, Any]) -> Result:
    """The asker's Reveal button, or the channel's timer (run as if the asker pressed it)."""
    state, caller, learner = tutor.learner(ctx, args)
    found = _round(state, args.get("round"), caller, learner, "reveal")
    if isinstance(found, Result):
        return found
    left = found.closes - tutor.clock()
    if found.revealed is None and not found.solo and learner != found.asker and left > 0:
        return note("reveal", f"Only the learner who asked can reveal early; the answer comes by itself in "
                              f"{left:.0f} s.")
    state.rounds.reveal(found.id, tutor.clock())
    return reveal_result(tutor, state, ctx, state.rounds.get(found.id) or found, learner)


def reveal_result(tutor: Tutor, state: State, ctx: TaskContext, round_: Round, learner: str,
                  extra: tuple[Action, ...] = ()) -> Result:
    question = Question.from_json(round_.question)
    given = state.rounds.answers_to(round_.id)
    counts = [sum(1 for a in given if a.choice == i) for i in range(len(LETTERS))]
    lines = [f"**Answer: {LETTERS[question.key]}. {shown(question, question.answer)}**", question.prompt]
    for i, (letter, option, why) in enumerate(zip(LETTERS, question.options, question.why, strict=True)):
        verdict = "right" if i == question.key else "wrong"
        chose = "" if round_.solo else f", {plural(counts[i], 'answer')}"
        lines.append(f"**{letter}.** {shown(question, option)} ({verdict}{chose}): {why}")
    explore = tuple(Action.to(e.label, "explore", round=round_.id, n=n) for n, e in enumerate(question.explore))
    return Result(
        command="quiz", answer="\n".join(lines), table=question.table,
        explanation="\n".join(p for p in (question.explanation, _tally(round_, given, learner, question)) if p),
        code=question.code, model=question.model, notices=question.notes,
        images=_picture(question, ctx), actions=(*explore, *extra), show="update",
    )


def _tally(round_: Round, given: list[Any], learner: str, question: Question) -> str:
    if round_.solo:
        mine = next((a for a in given if a.learner == learner), None)
        if mine is None:
            return ""
        if mine.practice:
            return (f"You chose {LETTERS[mine.choice]}: {'right' if mine.correct else 'not this time'}. You answered "
                    "this step before, and its points counted then: once per step.")
        return (f"You chose {LETTERS[mine.choice]}: "
                + (f"right, {mine.points} points." if mine.correct else
                   f"not this time, but trying counts ({mine.points} points), and this kind comes back in /review."))
    right = sum(1 for a in given if a.correct)
    if not given:
        return "Nobody answered this time."
    return (f"{plural(len(given), 'answer')}, {right} right. Right answers earn {RIGHT_POINTS} points and every "
            f"try {TRY_POINTS}; /progress shows yours, and /leaderboard the study group's where it is on.")


def _picture(question: Question, ctx: TaskContext) -> tuple[Image, ...]:
    picture = question.picture
    if picture is None:
        return ()
    from core.render.alt import alt_text
    from core.render.heatmap import render_head  # matplotlib loads on the first picture

    weights = np.array(picture.weights, dtype=np.float32)
    png = render_head(picture.tokens, weights, title=picture.title, figures=ctx.figures, noop=picture.noop)
    return (Image(png, "quiz-attention.png", alt_text(picture.tokens, weights, what=picture.title.lower(),
                                                       noop=picture.noop)),)


def explore(tutor: Tutor, ctx: TaskContext, args: dict[str, Any]) -> Result:
    """A reveal's "Open as /attention": the ordinary command on the question's own input, for the clicker."""
    state, caller, learner = tutor.learner(ctx, args)
    found = _round(state, args.get("round"), caller, learner, "explore")
    if isinstance(found, Result):
        return found
    if found.revealed is None:
        return note("explore", NOT_YET)
    question = Question.from_json(found.question)
    n = int(args.get("n") or 0)
    if not 0 <= n < len(question.explore):
        raise UserError("That button does not belong to this question.")
    chosen = question.explore[n]
    result = run_command(ctx, chosen.command, chosen.args)
    # Follow-ups that re-run "this run" would look up the explore click's own run, which holds only the
    # round: they are left out until a result can name the arguments its run keeps.
    kept = tuple(choice for choice in result.actions if not uses_run((choice,)))
    return dataclasses.replace(result, actions=kept, show="private")


def follow_ups(state: State, purpose: str, learner: str) -> tuple[Action, ...]:
    """After a lesson's question is answered: continue the lesson; after a review: the next one."""
    from core.tutor import lesson_path

    if purpose == "lesson":
        current = state.progress.lesson(learner)
        if current is not None and current.position < lesson_path.STEPS:
            return (Action.to("Continue the lesson", "lesson", style="primary", at=current.position + 1),)
    if purpose == "review":
        return (Action.to("Next review", "review", style="primary"),)
    return ()
