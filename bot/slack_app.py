"""The Slack adapter: slash commands, mentions and DMs, on slack-bolt's asyncio app.

AsyncApp because the engine is async: listeners await `core.service.answer` on the same
event loop, and the engine already moves model work to its own threads.

Socket Mode (an `xapp-` token, no public URL) is the default; `http=True` serves the
Events API on a port, verified with the signing secret.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import signal
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import ClientError, web
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack_http import EVENTS_PATH, build_http_app
from bot.slack_render import SlackMessage, render_error, render_result, unescape
from core.cooldown import Cooldown
from core.engine import Engine
from core.errors import UserError
from core.grammar import parse_line
from core.registry import Command
from core.results import Image
from core.service import answer
from core.settings import ConfigError, Settings
from core.text import clean_text

log = logging.getLogger("tutor.slack")
BOLT_LOG = logging.getLogger("slack_bolt.tutor")
"""bolt's base logger. Left at NOTSET, so bolt's loggers (and the Socket Mode client's) inherit the cap
bot/logs.py puts on `slack_bolt`; without it, bolt copies the root's level, and at DEBUG logs whole
payloads: the learner's text and raw user ids."""

DEFAULT_API_URL = "https://slack.com/api/"
SEEN_EVENTS = 2048
"""How many event ids we remember to answer Slack's retries once; old ones fall out."""
RATE_LIMIT_RETRIES = 2
"""How often one Web API call waits out a 429 (Retry-After) before giving up."""
CHANNEL_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action"})
"""chat.postMessage errors after which a slash command answer can still go via its response_url."""
ALT_LIMIT = 1000
TITLE_LIMIT = 250


class Reply(Protocol):
    """Where one request's answer and errors go (a slash command, or a thread/DM)."""

    async def deliver(self, message: SlackMessage, images: tuple[Image, ...]) -> None: ...

    async def error(self, text: str) -> None: ...


class SeenEvents:
    """A bounded memory of event ids, so a retried event is answered once."""

    def __init__(self, capacity: int = SEEN_EVENTS) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()

    def first_time(self, *keys: str | None) -> bool:
        """True (and remembers every key) unless one of the keys was seen already."""
        present = [k for k in keys if k]
        if any(k in self._seen for k in present):
            return False
        for key in present:
            self._seen[key] = None
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True


def build_web_client(settings: Settings) -> AsyncWebClient:
    """The Web API client: `SLACK_API_URL` (tests point it at a fake) and 429s waited out."""
    base_url = (settings.slack_api_url or DEFAULT_API_URL).rstrip("/") + "/"
    return AsyncWebClient(
        token=settings.slack_bot_token or None,
        base_url=base_url,
        retry_handlers=_retry_handlers(),
    )


def _retry_handlers() -> list[Any]:
    return [AsyncConnectionErrorRetryHandler(), AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)]


def build_app(engine: Engine, settings: Settings, *, client: AsyncWebClient | None = None) -> AsyncApp:
    """A ready AsyncApp with every registry command, mentions and DMs wired to the engine."""
    app = AsyncApp(
        client=client or build_web_client(settings),
        signing_secret=settings.slack_signing_secret,
        name="transformers-tutor",
        logger=BOLT_LOG,
    )
    SlackTutor(engine, settings).register(app)
    return app


def check_settings(settings: Settings, *, http: bool) -> None:
    """Refuse to start with a token missing, naming the variable to set."""
    if not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN (xoxb-...) is not set. See docs/slack.md.")
    if http and not settings.slack_signing_secret:
        raise ConfigError("HTTP mode needs SLACK_SIGNING_SECRET (Basic Information > App Credentials).")
    if not http and not settings.slack_app_token:
        raise ConfigError("Socket Mode needs SLACK_APP_TOKEN (xapp-..., scope connections:write), "
                          "or run `tutor slack --http` with SLACK_SIGNING_SECRET.")


REJECTED = ("invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive")


async def verify_token(app: AsyncApp) -> None:
    """Fail at start on a rejected token, so a container exits (and is restarted) instead of idling."""
    try:
        await app.client.auth_test()
    except SlackApiError as exc:
        if error_code(exc) in REJECTED:
            raise ConfigError(f"Slack rejected SLACK_BOT_TOKEN ({error_code(exc)}). Copy the Bot User OAuth "
                              "Token (xoxb-...) from OAuth & Permissions again; see docs/slack.md.") from None
        raise


