"""Part IV of the guided path walks start to finish on the tiny and offline packs through the one policy:
every step answered with live numbers, each small enough for a phone, and each prediction about the run
that follows it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.actions import flatten
from core.markup import to_plain
from core.policy import Verdict
from core.tutor import decoder_lessons
from core.tutor import lesson_path as path
from core.tutor.lessons import SENTENCE_CHARS
from tests.support.tutor import answered, button, rows_of, sqlite_url, study_group, text

MAX_CHARS, MAX_LINES = 1800, 30
LONGEST = ("When the old lighthouse keeper finally retired, the whole village gathered on the windy pier to "
           "thank him, and somebody played a song about ships that never came home again, which made everyone "
           "cry.")[:SENTENCE_CHARS]
DEAD_ENDS = ("cannot run here", "cannot ask", "No prediction", "No snippet")


def shown(result) -> str:
    """A step as a learner reads it on a phone, the snippet aside (an attachment or a "Show code")."""
    return "\n\n".join(p for p in (result.answer, result.table.as_text() if result.table else "",
                                   *(f"Note: {n}" for n in result.notices), result.explanation) if p)


def fits(body: str) -> None:
    assert len(body) <= MAX_CHARS and body.count("\n") + 1 <= MAX_LINES, (len(body), body)


async def walk(cls, own: str | None = None) -> list[tuple[str, str, str]]:
    """Every step of Part IV: (header, what it shows, the answer key when it asked a question)."""
    outcome = await cls.say("ada", "/learn part 4", direct=True)
    if own:
        outcome = await cls.click("ada", button(outcome, "Use my own sentence"), args={"text": own}, direct=True)
    steps: list[tuple[str, str, str]] = []
    while "You finished the path" not in text(outcome) and "You reached the end of the path" not in text(outcome):
        assert outcome.verdict is Verdict.ANSWER, (steps[-1:], outcome.message)
        result = answered(outcome)
        body = shown(result)
        assert not any(d in body for d in DEAD_ENDS), body
        fits(body)
        header = text(outcome).splitlines()[0]
        key = ""
        if any(a.label.startswith("A:") for a in flatten(result.actions)):
            revealed = await cls.click("ada", button(outcome, "A"), direct=True)
            fits(shown(answered(revealed)))
            key = re.search(r"Answer: [A-D]\. (.+)", to_plain(answered(revealed).answer)).group(1)
            outcome = await cls.click("ada", button(revealed, "Continue the lesson"), direct=True)
        else:
            outcome = await cls.click("ada", button(outcome, "Next"), direct=True)
        steps.append((header, to_plain(body), key))
        assert len(steps) <= 5 * len(decoder_lessons.LESSONS)
    return steps


def lesson(steps: list[tuple[str, str, str]], n: int) -> list[tuple[str, str, str]]:
    return steps[5 * n:5 * n + 5]


@pytest.mark.parametrize("pack", ["tiny", "offline"])
async def test_part_four_walks_start_to_finish_with_each_prediction_about_its_run(tmp_path: Path, pack: str):
    with study_group(sqlite_url(tmp_path), pack=pack) as cls:
        steps = await walk(cls)
        done = {row["lesson"] for row in rows_of(cls.engine.settings.database_url)["tutor_lessons_done"]}
    first = len(path.LESSONS) - len(decoder_lessons.LESSONS) + 1
    assert steps[0][0].startswith(f"Part IV, Inside a decoder: Causal attention (lesson {first} of "
                                  f"{len(path.LESSONS)}), step 1 of 5: predict")
    assert len(steps) == 5 * len(decoder_lessons.LESSONS) and all(s[2] for s in steps[0::5] + steps[4::5])
    assert {s.id for s in decoder_lessons.LESSONS} <= done, "every Part IV lesson counted done"

    causal = lesson(steps, 0)
    n = int(re.search(r"as (\d+) tokens", causal[0][1]).group(1))
    assert causal[0][2] == str(n * (n - 1) // 2), "the prediction's key is the run's count"
    assert f"{causal[0][2]} of its {n * n} weights are exactly 0" in causal[1][1]
    assert re.search(r"were exactly 0, as they were in every one of its \d+ heads;", causal[2][1]), causal[2][1]

    qkv = lesson(steps, 1)
    where = re.search(r"layer (\d+), head (\d+)", qkv[0][1]) or re.search(r"(\d+) tokens", qkv[0][1])
    assert where is not None
    if "Quiz: attention. In " in qkv[0][1]:  # the trap question (real models)
        layer, head = where.groups()
        token = re.search(r"token (\d+)", qkv[0][1]).group(1)
        assert f"Layer {layer}, head {head}, token {token}" in qkv[1][1]
        assert f"looks most at {qkv[0][2]}" in qkv[1][1]
    else:  # how many keys the mask hides (a tiny random model has no clear row)
        layer, head = where.groups()
        token = int(re.search(r"token (\d+)", qkv[0][1]).group(1))
        assert f"Layer {layer}, head {head}, token {token} " in qkv[1][1]
        assert f"The mask hid the {qkv[0][2]} token" in qkv[1][1]

    sampling = lesson(steps, 2)
    top = re.search(r"top next token is (\S+) with probability (\S+) at T = 1", sampling[0][1]).groups()
    assert f"the top token {top[0]} has {top[1]} at T = 1 and {sampling[0][2]} at T = 1.5" in sampling[1][1]

    template = lesson(steps, 3)
    if pack == "offline":
        assert "Which token starts its reply?" in template[0][1]
        assert f"it replies: {template[0][2]}" in template[1][1], "the predicted first token starts the run's reply"
    else:
        assert "has no chat template" in template[0][1] and "has no chat template" in template[1][1]
        assert f"reads your words as they are: {template[0][2]} tokens" in template[1][1], \
            "the predicted count is the run's"


@pytest.mark.parametrize(("pack", "own"), [("tiny", "The dog slept."), ("tiny", LONGEST), ("offline", LONGEST)])
async def test_part_four_carries_a_learners_own_sentence_with_no_dead_end(tmp_path: Path, pack: str, own: str):
    """A short sentence, and the longest a lesson takes: every step and every reveal still fits a phone."""
    with study_group(sqlite_url(tmp_path), pack=pack) as cls:
        steps = await walk(cls, own=own)
    runs = [s[1] for s in steps[1::5]]
    assert all(own in run for run in runs), "every run reads the learner's sentence"
