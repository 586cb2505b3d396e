"""The Slack adapter's settings: its environment variables, their format checks, and which mode runs.

The adapter owns these (the core holds no platform token): `tutor doctor` shows each variable's
state through `VARIABLES`, `tutor run` asks `check(env)` before anything connects, and log redaction
takes the secret ones.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.adapter import Variable
from core.settings import ConfigError

DEFAULT_API_URL = "https://slack.com/api/"
MODES = ("auto", "socket", "http")
DEFAULT_PORT = 3000
DEFAULT_HOST = "127.0.0.1"


def _pattern(regex: str, hint: str):
    return lambda value: None if re.fullmatch(regex, value) else hint


def _url(value: str) -> str | None:
    return None if re.match(r"https?://[^\s/]+", value) else "expected an http(s):// URL"


def _mode(value: str) -> str | None:
    return None if value.lower() in MODES else f"expected one of {', '.join(MODES)}"


def _port(value: str) -> str | None:
    return None if value.isdigit() and int(value) <= 65535 else "expected a port number 0-65535"


BOT_TOKEN = Variable("SLACK_BOT_TOKEN", "Bot User OAuth Token (OAuth & Permissions), xoxb-...", secret=True,
                     check=_pattern(r"xoxb-[A-Za-z0-9-]{10,}", "expected xoxb-…"))
APP_TOKEN = Variable("SLACK_APP_TOKEN", "App-level token with connections:write, for Socket Mode", secret=True,
                     check=_pattern(r"xapp-[A-Za-z0-9-]{10,}", "expected xapp-…"))
SIGNING_SECRET = Variable("SLACK_SIGNING_SECRET", "Signing secret (Basic Information), for HTTP mode", secret=True,
                          check=_pattern(r"[0-9a-f]{32}", "expected 32 hex characters"))
API_URL = Variable("SLACK_API_URL", "Web API base URL; empty for Slack itself (tests use a fake)", check=_url)
MODE = Variable("SLACK_MODE", "auto (Socket Mode when SLACK_APP_TOKEN is set, else HTTP), socket or http",
                check=_mode)
PORT = Variable("SLACK_PORT", "HTTP mode's port (3000)", check=_port)
HOST = Variable("SLACK_HOST", "HTTP mode's listening address (127.0.0.1; the Docker image sets 0.0.0.0)")
VARIABLES = (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, API_URL, MODE, PORT, HOST)


@dataclass(frozen=True)
class SlackConfig:
    """The values the adapter runs with, read from the environment mapping (os.environ merged with .env)."""

    bot_token: str = ""
    app_token: str = ""
    signing_secret: str = ""
    api_url: str = DEFAULT_API_URL
    mode: str = "auto"
    port: int = DEFAULT_PORT
    host: str = DEFAULT_HOST

    @classmethod
    def read(cls, env: Mapping[str, str]) -> SlackConfig:
        """Never raises: a malformed port or mode falls back to its default here, and `check` names it."""
        def get(variable: Variable) -> str:
            return str(env.get(variable.env, "") or "").strip()

        port = get(PORT)
        return cls(bot_token=get(BOT_TOKEN), app_token=get(APP_TOKEN), signing_secret=get(SIGNING_SECRET),
                   api_url=(get(API_URL) or DEFAULT_API_URL).rstrip("/") + "/", mode=get(MODE).lower() or "auto",
                   port=int(port) if _port(port) is None and port else DEFAULT_PORT, host=get(HOST) or DEFAULT_HOST)

    @property
    def http(self) -> bool:
        """HTTP (Events API) when asked for, or in auto mode when only the signing secret says how to connect."""
        return self.mode == "http" or (self.mode == "auto" and not self.app_token and bool(self.signing_secret))

    def describe(self) -> str:
        return f"slack ({'HTTP Events API' if self.http else 'Socket Mode'})"


MODE_HINT = ("(Socket Mode is used when SLACK_APP_TOKEN is set, HTTP when only SLACK_SIGNING_SECRET is; "
             "SLACK_MODE=socket or http chooses, and SLACK_PORT is HTTP's port.)")


def check(env: Mapping[str, str]) -> None:
    """Refuse to start half configured, naming the variable to set (`ConfigError`)."""
    for variable in (MODE, PORT):
        value = str(env.get(variable.env, "") or "").strip()
        problem = variable.check(value) if value and variable.check else None
        if problem:
            raise ConfigError(f"{variable.env} is malformed: {problem}; got `{value[:40]}`.")
    config = SlackConfig.read(env)
    if not config.bot_token:
        raise ConfigError(f"SLACK_BOT_TOKEN (xoxb-...) is not set. See docs/slack.md. {MODE_HINT}")
    if config.http and not config.signing_secret:
        raise ConfigError("HTTP mode needs SLACK_SIGNING_SECRET (Basic Information > App Credentials). "
                          + MODE_HINT)
    if not config.http and not config.app_token:
        raise ConfigError("Socket Mode needs SLACK_APP_TOKEN (xapp-..., scope connections:write), "
                          f"or HTTP mode with SLACK_SIGNING_SECRET. {MODE_HINT}")
