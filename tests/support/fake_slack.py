"""A local fake Slack for end-to-end tests: Web API, Socket Mode websocket, upload URL, response_url.

One aiohttp server on 127.0.0.1 (random port). The real slack-bolt / slack_sdk talk to it
exactly as they would to Slack; every call is recorded, and faults can be scripted per method.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import struct
import time
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from core.registry import Command, Option, Registry
from core.results import Image, Result, Table

BOT_USER = "UBOT"
BOT_ID = "BBOT"
TEAM = "T1"


@dataclass
class Call:
    """One request the bot made: `method` is the Web API method, `upload` or `response_url`."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    body: bytes
    at: float
    path: str = ""

    @property
    def text(self) -> str:
        """Everything a learner would read in this message: text plus every block's text."""
        parts = [str(self.params.get("text") or "")]
        for block in self.params.get("blocks") or []:
            parts.extend(_block_texts(block))
        return "\n".join(parts)


@dataclass
class Message:
    """A message as Slack holds it: public, or ephemeral to one user; chat.update and response_urls change it."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    user: str | None = None
    """The one user who sees it (ephemeral), or None (everyone in the channel)."""
    updates: int = 0

    @property
    def ephemeral(self) -> bool:
        return self.user is not None


@dataclass
class File:
    file_id: str
    filename: str
    alt: str
    channel: str | None = None
    thread_ts: str | None = None


@dataclass
class Target:
    """What a response_url belongs to: the request's channel and user, and the clicked message if any."""

    channel: str
    user: str
    ts: str | None = None


@dataclass
class Fault:
    error: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    """A body that is not Slack's JSON (a proxy's error page), sent as `content_type`."""
    content_type: str = "text/html"


def _block_texts(block: dict[str, Any]) -> list[str]:
    """A block's visible words: its text object, its elements' texts (a context's mrkdwn strings, a
    button's plain_text label)."""
    texts = [_text_of(block.get("text"))]
    texts.extend(_text_of(e.get("text")) for e in block.get("elements", []) if isinstance(e, dict))
    return [t for t in texts if t]


