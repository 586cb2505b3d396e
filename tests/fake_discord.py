"""A local fake of Discord (REST + gateway websocket on 127.0.0.1) for end-to-end tests.

The real discord.py client talks to it: `patch_discord(fake)` points the library's REST
base and gateway at this server (internal attributes, pinned discord.py 2.7). The fake
records every request the bot makes and lets a test inject INTERACTION_CREATE events and
faults (429 on follow-ups, close code 4004, HTTP 401 on login).
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl
from aiohttp import WSMsgType, web

APP_ID = "800"
BOT_USER = {"id": "900", "username": "tutor", "discriminator": "0", "avatar": None, "bot": True}
APPLICATION = {
    "id": APP_ID, "name": "tutor", "description": "", "icon": None, "bot_public": False,
    "bot_require_code_grant": False, "verify_key": "00", "flags": 0,
    "owner": {"id": "1", "username": "owner", "discriminator": "0", "avatar": None},
}
OPTION_TYPES = {str: 3, int: 4, bool: 5}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON with the exact `application/json` type: discord.py compares the header verbatim."""
    return web.Response(body=json.dumps(body).encode(), status=status,
                        headers={**(headers or {}), "Content-Type": "application/json"})
EPHEMERAL = 64


@dataclass
class Sent:
    """One request the bot made: the JSON payload (or `payload_json`) and any uploaded files."""

    method: str
    path: str
    at: float
    payload: dict[str, Any] = field(default_factory=dict)
    files: list[tuple[str, bytes]] = field(default_factory=list)
    status: int = 200

    @property
    def ephemeral(self) -> bool:
        flags = self.payload.get("flags") or self.payload.get("data", {}).get("flags") or 0
        return bool(flags & EPHEMERAL)

    def text(self) -> str:
        """All visible text: content plus every embed part, for assertions."""
        parts = [self.payload.get("content") or ""]
        for embed in self.payload.get("embeds") or []:
            parts += [embed.get("title", ""), embed.get("description", "")]
            parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields", [])]
            parts.append(embed.get("footer", {}).get("text", ""))
        data = self.payload.get("data") or {}
        parts.append(data.get("content") or "")
        return "\n".join(p for p in parts if p)


@dataclass
class Interaction:
    """An injected slash command, and what the bot answered to it."""

    id: str
    token: str
    sent_at: float
    callbacks: list[Sent] = field(default_factory=list)
    followups: list[Sent] = field(default_factory=list)
    deletes: list[Sent] = field(default_factory=list)


