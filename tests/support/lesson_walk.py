"""Walking the whole guided path as a learner, through the one policy, and keeping everything shown.

`walk(pack, folder)` starts `/learn restart` and, at each step, answers the question (A, then
"Continue the lesson") or presses Next, until the end of the path. It keeps every message a learner
saw (`Shown`: the step, or a question's reveal), the question each predict step asked (from the
round the tutor stored), and the learner's database, for the tests to read.
"""
from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

from core.actions import flatten
from core.markup import to_plain
from core.policy import Outcome, Verdict
from core.results import Result
from core.tutor import lesson_path as path
from core.tutor.questions import Question
from tests.support.tutor import rows_of, sqlite_url, state_of, study_group


@dataclasses.dataclass
class Shown:
    """One message of the walk: a step (`phase` 0-4) or the reveal after a step's question."""

    lesson: path.Lesson
    phase: int
    result: Result
    reveal: bool = False
    question: Question | None = None
    """The question a predict or check step asked (as the tutor stored it)."""

    @property
    def text(self) -> str:
        return to_plain(self.result.answer)


@dataclasses.dataclass
class Walk:
    pack: str
    shown: list[Shown]
    rows: dict[str, list[dict[str, Any]]]
    end: Result

    def steps(self, lesson_id: str) -> list[Shown]:
        return [s for s in self.shown if s.lesson.id == lesson_id and not s.reveal]

    def step(self, lesson_id: str, phase: int) -> Shown:
        return next(s for s in self.steps(lesson_id) if s.phase == phase)


def answered(outcome: Outcome) -> Result:
    assert outcome.verdict is Verdict.ANSWER and outcome.result is not None, (outcome.verdict, outcome.message)
    return outcome.result


def labels(result: Result) -> list[str]:
    return [a.label for a in flatten(result.actions)]


async def _walk(pack: str, folder: Path) -> Walk:
    shown: list[Shown] = []
    with study_group(sqlite_url(folder), pack=pack) as cls:
        outcome = answered(await cls.say("ada", "/learn restart", direct=True))
        for position in range(path.STEPS):
            lesson, phase = path.at(position)
            assert f"step {phase + 1} of {len(path.PHASES)}" in outcome.answer.split("\n")[0], outcome.answer[:200]
            actions = {a.label: a for a in flatten(outcome.actions)}
            question = None
            if "A" in {label[:1] for label in actions if label[1:2] == ":"}:
                round_id = dict(next(a for label, a in actions.items() if label.startswith("A:")).args)["round"]
                found = state_of(cls).rounds.get(round_id)
                question = Question.from_json(found.question) if found else None
            shown.append(Shown(lesson, phase, outcome, question=question))
            if question is not None:
                choice = next(a for label, a in actions.items() if label.startswith("A:"))
                revealed = answered(await cls.click("ada", choice, direct=True))
                shown.append(Shown(lesson, phase, revealed, reveal=True, question=question))
                after = {a.label: a for a in flatten(revealed.actions)}
                outcome = answered(await cls.click("ada", after["Continue the lesson"], direct=True))
            else:
                outcome = answered(await cls.click("ada", actions["Next"], direct=True))
        return Walk(pack, shown, rows_of(cls.engine.settings.database_url), outcome)


def walk(pack: str, folder: Path) -> Walk:
    return asyncio.run(_walk(pack, folder))
