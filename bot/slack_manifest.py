"""The Slack app manifest, generated from the command registry.

Generated rather than hand-written so a command added to `core/commands.py` shows up in
Slack as soon as the app is re-created (or its manifest pasted) from `tutor slack manifest`.
Only the commands a learner can type (`registry.visible()`) become slash commands; hidden ones
are reached through buttons. Interactivity is on, so buttons, selects and modals reach the bot
(over Socket Mode, or at the request URL in HTTP mode: `tutor slack manifest --request-url URL`
turns Socket Mode off and points every slash command, the event subscriptions and interactivity
at URL, the address where Slack reaches `tutor slack --http` through your HTTPS proxy).
Slack's slash commands take one line of text: no menus, no autocomplete, so a command's choices
and verbs are typed (`/board join Ada`) and `/help <command>` lists them.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from core.registry import Command, Registry
from core.settings import ConfigError

APP_NAME = "Transformers Tutor"
BOT_NAME = "Tutor"
BOT_SCOPES = ("commands", "chat:write", "files:write", "app_mentions:read", "im:history", "im:read", "im:write",
              "users:read")
"""`im:write` opens the DM a private copy's picture goes to; `users:read` tells workspace admins
(bot/slack_people.py), asked only by the commands that need to know."""
BOT_EVENTS = ("app_mention", "message.im")
USAGE_HINT_LIMIT = 100
"""Keep hints short: Slack shows them inline while the learner types."""


def usage_hint(command: Command) -> str:
    """The first example without its `/name ` prefix, e.g. `I love this`."""
    if not command.examples:
        return ""
    hint = command.examples[0].strip()
    prefix = f"/{command.name}"
    if hint.startswith(prefix):
        hint = hint[len(prefix):].strip()
    return hint if len(hint) <= USAGE_HINT_LIMIT else hint[: USAGE_HINT_LIMIT - 1] + "…"


def request_url_checked(url: str) -> str:
    """The request URL as Slack accepts it: an https:// address with a host; `ConfigError` otherwise."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port  # a port that is no number raises here
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme != "https" or not parts.hostname or (port is not None and port <= 0):
        raise ConfigError(f"--request-url must be the https:// address Slack calls, such as "
                          f"https://tutor.example.org/slack/events; {url[:80]!r} is not one (Slack calls HTTPS "
                          "only: put the proxy that terminates TLS in front of `tutor slack --http`).")
    return url


def _slash_command(command: Command, request_url: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "command": f"/{command.name}",
        "description": command.description,
        "should_escape": False,  # plain text for the models; the adapter escapes what it echoes
    }
    hint = usage_hint(command)
    if hint:
        entry["usage_hint"] = hint
    if request_url:
        entry["url"] = request_url
    return entry


def manifest(registry: Registry, *, request_url: str | None = None, name: str = APP_NAME) -> dict[str, Any]:
    """The app manifest: Socket Mode by default, the Events API at `request_url` when given."""
    events: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    if request_url:
        events["request_url"] = request_url
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": name,
            "description": "Learn Hugging Face Transformers by trying it: every answer shows the code.",
            "background_color": "#2c2d30",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": False,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": BOT_NAME, "always_online": True},
            "slash_commands": [_slash_command(c, request_url) for c in registry.visible()],
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "event_subscriptions": events,
            "interactivity": {"is_enabled": True, **({"request_url": request_url} if request_url else {})},
            "org_deploy_enabled": False,
            "socket_mode_enabled": not request_url,
            "token_rotation_enabled": False,
        },
    }


def manifest_text(registry: Registry, *, fmt: str = "yaml", request_url: str | None = None) -> str:
    """The manifest as YAML (what Slack's "Create from manifest" dialog shows) or JSON."""
    data = manifest(registry, request_url=request_url)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt != "yaml":
        raise ValueError(f"fmt must be yaml or json, not {fmt!r}")
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML ships with huggingface_hub; JSON is valid YAML
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)
