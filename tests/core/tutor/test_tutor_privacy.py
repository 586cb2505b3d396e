"""Privacy: learners are keyed, never named; /mydata shows everything kept; /forget and the retention
purge leave no row of the learner (checked in every table of the database)."""
from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from core.settings import ConfigError
from core.tutor.privacy import SECRET_FILE, Keys, load_secret
from core.tutor.questions import LETTERS
from tests.support.postgres import database_url, postgres_server  # noqa: F401 - the fixtures
from tests.support.tutor import Class, answered, button, rows_of, sqlite_url, state_of, study_group

DAY_S = 86400.0

ADA = "ada-user-4711"
BO = "bo-user-0815"


@pytest.fixture()
def group(tmp_path: Path):
    with study_group(sqlite_url(tmp_path)) as cls:
        yield cls


def key_of(cls: Class, user: str) -> str:
    return Keys(state_of(cls).keys.secret).learner(cls.platform, user)


async def leave_traces(cls: Class, user: str) -> None:
    """A channel quiz answered, a DM quiz answered wrongly (a review item), a lesson with their own
    sentence, and a place on the group's board."""
    asked = await cls.say(user, "/quiz tokenizers")
    await cls.click(user, button(asked, "A"))
    await cls.click(user, button(asked, "Reveal"))
    alone = await cls.say(user, "/quiz cls-id", direct=True)
    await cls.click(user, button(alone, "B"), direct=True)
    lesson, name = await cls.say(user, "/learn"), user.split("-")[0]
    await cls.click(user, button(lesson, "Use my own sentence"), args={"text": f"My secret sentence, says {name}."})
    await cls.say("admin", "/board on", admin=True)
    await cls.say(user, f"/board join {name}")


async def test_forget_leaves_no_row_of_the_learner_and_keeps_everyone_elses(group: Class):
    await leave_traces(group, ADA)
    await leave_traces(group, BO)
    url = group.engine.settings.database_url
    before = repr(rows_of(url))
    assert ADA not in before and BO not in before, "no platform user id is ever stored"
    ada, bo = key_of(group, ADA), key_of(group, BO)
    assert ada in before and "My secret sentence, says ada" in before, "the lesson keeps her sentence while it runs"

    asked = await group.say(ADA, "/forget")
    assert answered(asked).show == "private" and "Yes, forget me" in [a.label for a in answered(asked).actions]
    assert button(await group.say(ADA, "/forget"), "Yes, forget me").style == "danger"
    kept = answered(await group.click(ADA, button(await group.say(ADA, "/forget"), "Cancel")))
    assert kept.answer == "Nothing was deleted." and ada in repr(rows_of(url))

    done = answered(await group.click(ADA, button(asked, "Yes, forget me")))
    assert done.show == "update" and "deleted" in done.answer
    after = rows_of(url)
    assert ada not in repr(after), [t for t, rows in after.items() if ada in repr(rows)]
    assert "says ada" not in repr(after) and "ada" not in [r["name"] for r in after["tutor_board"]]
    assert bo in repr(after) and len([r for r in after["tutor_answers"] if r["learner"] == bo]) == 2
    channel_rounds = [r for r in after["tutor_rounds"] if not r["solo"]]
    assert len(channel_rounds) == 2 and {r["asker"] for r in channel_rounds} == {None, bo}, \
        "her channel round stays for the others who answered it, without its asker"


async def test_mydata_shows_every_row_kept_about_the_learner_as_json(group: Class):
    await leave_traces(group, ADA)
    result = answered(await group.say(ADA, "/mydata"))
    assert result.show == "private"
    exported = json.loads(result.code)
    ada = key_of(group, ADA)
    in_db = {t: [r for r in rows if ada in repr(r)] for t, rows in rows_of(group.engine.settings.database_url).items()}
    assert {t: len(r) for t, r in exported["tables"].items()} == {t: len(r) for t, r in in_db.items() if r}
    assert exported["learner"] == ada and "My secret sentence" in result.code


async def test_learners_inactive_past_the_retention_are_purged(group: Class):
    await leave_traces(group, ADA)
    group.clock.now += 100 * 86400
    await group.say(BO, "/progress")
    group.clock.now += 81 * 86400  # ada: 181 days without activity; bo: 81
    await group.say("cy", "/progress")  # the first request of the day runs the purge
    tables = repr(rows_of(group.engine.settings.database_url))
    assert key_of(group, ADA) not in tables and key_of(group, BO) in tables


def test_the_secret_is_generated_once_into_the_cache_dir_readable_by_its_owner_only(tmp_path: Path):
    first = load_secret("", tmp_path)
    assert stat.S_IMODE(os.stat(tmp_path / SECRET_FILE).st_mode) == 0o600
    assert load_secret("", tmp_path) == first and len(first) >= 32
    assert load_secret("x" * 20, tmp_path) == b"x" * 20
    with pytest.raises(ConfigError, match="at least 16"):
        load_secret("short", tmp_path)
    keys, other = Keys(first), Keys(b"another secret entirely")
    assert keys.learner("discord", "1") != other.learner("discord", "1") != keys.learner("slack", "1")
    key = keys.learner("discord", "1")
    assert len(key) == 64 and set(key) <= set("0123456789abcdef"), "a hex HMAC-SHA256, nothing of the id"


