"""The study-group board: an admin turns it on, learners join under a name they choose, the leaderboard
shows points, hit rate and the most improved, and /forget takes a learner off it."""
from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.policy import Verdict
from core.store import Database
from core.store.board import BoardStore
from core.store.database import migrate
from core.store.schema import MIGRATIONS
from core.tutor.board import WEEK_S
from core.tutor.names import normalised, skeleton
from core.tutor.questions import LETTERS, Question
from core.tutor.quiz import RIGHT_POINTS, TRY_POINTS
from tests.support.postgres import database_url, postgres_server  # noqa: F401 - the fixtures
from tests.support.tutor import Class, answered, button, sqlite_url, state_of, study_group, text


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
    for extra in ("/board on off", "/board off now", "/board leave it"):  # `/board on off` once turned it on
        outcome = await group.say("boss", extra, admin=True)
        assert outcome.verdict is Verdict.USER_ERROR and "takes nothing after it" in outcome.message, extra
    assert "board is off" in answered(await group.say("ada", "/board join Ada")).answer, "still off"
    assert "**on**" in answered(await group.say("boss", "/board on", admin=True)).answer
    for bad in ("<@123>", "@everyone", "x" * 30, "<!here>", "a`b"):
        outcome = await group.say("ada", f"/board join {bad}")
        assert outcome.verdict is Verdict.USER_ERROR and "display name" in outcome.message, bad
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
    assert bad.verdict is Verdict.ANSWER, "no board: the period is not even looked at"


async def test_board_names_are_normalised_visible_and_never_look_like_another_members(database_url: str):  # noqa: F811
    with study_group(database_url) as cls:
        await cls.say("boss", "/board on", admin=True)
        assert "as **Ada**" in answered(await cls.say("ada", "/board join Ada")).answer
        for filler in ("\u3164", "Bo\u3164", "\u115fBo", "B\uffa0o", "Bo \u2800"):
            outcome = await cls.say("bo", f"/board join {filler}")
            assert outcome.verdict is Verdict.USER_ERROR and "show as nothing" in outcome.message, repr(filler)
        for lookalike in ("\u0410da", "ADA", "\uff21\uff44\uff41", "Ád\u00e1", "A da", "ada.", "\u0391d\u0251"):
            outcome = await cls.say("bo", f"/board join {lookalike}")
            assert outcome.verdict is Verdict.USER_ERROR and "looks like **Ada**" in outcome.message, repr(lookalike)
        assert "as **Cy**" in answered(await cls.say("cy", "/board join \uff23\uff59")).answer, "NFKC: plain letters"
        assert "as **ADA**" in answered(await cls.say("ada", "/board join ADA")).answer, "her own name, restyled"
        assert "as **Bo**" in answered(await cls.say("bo", "/board join Bo")).answer
        other_server = dataclasses.replace(cls, group="server-2", place="channel-9")
        await other_server.say("boss", "/board on", admin=True)
        assert "as **Ada**" in answered(await other_server.say("di", "/board join Ada")).answer, "unique per board"
        names = {name for _, name in state_of(cls).board.members(state_of(cls).keys.group("test", "server-1"))}
        assert names == {"ADA", "Bo", "Cy"}


def test_two_look_alike_names_joining_at_once_from_two_processes_get_one_place(database_url: str):  # noqa: F811
    """The unique index on a name's skeleton decides, not a check in one process: of 8 learners joining
    8 spellings of one name at the same moment, each through its own connection pool, one joins."""
    spellings = ("Ada", "ADA", "\u0410da", "ada", "A da", "Ad\u0430", "\uff21da", "ada.")
    setup = Database(database_url)
    BoardStore(setup).switch("g" * 64, True, 1.0)
    start = threading.Barrier(len(spellings))

    def join(n: int) -> bool:
        db = Database(database_url)
        try:
            start.wait(timeout=60)
            name = normalised(spellings[n])
            return BoardStore(db).join("g" * 64, f"{n:064d}", name, skeleton(name), 2.0)
        finally:
            db.close()

    with ThreadPoolExecutor(len(spellings)) as pool:
        joined = list(pool.map(join, range(len(spellings))))
    assert joined.count(True) == 1 and len(BoardStore(setup).members("g" * 64)) == 1
    assert BoardStore(setup).join("g" * 64, "x" * 64, "Bo", skeleton("Bo"), 3.0), "another name still joins"
    setup.close()


def test_the_board_names_migration_adds_the_skeleton_to_an_older_database(database_url: str):  # noqa: F811
    """A database from before the migration: its members keep their names (with no skeleton, which never
    clashes), and the unique index holds from then on."""
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        for step in MIGRATIONS[:3]:
            step(conn)
        conn.execute(sa.text("DROP TABLE tutor_board"))
        conn.execute(sa.text("CREATE TABLE tutor_board (grp VARCHAR(64) NOT NULL, learner VARCHAR(64) NOT NULL, "
                             "name VARCHAR(32) NOT NULL, joined FLOAT NOT NULL, PRIMARY KEY (grp, learner))"))
        conn.execute(sa.text("INSERT INTO tutor_meta (key, value) VALUES ('schema_version', '3')"))
        for who, name in (("a", "Ada"), ("b", "ADA")):  # look-alikes joined before the rule
            conn.execute(sa.text("INSERT INTO tutor_board VALUES (:g, :l, :n, 1.0)"),
                         {"g": "g" * 64, "l": who * 64, "n": name})
    assert migrate(engine) == len(MIGRATIONS)
    engine.dispose()
    store = BoardStore(Database(database_url))
    assert sorted(name for _, name in store.members("g" * 64)) == ["ADA", "Ada"]
    assert store.join("g" * 64, "c" * 64, "Cy", skeleton("Cy"), 2.0)
    assert not store.join("g" * 64, "d" * 64, "CY", skeleton("CY"), 2.0)
    store.db.close()