class FakeDiscord:
    """REST API + gateway on 127.0.0.1; one bot connection at a time."""

    def __init__(self, heartbeat_interval_ms: int = 1000, defer_deadline_s: float = 3.0) -> None:
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.defer_deadline_s = defer_deadline_s
        self.port = 0
        self.requests: list[Sent] = []
        self.heartbeats: list[float] = []
        self.identified: list[dict[str, Any]] = []
        self.synced: list[tuple[str, list[dict[str, Any]]]] = []
        self.interactions: dict[str, Interaction] = {}
        self.close_codes: list[int | None] = []
        self.rate_limit_followups = 0
        """How many follow-up POSTs to answer with 429 before accepting one."""
        self.reject_login = False
        self.gateway_close_code: int | None = None
        """If set, the gateway closes with this code right after IDENTIFY (4004: bad token)."""
        self.ready = asyncio.Event()
        self._ws: web.WebSocketResponse | None = None
        self._seq = itertools.count(1)
        self._ids = itertools.count(1001)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gw", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway(self) -> yarl.URL:
        return yarl.URL(f"ws://127.0.0.1:{self.port}/gw")

    # -- gateway -----------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._ws = ws
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            op = frame.get("op")
            if op == 1:
                self.heartbeats.append(time.monotonic())
                await ws.send_json({"op": 11})
            elif op == 2:
                await self._identify(ws, frame["d"])
        self.close_codes.append(ws.close_code)
        self._notify()
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        self.identified.append(data)
        if self.gateway_close_code is not None:
            await ws.close(code=self.gateway_close_code, message=b"Authentication failed.")
            return
        await self.dispatch("READY", {
            "v": 10, "user": BOT_USER, "guilds": [], "session_id": "s1",
            "resume_gateway_url": str(self.gateway), "application": {"id": APP_ID, "flags": 0},
        })
        self.ready.set()

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        assert self._ws is not None, "the bot has not connected to the gateway"
        await self._ws.send_json({"op": 0, "t": event, "s": next(self._seq), "d": data})

    # -- REST ----------------------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        sent = await self._record(request, path)
        try:
            response = self._route(request.method, path, sent)
        finally:
            self._notify()
        sent.status = response.status
        return response

    async def _record(self, request: web.Request, path: str) -> Sent:
        sent = Sent(request.method, path, time.monotonic())
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                data = await part.read()  # type: ignore[union-attr]
                if part.name == "payload_json":  # type: ignore[union-attr]
                    sent.payload = json.loads(data)
                else:
                    sent.files.append((part.filename or "", bytes(data)))  # type: ignore[union-attr]
        elif request.can_read_body:
            body = await request.read()
            sent.payload = json.loads(body) if body else {}
        self.requests.append(sent)
        return sent

    def _route(self, method: str, path: str, sent: Sent) -> web.Response:
        parts = path.strip("/").split("/")
        if path == "/users/@me":
            if self.reject_login:
                return _json({"message": "401: Unauthorized", "code": 0}, status=401)
            return _json(BOT_USER)
        if path == "/oauth2/applications/@me":
            return _json(APPLICATION)
        if method == "PUT" and parts[:2] == ["applications", APP_ID] and parts[-1] == "commands":
            commands = sent.payload if isinstance(sent.payload, list) else []
            self.synced.append((path, commands))
            return _json(
                [{**c, "id": str(5000 + i), "application_id": APP_ID, "version": "1"} for i, c in enumerate(commands)]
            )
        if parts[0] == "interactions" and parts[-1] == "callback":
            return self._callback(parts[1], parts[2], sent)
        if parts[:2] == ["webhooks", APP_ID]:
            return self._webhook(method, parts[2], parts[3:], sent)
        return _json({"message": "404: Not Found", "code": 0}, status=404)

    def _callback(self, interaction_id: str, token: str, sent: Sent) -> web.Response:
        interaction = self.interactions.get(interaction_id)
        if interaction is None or interaction.token != token:
            return _json({"message": "Unknown interaction", "code": 10062}, status=404)
        interaction.callbacks.append(sent)
        if len(interaction.callbacks) > 1:
            return _json({"message": "Interaction has already been acknowledged.", "code": 40060},
                                     status=400)
        if sent.at - interaction.sent_at > self.defer_deadline_s:
            return _json({"message": "Unknown interaction", "code": 10062}, status=404)
        kind = sent.payload.get("type")
        ephemeral = sent.ephemeral
        body: dict[str, Any] = {"interaction": {
            "id": interaction_id, "type": 2, "response_message_loading": kind == 5,
            "response_message_ephemeral": ephemeral,
        }}
        if kind == 4:
            body["resource"] = {"type": 4, "message": self._message(sent.payload.get("data", {}))}
        return _json(body)

    def _webhook(self, method: str, token: str, rest: list[str], sent: Sent) -> web.Response:
        interaction = next((i for i in self.interactions.values() if i.token == token), None)
        if interaction is None:
            return _json({"message": "Unknown Webhook", "code": 10015}, status=404)
        if method == "DELETE":
            interaction.deletes.append(sent)
            return web.Response(status=204)
        if method == "POST" and not rest:
            if self.rate_limit_followups > 0:
                self.rate_limit_followups -= 1
                headers = {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
                           "X-RateLimit-Reset-After": "0.5", "X-RateLimit-Bucket": "fake",
                           "Via": "1.1 google"}  # real 429s carry it; discord.py treats others as a ban
                return _json({"message": "You are being rate limited.", "retry_after": 0.5,
                                          "global": False}, status=429, headers=headers)
            interaction.followups.append(sent)
            return _json(self._message(sent.payload))
        return _json(self._message(sent.payload))

    def _message(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(next(self._ids) + 4000), "channel_id": "2001", "type": 0,
            "content": payload.get("content") or "", "author": BOT_USER, "attachments": [],
            "embeds": payload.get("embeds") or [], "mentions": [], "mention_roles": [], "pinned": False,
            "tts": False, "mention_everyone": False, "timestamp": "2025-01-01T00:00:00+00:00",
            "edited_timestamp": None, "flags": payload.get("flags") or 0,
        }

    # -- what tests call ---------------------------------------------------------------------
    async def send_command(
        self, name: str, options: dict[str, Any] | None = None, *, guild: bool = False, user_id: str = "3001",
        attachment_size_limit: int = 10 * 1024 * 1024,
    ) -> Interaction:
        """Inject a slash command from a DM (default) or a server channel."""
        number = next(self._ids)
        interaction = Interaction(str(number), f"itok{number}", time.monotonic())
        self.interactions[interaction.id] = interaction
        user = {"id": user_id, "username": "alice", "discriminator": "0", "avatar": None}
        data: dict[str, Any] = {
            "id": interaction.id, "application_id": APP_ID, "type": 2, "token": interaction.token, "version": 1,
            "attachment_size_limit": attachment_size_limit, "locale": "en-US", "app_permissions": "0",
            "entitlements": [],
            "data": {"id": "4001", "name": name, "type": 1, "options": [
                {"name": key, "type": OPTION_TYPES[type(value)], "value": value}
                for key, value in (options or {}).items()
            ]},
        }
        if guild:
            data.update({
                "guild_id": "7001", "context": 0, "authorizing_integration_owners": {"0": "7001"},
                "channel": {"id": "2002", "type": 0, "guild_id": "7001", "name": "general", "position": 0,
                            "permission_overwrites": [], "nsfw": False, "parent_id": None},
                "channel_id": "2002",
                "member": {"user": user, "roles": [], "joined_at": "2024-01-01T00:00:00+00:00", "deaf": False,
                           "mute": False, "flags": 0, "permissions": "0", "nick": None, "avatar": None},
            })
        else:
            data.update({
                "context": 1, "authorizing_integration_owners": {"1": user_id},
                "channel": {"id": "2001", "type": 1}, "channel_id": "2001", "user": user,
            })
        interaction.sent_at = time.monotonic()
        await self.dispatch("INTERACTION_CREATE", data)
        return interaction

    def _notify(self) -> None:
        self._changed.set()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait for the bot's requests to satisfy `predicate`; fail loudly on time-out."""
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; requests so far: {[(r.method, r.path) for r in self.requests]}")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(left, 0.1))

    async def reply_to(self, interaction: Interaction, timeout: float = 30.0) -> Sent:
        """The bot's final message for an interaction: the follow-up, or a direct ephemeral reply."""

        def done() -> bool:
            direct = [c for c in interaction.callbacks if c.payload.get("type") == 4]
            return bool(interaction.followups or direct)

        await self.wait_until(done, timeout)
        return interaction.followups[-1] if interaction.followups else interaction.callbacks[-1]


