"""/quiz through the one policy: a channel round with several learners, a DM round, the timer, topics."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.policy import Verdict
from core.results import Timer
from core.tutor.questions import LETTERS, Question
from core.tutor.quiz import COLD, RIGHT_POINTS, TRY_POINTS
from tests.support.paths import ROOT, TEST_CACHE
from tests.support.tutor import Class, answered, button, rows_of, sqlite_url, state_of, study_group, text


@pytest.fixture()
def group(tmp_path: Path):
    with study_group(sqlite_url(tmp_path)) as cls:
        yield cls


def question_of(cls: Class, round_id: str) -> Question:
    found = state_of(cls).rounds.get(round_id)
    assert found is not None
    return Question.from_json(found.question)


def round_id(outcome) -> str:
    return dict(button(outcome, "A").args)["round"]


async def test_three_learners_answer_a_channel_quiz_once_each_then_the_asker_reveals_with_scores(group: Class):
    asked = await group.say("ada", "/quiz tokenizers")
    result = answered(asked)
    assert result.show == "reply" and isinstance(result.timer, Timer) and result.timer.seconds == 20
    assert [a.label[0] for a in result.actions[:4]] == list(LETTERS) and result.actions[4].label == "Reveal"
    assert result.timer.action_id == result.actions[4].id, "the timer runs the Reveal button"
    assert "snippet comes with the answer" in result.code, "the snippet prints the key: not before the reveal"
    rid = round_id(asked)
    key = question_of(group, rid).key
    choices = {"ada": key, "bo": (key + 1) % 4, "cy": key}
    for user, choice in choices.items():
        ack = answered(await group.click(user, button(asked, LETTERS[choice])))
        assert ack.show == "private" and f"You chose {LETTERS[choice]}" in ack.answer.replace("*", "")
    again = answered(await group.click("bo", button(asked, LETTERS[key])))
    assert again.show == "private" and "already answered" in again.answer and LETTERS[choices["bo"]] in again.answer
    early = answered(await group.click("bo", button(asked, "Reveal")))
    assert early.show == "private" and "Only the learner who asked" in early.answer

    revealed = answered(await group.click("ada", button(asked, "Reveal")))
    assert revealed.show == "update", "the reveal replaces the question for everyone"
    assert f"Answer: {LETTERS[key]}." in text(await group.click("ada", button(asked, "Reveal")))
    lines = revealed.answer.splitlines()
    assert "(right, 2 answers)" in lines[2 + key] and "3 answers, 2 right" in revealed.explanation
    assert "# It prints:" in revealed.code and all(why.strip() for why in lines[2:6])
    late = answered(await group.click("dee", button(asked, "A")))
    assert "closed" in late.answer

    rows = rows_of(group.engine.settings.database_url)["tutor_answers"]
    assert sorted(r["points"] for r in rows) == sorted([RIGHT_POINTS, RIGHT_POINTS, TRY_POINTS])
    assert len({r["learner"] for r in rows}) == 3 and all(r["round_id"] == rid for r in rows)
    progress = answered(await group.say("bo", "/progress"))
    assert progress.show == "private" and "1 answer, 0% right" in progress.answer.replace("*", "")
    assert "1 review item due" not in progress.answer, "a missed kind is due a day later, not at once"


async def test_a_second_quiz_waits_while_the_channel_has_one_open(group: Class):
    first = await group.say("ada", "/quiz")
    waiting = answered(await group.say("bo", "/quiz"))
    assert waiting.show == "private" and "A question is open here" in waiting.answer
    group.clock.now += 25  # the timer was lost (a restart): the old round is closed, a new one starts
    fresh = await group.say("bo", "/quiz")
    assert round_id(fresh) != round_id(first)
    closed = answered(await group.click("cy", button(first, "B")))
    assert "closed" in closed.answer


async def test_after_the_deadline_anyone_may_reveal_and_a_second_reveal_shows_the_same(group: Class):
    asked = await group.say("ada", "/quiz")
    group.clock.now += 21
    by_timer = answered(await group.click("ada", answered(asked).timer.action_id))
    by_other = answered(await group.click("bo", button(asked, "Reveal")))
    assert by_timer.answer == by_other.answer and by_other.show == "update"
    assert "Nobody answered" in by_timer.explanation


async def test_a_direct_quiz_reveals_at_once_with_the_learners_points(group: Class):
    asked = await group.say("ada", "/quiz attention-top", direct=True)
    result = answered(asked)
    assert result.timer is None and all(a.label != "Reveal" for a in result.actions)
    key = question_of(group, round_id(asked)).key
    wrong = LETTERS[(key + 1) % 4]
    revealed = answered(await group.click("ada", button(asked, wrong), direct=True))
    assert revealed.show == "update" and f"Answer: {LETTERS[key]}." in revealed.answer.replace("*", "")
    assert f"You chose {wrong}: not this time" in revealed.explanation and "/review" in revealed.explanation
    assert revealed.images and revealed.images[0].png.startswith(b"\x89PNG"), "an attention-top reveal shows the head"
    stranger = await group.click("bo", button(asked, wrong))
    assert stranger.verdict is Verdict.USER_ERROR and "not one I gave in this conversation" in stranger.message


async def test_a_reveal_opens_the_run_as_the_ordinary_command_for_the_clicker(group: Class):
    asked = await group.say("ada", "/quiz attention-top")
    await group.click("ada", button(asked, "A"))
    revealed = await group.click("ada", button(asked, "Reveal"))
    opened = answered(await group.click("bo", button(revealed, "Open as /attention")))
    question = question_of(group, round_id(asked))
    assert opened.command == "attention" and opened.show == "private"
    assert f"layer {question.inputs['layer']}, head {question.inputs['head']}" in opened.answer


async def test_topics_name_what_the_pack_serves_and_refuse_clearly(group: Class):
    for topic, expected in (("tokens", "tokenizers"), ("pipelines", "pipelines"), ("generation", "generation")):
        result = answered(await group.say(f"u-{topic}", f"/quiz {topic}", direct=True))
        assert f"Quiz: {expected}." in result.answer.replace("*", "")
    unknown = await group.say("ada", "/quiz cooking")
    assert unknown.verdict is Verdict.USER_ERROR and "tokenizers, pipelines, attention, generation" in unknown.message


async def test_the_offline_pack_says_which_kinds_it_cannot_ask(tmp_path: Path):
    with study_group(sqlite_url(tmp_path), pack="offline") as cls:
        refused = await cls.say("ada", "/quiz qa-span")  # a chat model writes its answer: no span to ask about
        assert refused.verdict is Verdict.USER_ERROR
        assert "`offline` pack cannot ask that" in refused.message and "/qa" in refused.message
        served = answered(await cls.say("ada", "/quiz pipelines", direct=True))
        assert served.answer.startswith("**Quiz: pipelines.**") and "span" not in served.answer.split("\n")[0], \
            served.answer
        assert served.notices == (COLD,), "a cold pool computes the first question and says so"


async def test_a_lesson_step_scores_once_however_often_back_or_learn_brings_it_back(group: Class):
    """The prediction of lesson 1 answered three times (first, after Back, after /learn restart): the
    points and the review count the first answer only; the others are kept as practice."""
    step = await group.say("ada", "/learn", direct=True)
    key = question_of(group, round_id(step)).key
    first = await group.click("ada", button(step, LETTERS[key]), direct=True)
    assert f"right, {RIGHT_POINTS} points" in answered(first).explanation
    run = await group.click("ada", button(first, "Continue the lesson"), direct=True)
    back = await group.click("ada", button(run, "Back"), direct=True)
    again = question_of(group, round_id(back))
    second = answered(await group.click("ada", button(back, LETTERS[again.key]), direct=True))
    assert "its points counted then" in second.explanation and "points." not in second.explanation
    restarted = await group.say("ada", "/learn restart", direct=True)
    third = question_of(group, round_id(restarted))
    missed = answered(await group.click("ada", button(restarted, LETTERS[(third.key + 1) % 4]), direct=True))
    assert "its points counted then" in missed.explanation

    rows = rows_of(group.engine.settings.database_url)
    answers = sorted(rows["tutor_answers"], key=lambda r: r["id"])
    assert [r["points"] for r in answers] == [RIGHT_POINTS, 0, 0]
    assert [r["purpose"] for r in answers] == ["lesson", "practice", "practice"]
    assert answers[0]["step"] == "sentiment:predict" and answers[1]["step"] is None
    assert not rows["tutor_reviews"], "the practice miss moved no review card"
    progress = answered(await group.say("ada", "/progress", direct=True))
    assert "1 answer, 100% right" in progress.answer.replace("*", ""), "practice is not counted twice"
    other = await group.say("bo", "/learn", direct=True)
    mine = question_of(group, round_id(other)).key
    theirs = answered(await group.click("bo", button(other, LETTERS[mine]), direct=True))
    assert f"right, {RIGHT_POINTS} points" in theirs.explanation, "once per learner: another learner scores"


def test_the_console_takes_a_quiz_answer_by_its_letter(tmp_path: Path):
    """`tutor chat`: a quiz's answers are numbered, and also chosen by their letter, either case."""
    environment = {**os.environ, "TUTOR_CACHE_DIR": str(TEST_CACHE), "PYTHONPATH": str(ROOT),
                   "TUTOR_DATABASE_URL": sqlite_url(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "bot", "--pack", "tiny", "chat"], cwd=tmp_path, env=environment,
                          input="/quiz tokenizers\nb\n/quiz tokenizers\nD\n/quit\n", capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("Next (type a number, or the letter of your answer):") == 2
    assert "You chose B: " in done.stdout and "You chose D: " in done.stdout
    assert "There is no command" not in done.stderr