async def test_a_wrong_answer_becomes_a_review_item_due_a_day_later_and_review_asks_it_afresh(group: Class):
    from core.tutor.questions import Question

    asked = await group.say(ADA, "/quiz cls-id", direct=True)
    rid = dict(button(asked, "A").args)["round"]
    key = Question.from_json(state_of(group).rounds.get(rid).question).key
    await group.click(ADA, button(asked, LETTERS[(key + 1) % 4]), direct=True)
    nothing = answered(await group.say(ADA, "/review"))
    assert "Nothing to review" in nothing.answer and "24 h" in nothing.answer
    group.clock.now += 86400
    review = answered(await group.say(ADA, "/review"))
    assert review.show == "private" and "Review" in review.answer and "which token has the id" in review.answer.lower()
    progress = answered(await group.say(ADA, "/progress"))
    assert "1 review item due" in progress.answer.replace("*", "")


async def answer_a_dm_quiz(cls: Class, user: str) -> None:
    asked = await cls.say(user, "/quiz cls-id", direct=True)
    await cls.click(user, button(asked, "A"), direct=True)


async def forget_me(cls: Class, user: str) -> None:
    done = answered(await cls.click(user, button(await cls.say(user, "/forget"), "Yes, forget me")))
    assert "deleted" in done.answer


async def test_rows_written_just_after_forget_are_purged_with_the_learner(database_url: str):  # noqa: F811
    """/forget clears the tutor's memory of recent activity, so the next request records the learner
    again, and the retention purge finds their new rows."""
    with study_group(database_url) as group:
        await answer_a_dm_quiz(group, ADA)
        await forget_me(group, ADA)
        group.clock.now += 60  # a minute later: well inside the hour in which activity is written once
        await answer_a_dm_quiz(group, ADA)
        ada = key_of(group, ADA)
        assert [r["id"] for r in rows_of(database_url)["tutor_learners"]] == [ada], "she is a learner again"
        group.clock.now += 181 * DAY_S
        await group.say(BO, "/progress")  # the day's first request runs the purge
        assert ada not in repr(rows_of(database_url))


async def test_rows_another_process_writes_after_forget_are_found_by_the_purge(database_url: str):  # noqa: F811
    """Two bot processes on one database: the second saw her minutes ago, so it writes her answer without a
    learner row. The purge finds such rows through every learner column, counts retention from their
    newest activity, and deletes them once that is past."""
    clock = None
    with study_group(database_url) as first, study_group(database_url, first.clock) as second:
        clock = first.clock
        await answer_a_dm_quiz(second, ADA)  # the second process remembers her as active
        await forget_me(first, ADA)
        clock.now += 60
        await answer_a_dm_quiz(second, ADA)
        ada = key_of(first, ADA)
        assert ada in repr(rows_of(database_url)["tutor_answers"])
        assert ada not in repr(rows_of(database_url)["tutor_learners"]), "the second process wrote no learner row"
        clock.now += 10 * DAY_S
        await first.say(BO, "/progress")
        assert ada in repr(rows_of(database_url)["tutor_answers"]), "ten days: her answer stays"
        clock.now += 171 * DAY_S
        await first.say(BO, "/progress")
        assert ada not in repr(rows_of(database_url)), "181 days after her last answer: nothing of her is left"


async def test_forgotten_keys_are_gone_from_the_sqlite_files_not_only_from_the_tables(tmp_path: Path):
    """Deleted rows stay in a SQLite file's free pages and in its write-ahead log unless secure deletion
    overwrites them and the log is checkpointed and truncated: the bytes on disk are checked."""
    with study_group(sqlite_url(tmp_path)) as group:
        await leave_traces(group, ADA)
        await leave_traces(group, BO)
        ada, bo = key_of(group, ADA).encode(), key_of(group, BO).encode()
        files = [tmp_path / "tutor.db", tmp_path / "tutor.db-wal"]
        assert any(ada in f.read_bytes() for f in files if f.exists())
        await forget_me(group, ADA)
        on_disk = b"".join(f.read_bytes() for f in files if f.exists())
        assert ada not in on_disk and b"says ada" not in on_disk
        assert bo in on_disk, "everyone else's rows are still there"


async def test_logs_name_a_learner_by_their_keyed_id_never_by_a_hash_anyone_can_compute(
        group: Class, caplog: pytest.LogCaptureFixture):
    """A log line's `user=` is the start of the learner's HMAC key: without the server's secret nobody can
    find a person's lines by hashing their public platform id, and after /forget the key names no row."""
    with caplog.at_level("INFO", logger="tutor.requests"):
        await answer_a_dm_quiz(group, ADA)
        await forget_me(group, ADA)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    named = {line.split(" user=")[1].split()[0] for line in logged.splitlines() if " user=" in line}
    assert named == {key_of(group, ADA)[:12]}, logged
    unkeyed = hashlib.sha256(ADA.encode()).hexdigest()
    assert ADA not in logged and unkeyed[:12] not in logged
    assert key_of(group, ADA)[:12] not in repr(rows_of(group.engine.settings.database_url))