def _text_of(value: Any) -> str:
    """A Slack text: a composition object `{"type": ..., "text": ...}` or, in a context element, a string."""
    if isinstance(value, dict):
        return str(value.get("text", ""))
    return value if isinstance(value, str) else ""


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.acks: dict[str, tuple[float, dict[str, Any]]] = {}
        self.sent_at: dict[str, float] = {}
        self.connections = 0
        self.uploads: dict[str, bytes] = {}
        self.files: dict[str, File] = {}
        self.posted: dict[str, Message] = {}
        """Every message by its ts, as it stands now (updates applied)."""
        self.views: dict[str, dict[str, Any]] = {}
        self.admins: set[str] = set()
        self.targets: dict[str, Target] = {}
        """response_url key -> what it answers."""
        self.triggers: dict[str, float] = {}
        self._faults: dict[str, list[Fault]] = {}
        self._ws: web.WebSocketResponse | None = None
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._unique = secrets.token_hex(4)
        """Slack's trigger and view ids never repeat; a shared database remembers them across restarts."""
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.adapter: Any = None
        """The adapter under test, when `slack_bot` started one."""

    # ----- lifecycle -----
    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.add_routes([
            web.post("/api/{method}", self._web_api),
            web.get("/api/{method}", self._web_api),
            web.post("/upload/{file_id}", self._upload),
            web.post("/response/{key}", self._response_url),
            web.get("/link", self._socket),
        ])
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    # ----- scripting -----
    def fail(self, method: str, error: str, *, status: int = 200, headers: dict[str, str] | None = None,
             times: int = 1, body: str | None = None, content_type: str = "text/html") -> None:
        """The next `times` calls of `method` fail with `error` (e.g. 429 + Retry-After), or answer `body`
        instead of JSON (a proxy's error page)."""
        self._faults.setdefault(method, []).extend(Fault(error, status, headers or {}, body, content_type)
                                                   for _ in range(times))

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def messages(self) -> list[Call]:
        """Everything the learner could see: channel messages, ephemerals and response_url posts."""
        kinds = ("chat.postMessage", "chat.postEphemeral", "response_url")
        return [c for c in self.calls if c.method in kinds]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            await asyncio.sleep(0.02)
        raise AssertionError(f"timed out after {timeout} s; calls: {[c.method for c in self.calls]}")

    async def settle(self, seconds: float = 0.3) -> None:
        """Give the bot time to (wrongly) send more, for tests that expect nothing more."""
        await asyncio.sleep(seconds)

    # ----- Socket Mode -----
    async def wait_connected(self, timeout: float = 10.0) -> None:
        await self.wait_for(lambda: self._ws is not None and not self._ws.closed, timeout)

    async def send_envelope(self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0) -> str:
        assert self._ws is not None, "no Socket Mode client connected"
        envelope_id = f"env-{next(self._ids)}"
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": kind in ("slash_commands", "interactive")}
        if kind == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason="timeout" if retry_attempt else "")
        self.sent_at[envelope_id] = time.monotonic()
        await self._ws.send_str(json.dumps(envelope))
        return envelope_id

    def slash_payload(self, command: str, text: str, *, user: str = "U1", channel: str = "C1") -> dict[str, Any]:
        """A slash command as Slack sends it: a fresh response_url and trigger_id each time."""
        key = next(self._ids)
        self.targets[f"r{key}"] = Target(channel, user)
        trigger = self._trigger(key)
        return {
            "token": "legacy", "team_id": TEAM, "team_domain": "test", "channel_id": channel, "channel_name": "general",
            "user_id": user, "user_name": "learner", "command": command, "text": text, "api_app_id": "A1",
            "response_url": f"{self.url}/response/r{key}", "trigger_id": trigger,
        }

    def _trigger(self, key: int) -> str:
        trigger = f"{key}.{int(time.time())}.{self._unique}"  # unique across fakes, as Slack's are
        self.triggers[trigger] = time.monotonic()
        return trigger

    # ----- interactivity -----
    def find(self, ts: str, label: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
        """The actions block, element and (for a select) option of message `ts` whose text is `label`."""
        for block in self.posted[ts].blocks:
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element.get("type") == "button" and element["text"]["text"] == label:
                    return block, element, None
                for option in element.get("options", []):
                    if option["text"]["text"] == label:
                        return block, element, option
        raise AssertionError(f"no button or option {label!r} on message {ts}")

    def click_payload(self, ts: str, label: str, *, user: str = "U1") -> dict[str, Any]:
        """A block_actions payload as Slack sends it when `user` clicks `label` on message `ts`."""
        message = self.posted[ts]
        block, element, option = self.find(ts, label)
        key = next(self._ids)
        self.targets[f"a{key}"] = Target(message.channel, user, ts)
        action: dict[str, Any] = {"type": element["type"], "action_id": element["action_id"],
                                  "block_id": block.get("block_id", ""), "action_ts": f"{time.time():.6f}"}
        if option is None:
            action.update(text=element["text"], **({"value": element["value"]} if "value" in element else {}))
        else:
            action.update(selected_option=option, placeholder=element.get("placeholder"))
        payload: dict[str, Any] = {
            "type": "block_actions", "api_app_id": "A1", "token": "legacy", "trigger_id": self._trigger(key),
            "user": {"id": user, "username": "learner", "name": "learner", "team_id": TEAM},
            "team": {"id": TEAM, "domain": "test"}, "enterprise": None, "is_enterprise_install": False,
            "container": {"type": "message", "message_ts": ts, "channel_id": message.channel,
                          "is_ephemeral": message.ephemeral},
            "channel": {"id": message.channel,
                        "name": "directmessage" if message.channel.startswith("D") else "general"},
            "state": {"values": {}}, "response_url": f"{self.url}/response/a{key}", "actions": [action]}
        if not message.ephemeral:  # Slack sends no message with a click on an ephemeral one
            payload["message"] = {"type": "message", "ts": ts, "text": message.text, "blocks": message.blocks,
                                  "bot_id": BOT_ID, "user": BOT_USER,
                                  **({"thread_ts": message.thread_ts} if message.thread_ts else {})}
        return payload

    async def click(self, ts: str, label: str, *, user: str = "U1") -> str:
        return await self.send_envelope("interactive", self.click_payload(ts, label, user=user))

    def submit_payload(self, view_id: str, text: str, *, user: str = "U1") -> dict[str, Any]:
        """A view_submission of an opened modal, with `text` typed into its first input."""
        view = self.views[view_id]
        values = {b["block_id"]: {b["element"]["action_id"]: {"type": b["element"]["type"], "value": text}}
                  for b in view.get("blocks", []) if b.get("type") == "input"}
        return {"type": "view_submission", "team": {"id": TEAM, "domain": "test"}, "api_app_id": "A1",
                "user": {"id": user, "username": "learner", "name": "learner", "team_id": TEAM},
                "token": "legacy", "trigger_id": self._trigger(next(self._ids)), "is_enterprise_install": False,
                "enterprise": None, "response_urls": [],
                "view": {**view, "state": {"values": dict(list(values.items())[:1])}, "hash": "h1", "team_id": TEAM,
                         "app_id": "A1", "bot_id": BOT_ID}}

    async def submit(self, view_id: str, text: str, *, user: str = "U1") -> str:
        return await self.send_envelope("interactive", self.submit_payload(view_id, text, user=user))

    def shared(self, channel: str) -> list[File]:
        """Files shared in `channel` (completed uploads)."""
        return [f for f in self.files.values() if f.channel == channel]

    async def slash(self, command: str, text: str, *, user: str = "U1", channel: str = "C1") -> str:
        return await self.send_envelope("slash_commands", self.slash_payload(command, text, user=user, channel=channel))

    async def event(self, event: dict[str, Any], *, event_id: str, retry_attempt: int = 0) -> str:
        payload = {"token": "legacy", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
                   "event_id": event_id, "event_time": int(time.time()), "event": event,
                   "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}]}
        return await self.send_envelope("events_api", payload, retry_attempt=retry_attempt)

    async def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> float:
        """Seconds between sending the envelope and the client's ack."""
        await self.wait_for(lambda: envelope_id in self.acks, timeout)
        return self.acks[envelope_id][0] - self.sent_at[envelope_id]

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections += 1
        self._ws = ws
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1,
                                      "connection_info": {"app_id": "A1"}, "debug_info": {"host": "fake"}}))
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                data = json.loads(msg.data)
                if "envelope_id" in data:
                    self.acks[data["envelope_id"]] = (time.monotonic(), data)
        return ws

    # ----- HTTP endpoints -----
    async def _record(self, method: str, request: web.Request) -> Call:
        body = await request.read()
        params = _decode_json_fields({**dict(request.query), **_parse(body, request.content_type)})
        call = Call(method, params, dict(request.headers), body, time.monotonic(), request.path)
        self.calls.append(call)
        return call

    def _fault(self, method: str) -> web.Response | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue.pop(0)
        if fault.body is not None:
            return web.Response(text=fault.body, status=fault.status, headers=fault.headers,
                                content_type=fault.content_type)
        return web.json_response({"ok": False, "error": fault.error}, status=fault.status, headers=fault.headers)

    async def _web_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = await self._record(method, request)
        fault = self._fault(method)
        if fault is not None:
            return fault
        expected = "xapp-test" if method == "apps.connections.open" else "xoxb-test"
        if request.headers.get("Authorization") != f"Bearer {expected}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response(self._answer(method, call.params))

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        ts = f"1700000000.{next(self._ts):06d}"
        if method == "auth.test":
            return {"ok": True, "url": "https://test.slack.com/", "team": "test", "user": "tutor",
                    "team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID, "is_enterprise_install": False}
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link"}
        if method == "chat.postMessage":
            self.posted[ts] = Message(str(params.get("channel")), ts, str(params.get("text") or ""),
                                      params.get("blocks") or [], params.get("thread_ts"))
            return {"ok": True, "channel": params.get("channel"), "ts": ts,
                    "message": {"text": params.get("text"), "ts": ts, "bot_id": BOT_ID}}
        if method == "chat.postEphemeral":
            self.posted[ts] = Message(str(params.get("channel")), ts, str(params.get("text") or ""),
                                      params.get("blocks") or [], params.get("thread_ts"), str(params.get("user")))
            return {"ok": True, "message_ts": ts}
        if method == "chat.update":
            message = self.posted.get(str(params.get("ts")))
            if message is None or message.ephemeral:
                return {"ok": False, "error": "message_not_found"}
            message.text, message.blocks = str(params.get("text") or ""), params.get("blocks") or []
            message.updates += 1
            return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text}
        if method == "views.open":
            started = self.triggers.get(str(params.get("trigger_id")))
            if started is None or time.monotonic() - started > 3.0:
                return {"ok": False, "error": "expired_trigger_id"}
            view_id = f"V{self._unique}{next(self._ids)}"
            self.views[view_id] = {**params["view"], "id": view_id}
            return {"ok": True, "view": self.views[view_id]}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": f"D{params.get('users')}"}}
        if method == "users.info":
            user = str(params.get("user"))
            return {"ok": True, "user": {"id": user, "is_admin": user in self.admins, "is_owner": False}}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ids)}"
            self.files[file_id] = File(file_id, str(params.get("filename")), str(params.get("alt_txt") or ""))
            return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            for shared in params.get("files", []):
                if shared["id"] in self.files:
                    self.files[shared["id"]].channel = params.get("channel_id")
                    self.files[shared["id"]].thread_ts = params.get("thread_ts")
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in params.get("files", [])]}
        return {"ok": True}

    async def _upload(self, request: web.Request) -> web.Response:
        call = await self._record("upload", request)
        fault = self._fault("upload")
        if fault is not None:
            return fault
        self.uploads[request.match_info["file_id"]] = call.body
        return web.Response(text="OK - uploaded")

    async def _response_url(self, request: web.Request) -> web.Response:
        call = await self._record("response_url", request)
        fault = self._fault("response_url")
        if fault is not None:
            return fault
        target = self.targets.get(request.match_info["key"])
        if target is not None:
            self._respond(target, call.params)
        return web.Response(text="ok")

    def _respond(self, target: Target, params: dict[str, Any]) -> None:
        """What Slack does with a response_url message: replace the clicked one, or add a message."""
        text, blocks = str(params.get("text") or ""), params.get("blocks") or []
        if params.get("replace_original") in (True, "true") and target.ts in self.posted:
            message = self.posted[target.ts]
            message.text, message.blocks = text, blocks
            message.updates += 1
            return
        ts = f"1700000000.{next(self._ts):06d}"
        user = None if params.get("response_type") == "in_channel" else target.user
        self.posted[ts] = Message(target.channel, ts, text, blocks, None, user)


