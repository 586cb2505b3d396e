"""A lesson's question asked again before it is answered (Back, /progress then /learn) is the same round: the
same options in the same order, so the letter the learner read is judged against what they read, and a second
set of options tells nothing about the first. Once answered, a new pass through the path asks afresh."""
from __future__ import annotations

import json
from pathlib import Path

from core.actions import flatten
from core.tutor import lesson_path as path
from core.tutor.data import WITHHELD
from tests.support.tutor import answered, button, sqlite_url, study_group, text

ZEROSHOT = next(n for n, x in enumerate(path.LESSONS, start=1) if x.id == "zeroshot")


def header(outcome) -> str:
    return text(outcome).splitlines()[0]


def choices(outcome) -> list[tuple[str, str]]:
    """The answer buttons: their labels ("A: ...") and the round each answers."""
    return [(a.label, dict(a.args)["round"]) for a in flatten(answered(outcome).actions) if a.command == "answer"]


def options(outcome) -> list[str]:
    return [line for line in text(outcome).splitlines() if line[:2] in ("A.", "B.", "C.", "D.")]


async def walk_to(cls, outcome, phase: str):
    for _ in range(len(path.PHASES)):
        if f": {phase}" in header(outcome):
            return outcome
        cls.clock.advance(7.0)  # a check's options are shuffled by the clock: a still one would hide a redraw
        outcome = await cls.click("ada", button(outcome, "Next"), direct=True)
    raise AssertionError(header(outcome))


async def test_a_question_asked_again_before_its_answer_keeps_its_options_and_a_new_pass_asks_afresh(tmp_path: Path):
    lesson = path.LESSONS[ZEROSHOT - 1]
    with study_group(sqlite_url(tmp_path)) as cls:
        check = await walk_to(cls, await cls.say("ada", f"/learn {ZEROSHOT}", direct=True), "check")
        first, shown = choices(check), options(check)
        assert len(first) == 4 and "step 5 of 5: check" in header(check)
        right = next(i for i, line in enumerate(shown) if lesson.check.right[0] in line)

        cls.clock.advance(60.0)
        tried = await cls.click("ada", button(check, "Back"), direct=True)
        await cls.click("ada", button(tried, "Show code"), direct=True)
        cls.clock.advance(60.0)
        again = await cls.click("ada", button(tried, "Next"), direct=True)
        assert choices(again) == first and options(again) == shown, "Back, Show code, Next: the same round"

        cls.clock.advance(60.0)
        await cls.say("ada", "/progress", direct=True)
        resumed = await cls.say("ada", "/learn", direct=True)
        assert "step 5 of 5: check" in header(resumed)
        assert choices(resumed) == first and options(resumed) == shown, "/progress then /learn: the same round"

        predict = await cls.click("ada", button(resumed, "Back"), direct=True)  # back past the lesson's prediction
        for _ in range(3):
            predict = await cls.click("ada", button(predict, "Back"), direct=True)
        assert "step 1 of 5: predict" in header(predict)
        kept = json.loads(answered(await cls.say("ada", "/mydata", direct=True)).code)["tables"]["tutor_rounds"]
        waiting = next(r for r in kept if r["id"] == first[0][1])
        assert waiting["question"]["answer"] == WITHHELD, "its key waits for the answer it will be asked again for"
        cls.clock.advance(60.0)
        returned = await walk_to(cls, predict, "check")
        assert choices(returned) == first and options(returned) == shown, "the lesson moved on and came back"

        revealed = await cls.click("ada", button(returned, "ABCD"[right]), direct=True)
        assert f"You chose {'ABCD'[right]}: right" in text(revealed) + answered(revealed).explanation, \
            "the letter of the option shown first is judged against what was shown"

        cls.clock.advance(60.0)
        await cls.say("ada", "/learn restart", direct=True)
        second_pass = await walk_to(cls, await cls.say("ada", f"/learn {ZEROSHOT}", direct=True), "check")
        assert {r for _, r in choices(second_pass)}.isdisjoint({r for _, r in first}), \
            "answered: a new pass asks afresh"


async def test_a_prediction_asked_again_keeps_its_options_unless_the_sentence_changes(tmp_path: Path):
    with study_group(sqlite_url(tmp_path)) as cls:
        predict = await cls.say("ada", "/learn 1", direct=True)
        first, shown = choices(predict), options(predict)
        assert len(first) == 4 and "step 1 of 5: predict" in header(predict)
        for _ in range(3):  # a draw could repeat the options by chance: each time, the same round
            cls.clock.advance(60.0)
            await cls.say("ada", "/progress", direct=True)
            resumed = await cls.say("ada", "/learn", direct=True)
            assert choices(resumed) == first and options(resumed) == shown
        run = await cls.click("ada", button(resumed, "Next"), direct=True)
        back = await cls.click("ada", button(run, "Back"), direct=True)
        assert choices(back) == first
        own = await cls.click("ada", button(back, "Use my own sentence"), args={"text": "Cats are wonderful pets."},
                              direct=True)
        assert "step 1 of 5: predict" in header(own) and "Cats are wonderful pets." in text(own)
        assert {r for _, r in choices(own)}.isdisjoint({r for _, r in first}), "another sentence: another question"
        elsewhere = await cls.say("ada", "/learn")  # in the channel: a round answers only where it was asked
        assert {r for _, r in choices(elsewhere)}.isdisjoint({r for _, r in choices(own)})
