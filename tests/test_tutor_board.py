"""The study-group board: an admin turns it on, learners join under a name they choose, the leaderboard
shows points, hit rate and the most improved, and /forget takes a learner off it."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.policy import Kind
from core.tutor.board import WEEK_S
from core.tutor.questions import LETTERS, Question
from core.tutor.quiz import RIGHT_POINTS, TRY_POINTS
from tests.tutor_support import Class, answered, button, sqlite_url, state_of, study_group, text


@pytest.fixture()
def group(tmp_path: Path):
    with study_group(sqlite_url(tmp_path)) as cls:
        yield cls


async def play(cls: Class, right: dict[str, bool]) -> None:
    """One channel round on a fast kind: each learner answers right or wrong, then the asker reveals."""
    asked = await cls.say("host", "/quiz cls-id")
    rid = dict(button(asked, "A").args)["round"]
    key = Question.from_json(state_of(cls).rounds.get(rid).question).key
    for user, ok in right.items():
        await cls.click(user, button(asked, LETTERS[key if ok else (key + 1) % 4]))
    await cls.click("host", button(asked, "Reveal"))


async def test_only_an_admin_turns_the_board_on_and_learners_join_by_a_chosen_name(group: Class):
    refused = answered(await group.say("ada", "/board on"))
    assert "Only someone who can manage" in refused.answer and refused.show == "private"
    early = answered(await group.say("ada", "/board join Ada"))
    assert "board is off" in early.answer
    assert "**on**" in answered(await group.say("boss", "/board on", admin=True)).answer
    for bad in ("<@123>", "@everyone", "x" * 30, "<!here>", "a`b"):
        outcome = await group.say("ada", f"/board join {bad}")
        assert outcome.kind is Kind.USER_ERROR and "display name" in outcome.message, bad
    joined = answered(await group.say("ada", "/board join Ada L."))
    assert "as **Ada L.**" in joined.answer
    assert "on it as" in answered(await group.say("ada", "/board")).answer
    dm = answered(await group.say("ada", "/board", direct=True))
    assert "belongs to a server or workspace" in dm.answer


async def test_the_leaderboard_shows_points_hit_rate_and_the_most_improved_of_those_who_joined(group: Class):
    await group.say("boss", "/board on", admin=True)
    for user, name in (("ada", "Ada"), ("bo", "Bo")):
        await group.say(user, f"/board join {name}")
    for _ in range(3):  # last week: Ada right every time, Bo never
        await play(group, {"ada": True, "bo": False, "cy": True})
    group.clock.now += WEEK_S + 3600
    for _ in range(3):  # this week: both right every time
        await play(group, {"ada": True, "bo": True, "cy": True})
    week = answered(await group.say("bo", "/leaderboard week"))
    rows = {row[1]: row for row in week.table.rows}
    assert set(rows) == {"Ada", "Bo"}, "cy never joined, so cy is not shown"
    assert rows["Ada"][2:] == (str(3 * RIGHT_POINTS), "3", "100%") and rows["Bo"][2:] == (str(3 * RIGHT_POINTS), "3",
                                                                                         "100%")
    assert "Most improved this week: **Bo**, hit rate up 100%" in week.explanation
    overall = answered(await group.say("bo", "/leaderboard all"))
    assert [row[1] for row in overall.table.rows] == ["Ada", "Bo"]
    assert overall.table.rows[1][2:] == (str(3 * RIGHT_POINTS + 3 * TRY_POINTS), "6", "50%")

    await group.click("ada", button(await group.say("ada", "/forget"), "Yes, forget me"))
    after = answered(await group.say("bo", "/leaderboard all"))
    assert [row[1] for row in after.table.rows] == ["Bo"], "/forget takes a learner off the board"
    assert "Ada" not in text(await group.say("bo", "/leaderboard week"))


async def test_no_board_without_an_admin_turning_it_on(group: Class):
    result = answered(await group.say("ada", "/leaderboard week"))
    assert "no study-group board here" in result.answer and result.table is None
    bad = await group.say("ada", "/leaderboard month")
    assert bad.kind is Kind.ANSWER, "no board: the period is not even looked at"