def _parse(body: bytes, content_type: str) -> dict[str, Any]:
    """JSON or form bodies."""
    if not body:
        return {}
    if content_type == "application/json":
        return json.loads(body)
    if content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode(), keep_blank_values=True))
    return {"_raw": True}


def _decode_json_fields(params: dict[str, Any]) -> dict[str, Any]:
    """Query and form values that hold JSON (blocks, files) are decoded, as Slack does."""
    for key in ("blocks", "files", "attachments"):
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


def slack_env(fake: FakeSlack, **env: str) -> dict[str, str]:
    """The environment that points the adapter at `fake` over Socket Mode."""
    return {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-test", "SLACK_API_URL": fake.api_url, **env}


@asynccontextmanager
async def running(adapter: Any, fake: FakeSlack) -> AsyncIterator[Any]:
    """`adapter.serve()` as a task until it is connected to `fake`; stopped (and checked) on the way out."""
    task = asyncio.create_task(adapter.serve())
    try:
        await fake.wait_for(lambda: task.done() or (fake._ws is not None and not fake._ws.closed), 10)
        if task.done():
            task.result()  # raises what stopped the adapter
        yield adapter
    finally:
        await adapter.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


@asynccontextmanager
async def slack_bot(engine: Any, _settings: Any = None, *, cooldown_s: float | None = None,
                    policy: Any = None) -> AsyncIterator[FakeSlack]:
    """A FakeSlack with the real adapter (`SlackAdapter`, Socket Mode) connected to it.

    `cooldown_s` gives the policy its own cooldown (the engine's settings say 0 in most tests)."""
    from bot.slack.app import SlackAdapter
    from core.cooldown import Cooldown
    from core.policy import Policy

    fake = await FakeSlack().start()
    policy = policy or Policy(engine)
    if cooldown_s is not None:
        policy.cooldown = Cooldown(cooldown_s)
    adapter = SlackAdapter(policy, slack_env(fake))
    try:
        async with running(adapter, fake):
            fake.adapter = adapter
            yield fake
    finally:
        await fake.stop()


# ----- fake commands: Slack behaviour without models -----
def tiny_png() -> bytes:
    """A valid 1x1 PNG, built by hand so the fake commands need no image library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


def _echo(ctx: Any, args: dict[str, Any]) -> Result:
    return Result("echo", f"You said: **{args['text']}**", "The text came back unchanged.", "print(text)",
                  "echo-model", table=Table(("word", "length"), tuple((w, str(len(w))) for w in args["text"].split())))


def _slow(ctx: Any, args: dict[str, Any]) -> Result:
    time.sleep(1.0)
    return Result("slow", "done slowly", "It slept.", "time.sleep(1)", "sleep-model")


def _picture(ctx: Any, args: dict[str, Any]) -> Result:
    return Result("picture", "Here is a picture.", "Drew it.", "plt.show()", "paint-model",
                  images=(Image(tiny_png(), "picture.png", "A one-pixel picture"),))


def _boom(ctx: Any, args: dict[str, Any]) -> Result:
    raise RuntimeError("secret internal detail")


def _text_opt() -> tuple[Option, ...]:
    return (Option("text", "Some text", required=True, positional="main"),)


FAKE_COMMANDS = Registry([
    Command("echo", "Echo the text.", _text_opt(), ("/echo hello",), _echo),
    Command("slow", "Take a second.", (), ("/slow",), _slow),
    Command("picture", "Draw a picture.", (), ("/picture",), _picture),
    Command("boom", "Fail inside.", (), ("/boom",), _boom),
])
