"""TUTOR_SECRET: one secret per database, kept in the database as a fingerprint. A second process with
another secret is refused at start (one line) and its tutor commands say why, so one person never
becomes two learners; a secret that cannot be kept is said at start and by `tutor doctor`, and the
tutor's commands answer with a sentence, never the apology and a traceback; `tutor rotate-secret`
starts everyone afresh under a new secret. On SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.ops.admin import check_secret, doctor, rotate_secret
from core.engine import Engine
from core.policy import Outcome, Policy, Request, Verdict
from core.settings import ConfigError, Settings
from core.store import Database
from core.store.learners import LearnerStore
from core.tutor.keys import UNKEPT, fingerprint
from core.tutor.privacy import MISMATCHED, SecretMismatch
from tests.bot.ops.test_ops_failures import assert_one_line, tutor
from tests.support.postgres import database_url, postgres_server  # noqa: F401 - the fixtures
from tests.support.tutor import SECRET, answered, button, rows_of, settings_for, study_group

OTHER = "another secret, also of more than sixteen characters"


@contextmanager
def _database(url: str) -> Iterator[Database]:
    db = Database(url)
    try:
        yield db
    finally:
        db.close()


def ask(policy: Policy, user: str, line: str, n: int) -> Outcome:
    request = Request("test", user, line=line, request_id=f"{user}-{n}", place=f"dm-{user}", direct=True)
    return asyncio.run(policy.handle(request))


async def test_a_second_process_with_another_secret_is_refused_and_splits_nobody(database_url: str,  # noqa: F811
                                                                               caplog: pytest.LogCaptureFixture):
    with study_group(database_url) as first:
        asked = await first.say("ada", "/quiz cls-id", direct=True)
        await first.click("ada", button(asked, "A"), direct=True)
        learners_before = {r["id"] for r in rows_of(database_url)["tutor_learners"]}
        with study_group(database_url, secret=OTHER) as second, caplog.at_level(logging.WARNING):
            with pytest.raises(SecretMismatch) as refused:
                check_secret(second.engine.settings)  # what `tutor run` and `tutor chat` do at start
            assert "\n" not in str(refused.value) and "tutor rotate-secret" in str(refused.value)
            outcome = await second.say("ada", "/progress", direct=True)
            assert outcome.verdict is Verdict.USER_ERROR and outcome.message == MISMATCHED
            assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "no traceback, no apology"
        assert {r["id"] for r in rows_of(database_url)["tutor_learners"]} == learners_before, "still one ada"
        assert "Your progress" in answered(await first.say("ada", "/progress", direct=True)).answer


def test_a_secret_that_cannot_be_kept_is_said_at_start_and_the_tutor_answers_with_a_sentence(
        tmp_path: Path, caplog: pytest.LogCaptureFixture):
    """TUTOR_SECRET unset and a cache dir where no file can be written (under a file: root cannot either)."""
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    settings = Settings(pack="tiny", cache_dir=blocked / "cache", cooldown_s=0.0,
                        database_url=f"sqlite:///{tmp_path / 'tutor.db'}")
    with caplog.at_level(logging.INFO):
        check_secret(settings)
        told = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(told) == 1 and "TUTOR_SECRET is not set" in told[0] and "cannot be kept" in told[0]
        engine = Engine(settings)
        policy = Policy(engine)
        try:
            for n, line in enumerate(("/progress", "/mydata", "/progress")):
                outcome = ask(policy, "ada", line, n)
                assert outcome.verdict is Verdict.USER_ERROR and outcome.message == UNKEPT, outcome
        finally:
            engine.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], "no traceback"
    requests = [r.getMessage() for r in caplog.records if r.getMessage().startswith("request ")]
    assert len({re.search(r" user=([0-9a-f]{12}) ", line)[1] for line in requests}) == 1, requests
    report = doctor(settings, {}, hub_ok=lambda: False)
    assert any(line.startswith("  PROBLEM: Secret: TUTOR_SECRET is not set") for line in report.lines), report.lines


def test_tutor_chat_refuses_to_start_on_another_secret_and_rotate_secret_starts_everyone_afresh(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'tutor.db'}"
    with _database(url) as db:
        LearnerStore(db).keyed_with(fingerprint(SECRET.encode()))
        LearnerStore(db).touch("a" * 64, 1000.0)
    chat = tutor("--pack", "tiny", "chat", cwd=tmp_path, stdin="/quit\n", TUTOR_DATABASE_URL=url, TUTOR_SECRET=OTHER)
    assert_one_line(chat, 2, "Configuration error: The tutor's secret (TUTOR_SECRET) is not the one",
                    "tutor rotate-secret")
    told = tutor("rotate-secret", cwd=tmp_path, TUTOR_DATABASE_URL=url, TUTOR_SECRET=OTHER)
    assert told.returncode == 1 and "deletes every learner's records" in told.stdout
    assert "a" * 64 in repr(rows_of(url)), "nothing deleted without --yes"
    done = tutor("rotate-secret", "--yes", cwd=tmp_path, TUTOR_DATABASE_URL=url, TUTOR_SECRET=OTHER)
    assert done.returncode == 0 and "1 tutor_learners" in done.stdout, done.stdout + done.stderr
    assert rows_of(url)["tutor_learners"] == []
    chat = tutor("--pack", "tiny", "chat", cwd=tmp_path, stdin="/quit\n", TUTOR_DATABASE_URL=url, TUTOR_SECRET=OTHER)
    assert chat.returncode == 0, chat.stderr
    old = tutor("--pack", "tiny", "chat", cwd=tmp_path, stdin="/quit\n", TUTOR_DATABASE_URL=url, TUTOR_SECRET=SECRET)
    assert_one_line(old, 2, "is not the one this database's learners are keyed with")


def test_rotation_keys_the_database_with_the_new_secret_on_both_databases(database_url: str):  # noqa: F811
    old, new = settings_for(database_url), settings_for(database_url, secret=OTHER)
    check_secret(old)
    with _database(database_url) as db:
        LearnerStore(db).touch("a" * 64, 1000.0)
    assert rotate_secret(new, yes=False, out=lambda _: None) == 1
    assert rotate_secret(new, yes=True, out=lambda _: None) == 0
    assert rows_of(database_url)["tutor_learners"] == []
    check_secret(new)
    with pytest.raises(ConfigError, match="not the one this database's learners are keyed with"):
        check_secret(old)
    report = doctor(old, {}, hub_ok=lambda: False)
    assert any("PROBLEM: The tutor's secret (TUTOR_SECRET) is not the one" in line for line in report.lines)
    report = doctor(new, {}, hub_ok=lambda: False)
    assert "  It is the secret this database's learners are keyed with." in report.lines
    assert "Secret: TUTOR_SECRET" in report.lines


def test_the_fingerprint_says_only_whether_two_secrets_are_the_same() -> None:
    assert fingerprint(SECRET.encode()) == fingerprint(SECRET.encode()) != fingerprint(OTHER.encode())
    assert SECRET.encode().hex() not in fingerprint(SECRET.encode()) and len(fingerprint(b"x" * 16)) == 64
