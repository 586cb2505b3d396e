"""TUTOR_DATABASE_URL's password is never shown: not when the URL is malformed (the start's one line,
`tutor doctor`), and not in a log line however short it is."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.ops.admin import doctor
from bot.ops.cli import RedactingFormatter, _secrets
from core.settings import Settings, shown_url
from tests.bot.ops.test_ops_failures import assert_one_line, tutor

PASSWORD = "hunter2-secret"
MALFORMED = (f"postgresql+psycopg://tutor:{PASSWORD}@127.0.0.1:notaport/tutor",  # a port that is not a number
             f"tutor:{PASSWORD}@db/tutor",  # no scheme
             f"postgresql+psycopg//tutor:{PASSWORD}@db/tutor")  # no ://


@pytest.mark.parametrize("url", MALFORMED)
def test_a_malformed_database_url_is_refused_in_one_line_without_its_password(url: str, tmp_path: Path) -> None:
    chat = tutor("--pack", "tiny", "chat", cwd=tmp_path, stdin="/quit\n", TUTOR_DATABASE_URL=url)
    line = assert_one_line(chat, 2, "Configuration error: TUTOR_DATABASE_URL is not a database URL", ":***@")
    assert PASSWORD not in chat.stdout + chat.stderr, line
    report = "\n".join(doctor(Settings(pack="tiny", database_url=url), {}, hub_ok=lambda: False).lines)
    assert "is not a database URL" in report and ":***@" in report and PASSWORD not in report


@pytest.mark.parametrize("password", ["pw7", "Zq7Wk0", "x", "p%40ss"])
def test_a_short_database_password_is_redacted_from_every_log_line(password: str) -> None:
    settings = Settings(database_url=f"postgresql+psycopg://tutor:{password}@db:5432/tutor")
    formatter = RedactingFormatter("%(message)s", _secrets(settings, {}))
    decoded = password.replace("%40", "@")
    record = logging.LogRecord("test", logging.ERROR, __file__, 1, "login with %s failed (%s); url=%s", (
        password, decoded, settings.database_url), None)
    line = formatter.format(record)
    assert password not in line and decoded not in line, line
    assert line.startswith("login with [redacted] failed ([redacted]);")
    assert shown_url(settings.database_url) == "postgresql+psycopg://tutor:***@db:5432/tutor"
