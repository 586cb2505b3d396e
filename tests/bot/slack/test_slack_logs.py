"""At DEBUG, no library logs a learner's text or raw Slack ids unless TUTOR_DEBUG_LIBRARIES asks for it."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot.ops.logs import LIBRARY_LOGGERS, set_library_levels
from core.engine import Engine
from core.settings import Settings

try:
    from tests.support.fake_slack import BOT_USER, FAKE_COMMANDS, slack_bot
except ImportError:  # tests/ imported as a package
    from tests.support.fake_slack import BOT_USER, FAKE_COMMANDS, slack_bot

CANARY_TEXT = "canary-text-5d41402a"
CANARY_USER = "UCANARY7F3A"


@pytest.fixture(scope="module")
def engine(tiny_settings: Settings) -> Iterator[Engine]:
    engine = Engine(tiny_settings, registry=FAKE_COMMANDS)
    yield engine
    engine.close()


@pytest.fixture(autouse=True)
def restore_library_levels() -> Iterator[None]:
    saved = {name: logging.getLogger(name).level for name in LIBRARY_LOGGERS}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def test_libraries_stay_at_info_when_debug_is_asked() -> None:
    set_library_levels(logging.DEBUG)
    assert {logging.getLogger(n).getEffectiveLevel() for n in LIBRARY_LOGGERS} == {logging.INFO}
    assert logging.getLogger("slack_sdk.web.async_base_client").getEffectiveLevel() == logging.INFO


def test_a_higher_level_is_kept_and_the_switch_lifts_the_cap() -> None:
    set_library_levels("WARNING")
    assert logging.getLogger("slack_bolt").getEffectiveLevel() == logging.WARNING
    set_library_levels("DEBUG", debug_libraries=True)
    assert logging.getLogger("slack_bolt").level == logging.NOTSET, "inherits the root's DEBUG"


def test_tutor_debug_libraries_is_a_setting() -> None:
    assert Settings().debug_libraries is False
    assert Settings.from_env({"TUTOR_DEBUG_LIBRARIES": "true"}).debug_libraries is True


async def converse(engine: Engine, settings: Settings) -> None:
    """A slash command and a mention from CANARY_USER, both with CANARY_TEXT, answered."""
    async with slack_bot(engine, settings) as fake:
        await fake.slash("/echo", CANARY_TEXT, user=CANARY_USER)
        event: dict[str, Any] = {"type": "app_mention", "user": CANARY_USER, "ts": "1700000020.000100",
                                 "channel": "C9", "text": f"<@{BOT_USER}> echo {CANARY_TEXT}"}
        await fake.event(event, event_id="EvCanary")
        await fake.wait_for(lambda: len(fake.calls_to("chat.postMessage")) == 2)


@pytest.mark.asyncio
@pytest.mark.parametrize("debug_libraries", [False, True])
async def test_debug_logs_hold_no_learner_text_or_raw_user_id(debug_libraries: bool, engine: Engine,
                                                              tiny_settings: Settings,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    set_library_levels(logging.DEBUG, debug_libraries=debug_libraries)
    await converse(engine, tiny_settings)
    logged = caplog.text
    assert "request platform=slack command=echo" in logged, "our own request lines are there, user hashed"
    if debug_libraries:  # the control: the libraries do log bodies, so the check below can fail
        assert CANARY_TEXT in logged and CANARY_USER in logged
    else:
        assert CANARY_TEXT not in logged and CANARY_USER not in logged
