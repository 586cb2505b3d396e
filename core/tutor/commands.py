"""The tutor's commands, bound to one `Tutor` (core/tutor/service.py): `build_registry()` adds them.

Visible: /quiz, /learn, /progress, /review, /mydata, /forget, /board, /leaderboard. Hidden (reached
through buttons only, never typed: core/registry.py `Registry.typed`): /answer, /reveal, /explore,
/lesson, /forgetme. Every one is `personal` (the policy passes who asks and where, and their budget).
None declares a model, yet some run one on the request path (a cold pool's question, /review's fresh
one, "Open as", a lesson's prediction and run): each handler sees a model store that charges the
learner's budget on the first model it hands out (`core.cooldown.ChargedModels`), so every model run a
learner causes is under their one cooldown, and a ready question costs nothing.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from core import suggest
from core.context import TaskContext
from core.cooldown import ChargedModels
from core.registry import Choice, Command, Option, Subcommand
from core.results import Result
from core.tutor import board, data, lesson_path, lessons, progress, quiz
from core.tutor.service import Tutor

Handler = Callable[["Handlers", TaskContext, dict[str, Any]], Result]


def charged(handler: Handler) -> Handler:
    """The handler with a model store that charges the request's budget (when the policy gave one)."""

    @functools.wraps(handler)
    def run(self: Handlers, ctx: TaskContext, args: dict[str, Any]) -> Result:
        budget = args.get("budget")
        if budget is not None:
            ctx = dataclasses.replace(ctx, models=ChargedModels(ctx.models, budget))
        return handler(self, ctx, args)

    return run


class Handlers:
    """Each command's handler, bound to the engine's one `Tutor`; every one charges model runs."""

    def __init__(self, tutor: Tutor) -> None:
        self.tutor = tutor

    def quiz(self, ctx: TaskContext, args: dict[str, Any]) -> Result:
        return quiz.ask(self.tutor, ctx, args)

    def answer(self, ctx: TaskContext, args: dict[str, Any]) -> Result:
        return quiz.answer(self.tutor, ctx, args)

    def reveal(self, ctx: TaskContext, args: dict[str, Any]) -> Result:
        return quiz.reveal(self.tutor, ctx, args)

    def explore(self, ctx: TaskContext, args: dict[str, Any]) -> Result:
        return quiz.explore(self.tutor, ctx, args)

    def learn(self, ctx: TaskContext, args: dict[str, Any]) -> Result:
        return lessons.learn(self.tutor, ctx, args)

    def lesson(self, ctx: TaskContext, args: dict[str, Any]) -> Result:
        return lessons.lesson(self.tutor, ctx, args)

    def progress(self, ctx: TaskContext, args: dict[str, Any]) -> Result:
        return progress.progress(self.tutor, ctx, args)

    def review(self, ctx: TaskContext, args: dict[str, Any]) -> Result:
        return progress.review(self.tutor, ctx, args)

    def mydata(self, ctx: TaskContext, args: dict[str, Any]) -> Result:
        return data.mydata(self.tutor, ctx, args)

    def forget(self, ctx: TaskContext, args: dict[str, Any]) -> Result:
        return data.forget(self.tutor, ctx, args)

    def forgetme(self, ctx: TaskContext, args: dict[str, Any]) -> Result:
        return data.forgetme(self.tutor, ctx, args)

    def board(self, ctx: TaskContext, args: dict[str, Any]) -> Result:
        return board.board(self.tutor, ctx, args)

    def leaderboard(self, ctx: TaskContext, args: dict[str, Any]) -> Result:
        return board.leaderboard(self.tutor, ctx, args)


def _charge_all(cls: type) -> None:
    """Every public handler of `cls` charged: a command added later cannot forget it."""
    for name, value in list(vars(cls).items()):
        if callable(value) and not name.startswith("_"):
            setattr(cls, name, charged(value))


_charge_all(Handlers)


