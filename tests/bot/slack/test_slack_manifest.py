"""The Slack manifest is generated from the registry and parses as YAML and JSON; `tutor slack manifest
--request-url URL` is the HTTP mode's."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.slack.manifest import BOT_EVENTS, BOT_SCOPES, manifest, manifest_text, request_url_checked, usage_hint
from core.commands import build_registry
from core.registry import Command, Registry
from core.settings import ConfigError
from tests.support.paths import ROOT, TEST_CACHE
from tests.support.toy_registry import TOY_REGISTRY


def test_manifest_lists_every_command_with_description_and_hint() -> None:
    registry = build_registry()
    data = manifest(registry)
    commands = {c["command"]: c for c in data["features"]["slash_commands"]}
    assert set(commands) == {f"/{c.name}" for c in registry.visible()}, "hidden commands are reached by buttons"
    for command in registry.visible():
        entry = commands[f"/{command.name}"]
        assert entry["description"] == command.description and len(entry["description"]) <= 100
        assert "url" not in entry
    assert commands["/sentiment"]["usage_hint"] == "I love this"
    assert commands["/attention"]["usage_hint"] == "The cat sat on the mat. layer=0 head=0"
    assert "usage_hint" not in commands["/models"], "no arguments, no hint"


def test_manifest_scopes_events_socket_mode_and_messages_tab() -> None:
    data = manifest(build_registry())
    assert set(data["oauth_config"]["scopes"]["bot"]) == {
        "commands", "chat:write", "files:write", "app_mentions:read", "im:history", "im:read", "im:write",
        "users:read"}
    assert set(BOT_SCOPES) == set(data["oauth_config"]["scopes"]["bot"])
    assert data["settings"]["event_subscriptions"]["bot_events"] == list(BOT_EVENTS) == ["app_mention", "message.im"]
    assert data["settings"]["socket_mode_enabled"] is True
    assert data["settings"]["interactivity"] == {"is_enabled": True}, "buttons, selects and modals reach the bot"
    assert data["features"]["app_home"]["messages_tab_enabled"] is True
    assert data["features"]["app_home"]["messages_tab_read_only_enabled"] is False


def test_http_manifest_points_at_the_request_url() -> None:
    url = "https://tutor.example.org/slack/events"
    data = manifest(build_registry(), request_url=url)
    assert data["settings"]["socket_mode_enabled"] is False
    assert data["settings"]["event_subscriptions"]["request_url"] == url
    assert all(c["url"] == url for c in data["features"]["slash_commands"])
    assert data["settings"]["interactivity"] == {"is_enabled": True, "request_url": url}


def test_hidden_commands_are_reached_by_buttons_only() -> None:
    think = TOY_REGISTRY.get("think")
    hidden = Command("reveal", "Reveal a quiz.", (), ("/reveal",), think.handler, hidden=True)
    registry = Registry([*TOY_REGISTRY, hidden])
    listed = {c["command"] for c in manifest(registry)["features"]["slash_commands"]}
    assert listed == {f"/{c.name}" for c in TOY_REGISTRY} and "/reveal" not in listed


def test_printed_manifest_round_trips() -> None:
    registry = build_registry()
    assert yaml.safe_load(manifest_text(registry)) == manifest(registry)
    assert json.loads(manifest_text(registry, fmt="json")) == manifest(registry)


def test_usage_hint_is_short() -> None:
    for command in build_registry():
        assert len(usage_hint(command)) <= 100


def tutor_slack(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """`tutor slack ...` as typed, in a folder with no .env."""
    environment = {**os.environ, "TUTOR_CACHE_DIR": str(TEST_CACHE), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bot", "slack", *args], cwd=tmp_path, capture_output=True,
                          text=True, env=environment, timeout=300, check=False)


def test_tutor_slack_manifest_with_a_request_url_is_the_http_mode_manifest(tmp_path: Path) -> None:
    url = "https://tutor.example.org/slack/events"
    done = tutor_slack("manifest", "--request-url", url, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(done.stdout)
    settings = data["settings"]
    assert settings["socket_mode_enabled"] is False
    assert settings["event_subscriptions"] == {"bot_events": list(BOT_EVENTS), "request_url": url}
    assert settings["interactivity"] == {"is_enabled": True, "request_url": url}
    commands = data["features"]["slash_commands"]
    assert {c["command"] for c in commands} == {f"/{c.name}" for c in build_registry().visible()}
    assert all(c["url"] == url for c in commands)
    assert data == manifest(build_registry(), request_url=url)


def test_tutor_slack_manifest_without_a_request_url_is_socket_mode(tmp_path: Path) -> None:
    done = tutor_slack("manifest", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(done.stdout)
    assert data["settings"]["socket_mode_enabled"] is True and "request_url" not in data["settings"]["interactivity"]
    assert not any("url" in c for c in data["features"]["slash_commands"])


@pytest.mark.parametrize("url", ["http://tutor.example.org/slack/events", "tutor.example.org/slack/events",
                                 "https:///slack/events", "https://tutor.example.org:http/x"])
def test_a_request_url_slack_cannot_call_is_one_configuration_error(url: str) -> None:
    with pytest.raises(ConfigError, match="must be the https:// address Slack calls"):
        request_url_checked(url)


def test_a_bad_request_url_or_one_without_manifest_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = tutor_slack("manifest", "--request-url", "http://insecure.example.org/slack/events", tmp_path=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--request-url must be the https:// address" in done.stderr and done.stdout == ""
    running = tutor_slack("--request-url", "https://tutor.example.org/slack/events", tmp_path=tmp_path)
    assert running.returncode == 2 and "goes with `tutor slack manifest`" in running.stderr
