"""core/tutor/recent_runs.py: a lesson's run made once for its run, explain and try steps; bounded in number and
time, per learner, and gone with the learner (/forget)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from core.results import Result
from core.tutor import lesson_path as path
from core.tutor.recent_runs import KEEP_S, RecentRuns
from tests.support.tutor import answered, button, sqlite_url, state_of, study_group, text

NOW = 1_800_000_000.0


def made(label: str) -> Result:
    return Result(command="x", answer=label, explanation="", code="", model="-")


class Counted:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, label: str):
        def run() -> Result:
            self.calls.append(label)
            return made(label)
        return run


def test_the_same_learner_lesson_and_text_run_once() -> None:
    runs, count = RecentRuns(), Counted()
    first = runs.get("ada", "sentiment", "I love it", count("a"), now=NOW)
    assert runs.get("ada", "sentiment", "I love it", count("b"), now=NOW) is first
    assert count.calls == ["a"]


def test_another_text_lesson_or_learner_runs_again() -> None:
    runs, count = RecentRuns(), Counted()
    runs.get("ada", "sentiment", "I love it", count("a"), now=NOW)
    runs.get("ada", "sentiment", "I hate it", count("b"), now=NOW)
    runs.get("ada", "tokenize", "I love it", count("c"), now=NOW)
    runs.get("bo", "sentiment", "I love it", count("d"), now=NOW)
    assert count.calls == ["a", "b", "c", "d"]


def test_a_run_older_than_the_limit_is_made_again() -> None:
    runs, count = RecentRuns(), Counted()
    runs.get("ada", "sentiment", "I love it", count("a"), now=NOW)
    runs.get("ada", "sentiment", "I love it", count("b"), now=NOW + KEEP_S - 1)
    assert runs.get("ada", "sentiment", "I love it", count("c"), now=NOW + KEEP_S + 1).answer == "c"
    assert count.calls == ["a", "c"]


def test_past_its_size_the_least_recently_used_run_goes() -> None:
    runs, count = RecentRuns(size=2), Counted()
    runs.get("ada", "l", "one", count("1"), now=NOW)
    runs.get("ada", "l", "two", count("2"), now=NOW)
    runs.get("ada", "l", "one", count("1 again"), now=NOW)  # used: now the most recent
    runs.get("ada", "l", "three", count("3"), now=NOW)  # "two" goes
    assert len(runs) == 2
    runs.get("ada", "l", "one", count("1 a third time"), now=NOW)
    runs.get("ada", "l", "two", count("2 again"), now=NOW)
    assert count.calls == ["1", "2", "3", "2 again"]


def test_forgetting_a_learner_drops_only_their_runs() -> None:
    runs, count = RecentRuns(), Counted()
    runs.get("ada", "l", "my own sentence", count("a"), now=NOW)
    runs.get("bo", "l", "my own sentence", count("b"), now=NOW)
    runs.forget("ada")
    assert len(runs) == 1
    runs.get("ada", "l", "my own sentence", count("a again"), now=NOW)
    runs.get("bo", "l", "my own sentence", count("b again"), now=NOW)
    assert count.calls == ["a", "b", "a again"]


def test_a_run_that_fails_is_not_kept() -> None:
    runs = RecentRuns()

    def fails() -> Result:
        raise ValueError("no model")

    with pytest.raises(ValueError):
        runs.get("ada", "l", "text", fails, now=NOW)
    assert len(runs) == 0


async def test_a_lessons_explain_and_try_steps_show_its_run_without_running_the_model_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, ran = path.LESSONS[0], []

    def counted(ctx, sentence):
        ran.append(sentence)
        return first.run(ctx, sentence)

    monkeypatch.setattr(path, "LESSONS", (dataclasses.replace(first, run=counted), *path.LESSONS[1:]))
    with study_group(sqlite_url(tmp_path)) as cls:
        outcome = await cls.say("ada", "/learn restart", direct=True)
        for step in ("run", "explain", "try"):
            outcome = await cls.click("ada", button(outcome, "Next"), direct=True)
            assert f"step {('predict', 'run', 'explain', 'try').index(step) + 1} of 5: {step}" in text(outcome)
        assert ran == [first.example]
        assert answered(outcome).code == first.run(cls.engine.backend.context, first.example).code
        own = await cls.click("ada", button(outcome, "Use my own sentence"), args={"text": "Cats purr."},
                              direct=True)
        assert "Cats purr." in text(own) and ran == [first.example, "Cats purr."]
        assert len(state_of(cls).runs) == 2
        forget = await cls.say("ada", "/forget", direct=True)
        await cls.click("ada", button(forget, "Yes, forget me"), direct=True)
        assert len(state_of(cls).runs) == 0, "a forgotten learner's sentences go from memory too"