def _main(name: str, description: str, max_length: int, **more: Any) -> Option:
    return Option(name, description, "text", positional="main", max_length=max_length, **more)


BOARD_VERBS = (
    Subcommand("status", "Whether this group's board is on, and whether you are on it", words=""),
    Subcommand("join", "Join this group's board under a display name you choose",
               (Option("name", "Your display name: letters, digits, spaces or .-_' (at most 24)", "text",
                       required=True, max_length=35),)),
    Subcommand("leave", "Take yourself off this group's board"),
    Subcommand("on", "Turn the board on for this server or workspace (admins)"),
    Subcommand("off", "Turn the board off for this server or workspace (admins)"),
)
"""/board's verbs, which Discord shows as subcommands; the text grammar types them (`/board join Ada`)."""


def tutor_commands(tutor: Tutor | None = None) -> list[Command]:
    h = Handlers(tutor or Tutor())
    own = {"needs_model": False, "personal": True}
    hidden = {**own, "hidden": True}
    round_ = Option("round", "The quiz round", "text", max_length=16)
    return [
        Command("quiz", "A question to guess, then the real run's answer (tokenizers, pipelines, attention...).",
                (_main("topic", "tokenizers, pipelines, attention, generation, or a kind; empty for any", 32,
                       suggest=suggest.quiz_topics),),
                ("/quiz", "/quiz tokenizers"), h.quiz, **own),
        Command("learn", "The guided path, lesson by lesson: predict, run, explain, try, check. Resumes where you "
                "left off.",
                (_main("lesson", "a lesson (7, fillmask, \"Subwords\"), part 2, restart or list; empty to resume",
                       40, suggest=suggest.lessons),),
                ("/learn", "/learn 7", "/learn part 2", "/learn list"), h.learn, **own),
        Command("progress", "Your lessons done, accuracy per topic and review items due (only you see it).",
                (), ("/progress",), h.progress, **own),
        Command("review", "Spaced review: a fresh question of a kind you missed.", (), ("/review",), h.review,
                **own),
        Command("mydata", "Everything the tutor keeps about you, as JSON (only you see it).", (), ("/mydata",),
                h.mydata, **own),
        Command("forget", "Delete everything the tutor keeps about you (asks first).", (), ("/forget",), h.forget,
                **own),
        Command("board", "The study-group board: on or off (admins), join <name> or leave.",
                (_main("what", "on, off, join <display name>, leave; empty for its state", 40),),
                ("/board", "/board join Ada"), h.board, subcommands=BOARD_VERBS, **own),
        Command("leaderboard", "The study group's points, hit rate and most improved (week or all).",
                (_main("period", "week or all", 8, choices=(Choice("week", "week (the last 7 days)"),
                                                           Choice("all", "all (all time)"))),),
                ("/leaderboard week", "/leaderboard all"), h.leaderboard,
                **own),
        Command("answer", "Answer a quiz question.", (round_, Option("choice", "A, B, C or D", "text", max_length=1)),
                (), h.answer, **hidden),
        Command("reveal", "Reveal a quiz question's answer.", (round_,), (), h.reveal, **hidden),
        Command("explore", "Open a quiz question's run as its ordinary command.",
                (round_, Option("n", "Which of the question's runs", "int", min_value=0, max_value=9, default=0)),
                (), h.explore, **hidden),
        Command("lesson", "A step of the guided path.",
                (Option("at", "The step", "int", min_value=0, max_value=lesson_path.STEPS),
                 Option("text", "Your own sentence", "text", max_length=lessons.SENTENCE_CHARS),
                 Option("example", "Back to the lesson's example", "bool", default=False),
                 Option("view", "code (the step's snippet) or open (the ordinary command's answer)", "text",
                        max_length=8)),
                (), h.lesson, **hidden),
        Command("forgetme", "Confirm or cancel /forget.", (Option("confirm", "yes or no", "bool", default=False),),
                (), h.forgetme, **hidden),
    ]
