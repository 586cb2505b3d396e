"""The Slack adapter's own settings: its variables, their format checks, and the half-configured refusals."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.slack.app import SlackAdapter
from bot.slack.config import SlackConfig
from core.settings import ConfigError

ROOT = Path(__file__).resolve().parents[3]
GOOD = {"SLACK_BOT_TOKEN": "xoxb-1234567890-abcdef", "SLACK_APP_TOKEN": "xapp-1-A0123456789-abc",
        "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef"}


def example_values() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {m.group(1): m.group(2) for m in (re.match(r"^(?:# ?)?([A-Z_0-9]+)=(.*)$", line) for line in lines) if m}


def test_every_variable_is_documented_in_env_example_with_its_default() -> None:
    example = example_values()
    assert {v.env for v in SlackAdapter.variables} <= set(example)
    assert SlackConfig.read(example) == SlackConfig.read({}), ".env.example shows the defaults"


def test_only_tokens_and_the_signing_secret_are_secret() -> None:
    assert {v.env for v in SlackAdapter.variables if v.secret} == set(GOOD)
    assert set(SlackAdapter.secrets(GOOD)) == set(GOOD.values()), "log redaction finds every Slack secret"


@pytest.mark.parametrize(("variable", "value", "problem"), [
    ("SLACK_BOT_TOKEN", GOOD["SLACK_APP_TOKEN"], "expected xoxb-"),
    ("SLACK_APP_TOKEN", GOOD["SLACK_BOT_TOKEN"], "expected xapp-"),
    ("SLACK_SIGNING_SECRET", "not-hex-" * 4, "32 hex"),
    ("SLACK_MODE", "websocket", "auto, socket, http"),
    ("SLACK_PORT", "70000", "port number"),
    ("SLACK_API_URL", "slack.com/api", "http(s)://"),
])
def test_a_malformed_value_is_named_without_echoing_it(variable: str, value: str, problem: str) -> None:
    [declared] = [v for v in SlackAdapter.variables if v.env == variable]
    state = declared.state({variable: value})
    assert state.startswith("set, malformed:") and problem in state and value not in state
    good = {**GOOD, "SLACK_MODE": "socket", "SLACK_PORT": "3000", "SLACK_API_URL": "https://slack.com/api/"}
    assert declared.state(good) == "set, looks valid"


@pytest.mark.parametrize(("env", "described"), [
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, "slack (Socket Mode)"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s" * 32}, "slack (HTTP Events API)"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_SIGNING_SECRET": "s", "SLACK_MODE": "http"},
     "slack (HTTP Events API)"),
])
def test_the_mode_follows_the_tokens_unless_slack_mode_says(env: dict, described: str) -> None:
    SlackAdapter.check(env)
    assert SlackAdapter(None, env).describe() == described


@pytest.mark.parametrize(("env", "message"), [
    ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"),
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, "Socket Mode needs SLACK_APP_TOKEN"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_MODE": "http"}, "HTTP mode needs SLACK_SIGNING_SECRET"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_MODE": "sockets"}, "SLACK_MODE"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_PORT": "-1"}, "SLACK_PORT"),
])
def test_half_configured_slack_is_one_clear_error(env: dict, message: str) -> None:
    assert SlackAdapter.wanted(env)
    with pytest.raises(ConfigError, match=re.escape(message)):
        SlackAdapter.check(env)


def test_slack_is_not_wanted_without_a_secret() -> None:
    assert not SlackAdapter.wanted({"SLACK_MODE": "http", "SLACK_PORT": "3000"})


def test_how_to_switch_slack_on_names_the_bot_token_and_either_mode() -> None:
    """Socket Mode needs the app token, HTTP the signing secret: never all three together."""
    how = SlackAdapter.how_to_enable()
    assert "SLACK_BOT_TOKEN with SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP)" in how
    assert " with SLACK_APP_TOKEN with " not in how
