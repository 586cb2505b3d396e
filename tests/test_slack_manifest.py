"""The Slack manifest is generated from the registry and parses as YAML and JSON."""
from __future__ import annotations

import json

import yaml

from bot.slack_manifest import BOT_EVENTS, BOT_SCOPES, manifest, manifest_text, usage_hint
from core.commands import build_registry
from core.registry import Command, Registry
from tests.toy_registry import TOY_REGISTRY


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
