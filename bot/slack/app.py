"""The Slack adapter: slash commands, mentions, DMs, buttons, selects and modals, on slack-bolt's asyncio app.

AsyncApp because the policy is async: listeners await `Policy.handle` on the same event loop, and
the engine already moves model work to its own threads.

Socket Mode (an `xapp-` token, no public URL) is the default; HTTP mode serves the Events API (and
the interactivity requests) on `SLACK_HOST:SLACK_PORT`, verified with the signing secret
(bot/slack/http.py). Where each answer goes: bot/slack/deliver.py. How it looks: bot/slack/render.py
and bot/slack/blocks.py.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapter import Adapter
from bot.slack.config import VARIABLES, SlackConfig
from bot.slack.config import check as check_env
from bot.slack.deliver import Courier, error_code
from bot.slack.http import EVENTS_PATH, build_http_app
from bot.slack.listeners import Listeners
from bot.slack.people import Admins
from core.settings import ConfigError

log = logging.getLogger("tutor.slack")
BOLT_LOG = logging.getLogger("slack_bolt.tutor")
"""bolt's base logger. Left at NOTSET, so bolt's loggers (and the Socket Mode client's) inherit the cap
bot/ops/logs.py puts on `slack_bolt`; without it, bolt copies the root's level, and at DEBUG logs whole
payloads: the learner's text and raw user ids."""

RATE_LIMIT_RETRIES = 2
"""How often one Web API call waits out a 429 (Retry-After) before giving up."""
REJECTED = ("invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive")


def retry_handlers() -> list[Any]:
    return [AsyncConnectionErrorRetryHandler(), AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)]


class SlackAdapter(Adapter):
    """Slack, through slack-bolt: `SlackAdapter(policy, env)`, then `await serve()` until `stop()`."""

    name = "slack"
    title = "Slack"
    variables = VARIABLES
    network = "outbound HTTPS to slack.com (Socket Mode also wss-primary.slack.com), or SLACK_API_URL"

    def __init__(self, policy: Any, env: Mapping[str, str]) -> None:
        super().__init__(policy, env)
        self.config = SlackConfig.read(env)
        self.listeners: Listeners | None = None
        self._stopping = asyncio.Event()

    @classmethod
    def check(cls, env: Mapping[str, str]) -> None:
        check_env(env)

    @classmethod
    def how_to_enable(cls) -> str:
        return "SLACK_BOT_TOKEN with SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP) for Slack"

    @classmethod
    def summary(cls, env: Mapping[str, str]) -> str:
        return SlackConfig.read(env).describe()

    @classmethod
    def addresses(cls, env: Mapping[str, str]) -> list[tuple[str, int, str]]:
        config = SlackConfig.read(env)
        what = f"SLACK_HOST {config.host} / SLACK_PORT {config.port} (Slack's Events API)"
        return [(config.host, config.port, what)] if config.http else []

    def build_app(self) -> AsyncApp:
        """The AsyncApp with every listener wired to the policy (tests wrap it in their own HTTP server)."""
        client = AsyncWebClient(token=self.config.bot_token or None, base_url=self.config.api_url,
                                retry_handlers=retry_handlers())
        app = AsyncApp(client=client, signing_secret=self.config.signing_secret, name="transformers-tutor",
                       logger=BOLT_LOG)
        self.listeners = Listeners(self.policy, Courier(client, retry_handlers()),
                                   Admins(client, self.policy.engine.registry))
        self.listeners.register(app)
        return app

    async def serve(self) -> None:
        """Connect and serve until `stop()` or cancellation; a missing or rejected token is a `ConfigError`."""
        self.check(self.env)
        app = self.build_app()
        try:
            await verify_token(app)
            if self.config.http:
                await self._serve_http(app)
            else:
                await self._serve_socket(app)
        finally:
            await self._cancel_timers()

    async def stop(self) -> None:
        self._stopping.set()
        await self._cancel_timers()

    async def idle(self) -> None:
        """Until no event is being answered (tests wait on this instead of sleeping)."""
        if self.listeners is not None:
            await self.listeners.inflight.idle()

    async def _cancel_timers(self) -> None:
        if self.listeners is not None:
            await self.listeners.timers.cancel_all()

    async def _serve_socket(self, app: AsyncApp) -> None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(app, self.config.app_token)
        try:
            await handler.connect_async()
            await self._stopping.wait()
        finally:
            await handler.close_async()

    async def _serve_http(self, app: AsyncApp) -> None:
        """The Events API on `host:port`; an address we cannot listen on is a ConfigError."""
        host, port = self.config.host, self.config.port
        runner = web.AppRunner(build_http_app(app, self.config.signing_secret))
        await runner.setup()
        try:
            try:
                await web.TCPSite(runner, host, port).start()
            except OSError as exc:  # in use, not an address of this machine, not an address at all
                raise ConfigError(f"Cannot serve the Slack Events API on {host}:{port} ({exc.strerror or exc}). "
                                  "Set SLACK_HOST and SLACK_PORT (or --host and --port).") from None
            log.info("Slack Events API listening on http://%s:%d%s", host, port, EVENTS_PATH)
            await self._stopping.wait()
        finally:
            await runner.cleanup()


async def verify_token(app: AsyncApp) -> None:
    """Fail at start on a rejected token, so a container exits (and is restarted) instead of idling."""
    try:
        await app.client.auth_test()
    except SlackApiError as exc:
        if error_code(exc) in REJECTED:
            raise ConfigError(f"Slack rejected SLACK_BOT_TOKEN ({error_code(exc)}). Copy the Bot User OAuth "
                              "Token (xoxb-...) from OAuth & Permissions again; see docs/slack.md.") from None
        raise