@contextlib.contextmanager
def patch_discord(fake: FakeDiscord) -> Iterator[None]:
    """Point discord.py at the fake (internal class attributes), and restore them after."""
    old_base, old_gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = fake.base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = fake.gateway
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


@contextlib.asynccontextmanager
async def discord_session(
    make_client: Callable[[], discord.Client], fake: FakeDiscord | None = None, token: str = "test-token",
) -> AsyncIterator[tuple[FakeDiscord, discord.Client]]:
    """Start the fake, connect a real client built by `make_client`, and clean both up."""
    fake = fake or FakeDiscord()
    await fake.start()
    try:
        with patch_discord(fake):
            client = make_client()
            running = asyncio.create_task(client.start(token))
            try:
                # READY sent is enough: later frames are handled in order (is_ready() lags ~2 s
                # behind, waiting for GUILD_CREATE events with the guilds intent).
                await fake.wait_until(lambda: fake.ready.is_set() or running.done(), 10)
                if running.done():
                    running.result()  # start() failed: raise its error here
                yield fake, client
            finally:
                await client.close()
                await asyncio.wait_for(running, 10)
    finally:
        await fake.stop()


# -- what Discord's client shows -------------------------------------------------------------------
_MD_ESCAPE = re.compile(r"\\([^0-9A-Za-z\s])")
_MD_CODE_BLOCK = re.compile(r"```(?:[a-z0-9-]+?\n+)?\n*([\s\S]+?)\n*```", re.IGNORECASE)
_MD_INLINE_CODE = re.compile(r"(`+)([\s\S]*?[^`])\1(?!`)")
_MD_INLINE_SPACE = re.compile(r"^ (?= *`)|(` *) $")


def read_markdown(text: str) -> list[tuple[str, str]]:
    """How Discord's client splits `text` into ("text" | "code" | "block", what the reader sees).

    A model of the three rules of Discord's parser that decide where code starts and ends, with
    the regular expressions of simple-markdown (escape, inlineCode) and of
    discord-markdown-parser (codeBlock), which mirror Discord's client: backslash escapes, code
    blocks (three backticks up to the next three, anywhere) and inline code (a run of backticks
    up to the next run of the same length, dropping one space next to a backtick at either
    end). Other formatting stays in the text; zero-width spaces are dropped, as nobody sees them.
    """
    parts: list[tuple[str, str]] = []
    plain, i = "", 0
    while i < len(text):
        escape = _MD_ESCAPE.match(text, i)
        block = None if escape else _MD_CODE_BLOCK.match(text, i)
        inline = None if escape or block else _MD_INLINE_CODE.match(text, i)
        if escape:
            plain += escape.group(1)
            i = escape.end()
        elif block or inline:
            if plain:
                parts.append(("text", plain.replace("\u200b", "")))
                plain = ""
            if block:
                parts.append(("block", block.group(1).replace("\u200b", "")))
            else:
                assert inline is not None
                seen = _MD_INLINE_SPACE.sub(lambda m: m.group(1) or "", inline.group(2))
                parts.append(("code", seen.replace("\u200b", "")))
            i = (block or inline).end()  # type: ignore[union-attr]
        else:
            plain += text[i]
            i += 1
    if plain:
        parts.append(("text", plain.replace("\u200b", "")))
    return parts