async def serve_socket_mode(app: AsyncApp, settings: Settings) -> None:
    """Connect over Socket Mode and serve until cancelled."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    handler = AsyncSocketModeHandler(app, settings.slack_app_token)
    try:
        await handler.start_async()
    finally:
        await handler.close_async()


async def serve_http(app: AsyncApp, signing_secret: str, port: int, host: str) -> None:
    """Serve the Events API on `host:port` until cancelled; an address we cannot listen on is a ConfigError."""
    runner = web.AppRunner(build_http_app(app, signing_secret))
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:  # in use, not an address of this machine, not an address at all
            raise ConfigError(f"Cannot serve the Slack Events API on {host}:{port} ({exc.strerror or exc}). "
                              "Set SLACK_HOST and SLACK_PORT (or --host and --port).") from None
        log.info("Slack Events API listening on http://%s:%d%s", host, port, EVENTS_PATH)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def serve_slack(engine: Engine, settings: Settings, *, http: bool = False, port: int | None = None,
                      host: str | None = None) -> None:
    """Serve until cancelled: the async core of `run_slack` (tests run it as a task).

    HTTP mode listens on `host:port`, by default SLACK_HOST:SLACK_PORT.
    """
    check_settings(settings, http=http)
    app = build_app(engine, settings)
    await verify_token(app)
    if http:
        await serve_http(app, settings.slack_signing_secret, settings.slack_port if port is None else port,
                         host or settings.slack_host)
    else:
        await serve_socket_mode(app, settings)


def run_slack(engine: Engine, settings: Settings, *, http: bool = False, port: int | None = None,
              host: str | None = None) -> None:
    """Blocking entry point for `tutor slack`: Socket Mode, or the Events API with `http=True`.

    Raises `ConfigError` (before connecting) when a token is missing. SIGINT and SIGTERM
    (what `docker stop` sends) close the connection cleanly. The caller closes the engine.
    """
    check_settings(settings, http=http)

    async def main() -> None:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # Windows, threads
                loop.add_signal_handler(sig, task.cancel)  # type: ignore[union-attr]
        with contextlib.suppress(asyncio.CancelledError):
            await serve_slack(engine, settings, http=http, port=port, host=host)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    log.info("Slack adapter stopped")


class SlackTutor:
    """The listeners: turn Slack payloads into text-grammar lines and answers into messages.

    Payload fields are read defensively: ids are cleaned (a JSON `"\\ud800"` escape is legal, and
    such an id cannot be encoded into a reply), and a payload without them is ignored in one log
    line. The learner's text goes to the core as it came: the core cleans it and says so.
    """

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.cooldown = Cooldown(settings.cooldown_s)
        self.seen = SeenEvents()

    def register(self, app: AsyncApp) -> None:
        # Every slash command, known or not: one the manifest still lists after the registry dropped
        # it gets the core's "no command /x, did you mean" instead of Slack's "dispatch_failed".
        app.command(re.compile(r"^/"))(self.on_command)
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)
        app.error(on_bolt_error)

    async def on_command(self, ack: Any, command: dict[str, Any], client: AsyncWebClient) -> None:
        """Slash command: ack at once (Slack's 3 s), then answer, once per request."""
        await ack()
        ids = clean_ids(command, "command", "channel_id", "user_id")
        if ids is None:
            log.warning("ignored a slash command without command, channel_id or user_id")
            return
        if not self.seen.first_time(slash_key(command)):
            log.info("ignored a repeated slash command: %s", ids[0])
            return
        name, channel, user = ids
        reply = SlashReply(client, channel, _clean(command.get("response_url")))
        line = f"/{name.lstrip('/')} {unescape(_text(command.get('text')))}".strip()
        await self.handle(line, _user_key(command, user), reply, question=line, asker=user)

    async def on_mention(self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient,
                         context: Any) -> None:
        """`@Tutor sentiment I love it` in a channel: answered in the mention's thread."""
        ids = clean_ids(event, "user", "channel", "ts")
        if ids is None or _from_a_bot(event) or not self._first_time(body, event):
            return
        user, channel, ts = ids
        reply = ThreadReply(client, channel, user, _clean(event.get("thread_ts")) or ts)
        await self.handle(_line_from(_text(event.get("text")), context.bot_user_id), _user_key(body, user), reply)

    async def on_message(self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient,
                         context: Any) -> None:
        """A direct message: the same grammar, answered in the DM (or its thread)."""
        if event.get("channel_type") != "im" or _from_a_bot(event) or event.get("user") == context.bot_user_id:
            return
        ids = clean_ids(event, "user", "channel", "ts")
        if ids is None or not self._first_time(body, event):
            return
        user, channel, _ = ids
        reply = ThreadReply(client, channel, user, _clean(event.get("thread_ts")) or None)
        await self.handle(_line_from(_text(event.get("text")), context.bot_user_id), _user_key(body, user), reply)

    def _first_time(self, body: dict[str, Any], event: dict[str, Any]) -> bool:
        # A DM that mentions the bot may arrive as two events: key on the message as well.
        event_id = body.get("event_id")
        return self.seen.first_time(event_id if isinstance(event_id, str) else None,
                                    f"{event.get('channel')}:{event.get('ts')}")

    async def handle(self, line: str, user: str, reply: Reply, *, question: str | None = None,
                     asker: str | None = None) -> None:
        """Cooldown, answer, deliver; never raises (a listener failure would only reach the logs)."""
        try:
            command = self._valid_command(line)
            if command is not None and command.needs_model:
                wait = self.cooldown.wait_left(user)
                if wait > 0:
                    await reply.error(Cooldown.message(wait))
                    return
            outcome = await answer(self.engine, platform="slack", user_id=user, line=line)
            if outcome.result is None:
                await reply.error(outcome.error or "Sorry, something went wrong.")
                return
            await reply.deliver(render_result(outcome.result, question=question, asker=asker),
                                outcome.result.images)
        except SlackApiError as exc:
            log.warning("could not answer on Slack: command=%s error=%s", _command_of(line), error_code(exc))
            await _quietly(reply.error(f"I couldn't post the answer here ({error_code(exc)}). Please try again."))
        except Exception:  # Slack-side failures: logged, the bot stays up
            log.exception("could not answer on Slack: command=%s", _command_of(line))

    def _valid_command(self, line: str) -> Command | None:
        """The command if `line` parses and validates: bad input costs no cooldown (and no model)."""
        try:
            command, raw = parse_line(self.engine.registry, line)
            command.validate(raw)
        except UserError:
            return None
        return command


async def on_bolt_error(error: Exception) -> BoltResponse:
    """bolt's handler for what its middleware could not read (a signed body of a shape Slack never sends).

    One line and a 400, instead of bolt's default: a traceback and a 500. Our listeners never
    raise (`handle` catches everything), so this sees bolt's own parsing only.
    """
    log.warning("bolt could not handle a Slack request: %s: %s", type(error).__name__, _clean(str(error))[:200],
                exc_info=log.isEnabledFor(logging.DEBUG))
    return BoltResponse(status=400, body="Bad request")


def slash_key(command: dict[str, Any]) -> str:
    """What makes two slash commands the same request: Slack's trigger_id, else the whole payload.

    Slack never retries a slash command, so a second copy is a replay (HTTP) or a redelivery
    (Socket Mode); each payload has its own response_url, so the hash tells real repeats apart.
    """
    trigger = command.get("trigger_id")
    if isinstance(trigger, str) and trigger:
        return "slash:" + _clean(trigger)
    canonical = json.dumps(command, sort_keys=True, default=str)  # ASCII: a lone surrogate stays an escape
    return "slash:" + hashlib.sha256(canonical.encode()).hexdigest()


def clean_ids(payload: dict[str, Any], *names: str) -> tuple[str, ...] | None:
    """The named fields as non-empty clean strings, or None if one is missing or not a string."""
    values = [payload.get(name) for name in names]
    if not all(isinstance(v, str) and v for v in values):
        return None
    return tuple(_clean(v) for v in values)


def _clean(value: Any) -> str:
    """A string from a payload, safe to encode (lone surrogates become U+FFFD); "" if not a string."""
    return clean_text(value).text if isinstance(value, str) else ""


def _text(value: Any) -> str:
    """The learner's text, raw (the core cleans it and says so); "" if absent or not a string."""
    return value if isinstance(value, str) else ""


def _command_of(line: str) -> str:
    """The command word of a line, for a log line."""
    return _clean(line).split(" ", 1)[0][:40]


async def _quietly(action: Any) -> None:
    """Best effort: telling the learner about a failure must not raise a second one."""
    try:
        await action
    except Exception:
        log.warning("could not tell the learner about a failure either", exc_info=True)


def _user_key(body: dict[str, Any], user: str) -> str:
    team = body.get("team_id") or body.get("team") or ""
    return f"{_clean(team) if isinstance(team, str) else ''}:{user}"


def _from_a_bot(event: dict[str, Any]) -> bool:
    """Other bots (and edits, joins and other subtypes) are never answered: no bot loops."""
    return bool(event.get("bot_id") or event.get("subtype") or event.get("bot_profile"))


def _line_from(text: str, bot_user_id: str | None) -> str:
    """`<@UBOT> attention The cat` -> `attention The cat` (Slack-escaped entities undone)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", " ", text)
    text = re.sub(r"^\s*<@[A-Z0-9]+(\|[^>]*)?>", " ", text)
    return unescape(text).strip()


@dataclass
class ThreadReply:
    """Mentions and DMs: post in the conversation (or thread); errors ephemerally to the asker."""

    client: AsyncWebClient
    channel: str
    user: str
    thread_ts: str | None

    async def deliver(self, message: SlackMessage, images: tuple[Image, ...]) -> None:
        await self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts, **message.as_kwargs())
        problem = await upload_images(self.client, images, self.channel, self.thread_ts)
        if problem:
            await self.error(problem)

    async def error(self, text: str) -> None:
        message = render_error(text)
        try:
            await self.client.chat_postEphemeral(channel=self.channel, user=self.user, thread_ts=self.thread_ts,
                                                 **message.as_kwargs())
        except SlackApiError as exc:
            log.warning("could not send an ephemeral error: %s", error_code(exc))


@dataclass
class SlashReply:
    """Slash commands: a channel message (so answers and heatmaps sit together, and others learn too).

    Falls back to the response_url when the bot may not post there (not in the channel, a DM
    between people); errors always go ephemerally through the response_url, which works anywhere.
    """

    client: AsyncWebClient
    channel: str
    response_url: str

    async def deliver(self, message: SlackMessage, images: tuple[Image, ...]) -> None:
        try:
            await self.client.chat_postMessage(channel=self.channel, **message.as_kwargs())
        except SlackApiError as exc:
            reason = error_code(exc)
            if reason not in CHANNEL_ERRORS or not self.response_url:
                raise
            log.info("chat.postMessage failed (%s); answering via response_url", reason)
            await self._respond(message, "in_channel")
        problem = await upload_images(self.client, images, self.channel, None)
        if problem:
            await self.error(problem)

    async def error(self, text: str) -> None:
        await self._respond(render_error(text), "ephemeral")

    async def _respond(self, message: SlackMessage, response_type: str) -> None:
        """Post through the response_url; a refusal (used up, expired) or no answer is logged, not raised."""
        webhook = AsyncWebhookClient(self.response_url, retry_handlers=_retry_handlers())
        try:
            response = await webhook.send(response_type=response_type, replace_original=False,
                                          **message.as_kwargs())
        except (ClientError, OSError, TimeoutError, ValueError) as exc:  # ValueError: not a URL at all
            log.warning("could not reach the response_url: %s", type(exc).__name__)
            return
        if response.status_code != 200:
            log.warning("response_url answered %s: %s", response.status_code, str(response.body)[:200])


async def upload_images(client: AsyncWebClient, images: tuple[Image, ...], channel: str,
                        thread_ts: str | None) -> str | None:
    """Upload the heatmaps (files.upload v2); a learner-facing problem description, or None."""
    if not images:
        return None
    uploads = [{"file": i.png, "filename": _clean(i.filename), "title": _clean(i.alt)[:TITLE_LIMIT],
                "alt_txt": _clean(i.alt)[:ALT_LIMIT]} for i in images]
    try:
        await client.files_upload_v2(file_uploads=uploads, channel=channel, thread_ts=thread_ts)
    except SlackApiError as exc:
        reason = error_code(exc)
        log.warning("image upload failed: %s", reason)
        return _upload_problem(reason)
    except (TimeoutError, SlackClientError, OSError) as exc:
        log.warning("image upload failed: %s", exc)
        return _upload_problem("upload_failed")
    return None


def error_code(exc: SlackApiError) -> str:
    """Slack's `error` field; an HTTP error page (a 500) has none, so fall back to the status."""
    data = exc.response.data
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"http_{exc.response.status_code}"


def _upload_problem(reason: str) -> str:
    hint = {
        "not_in_channel": " Invite me with `/invite @Tutor`, or ask me in a DM.",
        "channel_not_found": " Invite me with `/invite @Tutor`, or ask me in a DM.",
        "file_uploads_disabled": " File uploads are disabled in this workspace.",
    }.get(reason, " Please try again in a moment.")
    return f"The answer is above, but I couldn't attach the picture ({reason}).{hint}"
