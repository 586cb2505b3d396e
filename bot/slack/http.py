"""The Events API endpoint: verify Slack's signature on the raw bytes first, then parse, then bolt.

bolt's aiohttp adapter decodes and parses the body (`request.text()`, `json.loads`) before its
middleware checks the signature, so an unsigned request with invalid UTF-8, broken JSON, a JSON
array or a non-numeric timestamp raised inside bolt and became a 500 with a traceback. This
handler stands in front of bolt and answers, in one log line each:

* 401 when the signature headers are missing, the timestamp is not a plain number or is more than
  5 minutes off, or the HMAC does not match (nothing of the body is read or logged);
* 400 when a correctly signed body is not something Slack sends (not UTF-8, not JSON, not a JSON
  object, or an object bolt cannot read);
* otherwise bolt's own answer (it verifies the signature again, harmlessly).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import build_normalized_headers, extract_content_type, parse_body

log = logging.getLogger("tutor.slack.http")

EVENTS_PATH = "/slack/events"
MAX_SKEW_S = 300
"""Slack's rule: refuse a request whose timestamp is more than five minutes from our clock."""
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
"""ASCII digits only: `int()` would also take "١٢٣", " 17", "+5" and "1_000"."""


class Refused(Exception):
    """A request we answer with `status` and do not pass on; `reason` is for the log line."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> None:
    """Slack's v0 signature over the raw bytes, in constant time; `Refused(401)` otherwise."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not timestamp or not signature:
        raise Refused(401, "missing X-Slack-Request-Timestamp or X-Slack-Signature")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Refused(401, "X-Slack-Request-Timestamp is not a number of seconds")
    if abs(now - int(timestamp)) > MAX_SKEW_S:
        raise Refused(401, f"timestamp more than {MAX_SKEW_S} s off")
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "surrogateescape")):
        raise Refused(401, "bad signature")


def readable_body(body: bytes, headers: Mapping[str, str]) -> str:
    """The body as text, once we know bolt can parse it into an object; `Refused(400)` otherwise."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "body is not UTF-8") from None
    content_type = extract_content_type(build_normalized_headers(dict(headers)))
    try:
        parsed = parse_body(text, content_type)  # bolt's own rule: JSON, form, or form with payload=JSON
    except ValueError as exc:
        raise Refused(400, f"body is not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(parsed, dict):
        raise Refused(400, f"body is a JSON {type(parsed).__name__}, not an object")
    return text


class EventsEndpoint:
    """POST /slack/events: verify, parse, then let bolt dispatch."""

    def __init__(self, app: AsyncApp, signing_secret: str, clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.secret = signing_secret
        self.clock = clock

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            verify(self.secret, request.headers, body, self.clock())
            bolt_request = self._bolt_request(readable_body(body, request.headers), request)
            return await to_aiohttp_response(await self._dispatch(bolt_request))
        except Refused as refused:
            _log_refusal(request, refused)
            return web.Response(status=refused.status, text=_PUBLIC[refused.status])

    @staticmethod
    def _bolt_request(text: str, request: web.Request) -> AsyncBoltRequest:
        try:
            return AsyncBoltRequest(body=text, query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
        except (LookupError, TypeError, ValueError, AttributeError) as exc:  # an object of an unknown shape
            raise Refused(400, f"body is not a Slack request ({exc.__class__.__name__})") from None

    async def _dispatch(self, bolt_request: AsyncBoltRequest) -> Any:
        try:
            return await self.app.async_dispatch(bolt_request)
        except (LookupError, TypeError, ValueError, AttributeError) as exc:
            raise Refused(400, f"body is not a Slack request ({exc.__class__.__name__})") from None


_PUBLIC = {400: "Bad request", 401: "Invalid request signature"}
"""What the caller is told: nothing about which check failed."""


def _log_refusal(request: web.Request, refused: Refused) -> None:
    """One line, no traceback and nothing of the body: 401s are anyone's noise, 400s are worth a look."""
    level = logging.WARNING if refused.status == 400 else logging.INFO
    log.log(level, "refused a Slack HTTP request with %d: %s (from %s)", refused.status, refused.reason,
            request.remote)


def build_http_app(app: AsyncApp, signing_secret: str, clock: Callable[[], float] = time.time) -> web.Application:
    """The aiohttp application that serves the Events API (and slash commands) at /slack/events."""
    web_app = web.Application()
    web_app.add_routes([web.post(EVENTS_PATH, EventsEndpoint(app, signing_secret, clock).handle)])
    return web_app
