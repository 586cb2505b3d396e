"""A local fake of Discord (REST + gateway websocket on 127.0.0.1) for end-to-end tests.

The real discord.py client talks to it: `patch_discord(fake)` points the library's REST
base and gateway at this server (internal attributes, pinned discord.py 2.7). The fake
records every request the bot makes and lets a test inject INTERACTION_CREATE events and
faults (429 on follow-ups, close code 4004, HTTP 401 on login, an expired token).
Clicks (component interactions, type 3), modal submits (type 5) and several shards are modelled
too: the fake keeps every message the bot made (its embeds, components, attachments and
`interaction_metadata`), so a test can click a button on one, and edits change it in place.
Slash commands: the fake keeps the list the bot uploaded per target (global, or a server), reports
it on GET the way Discord does (with ids and versions, `required: false` left out), refuses an
upload or an autocomplete answer past Discord's limits (400, code 50035), and injects
autocomplete interactions (type 4) and subcommands.
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
NAME = re.compile(r"[-_\w]{1,32}")
"""A command's or option's name (Discord: 1-32 characters, lower case where a case exists)."""


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON with the exact `application/json` type: discord.py compares the header verbatim."""
    return web.Response(body=json.dumps(body).encode(), status=status,
                        headers={**(headers or {}), "Content-Type": "application/json"})
EPHEMERAL = 64
LOADING = 128
DISCORD_EPOCH_MS = 1_420_070_400_000
TOKEN_LIFE_S = 15 * 60
"""An interaction's token works for 15 minutes; after that its webhook answers 401 (code 50027)."""
DM_CHANNEL, GUILD_CHANNEL, GUILD = "2001", "2002", "7001"
MESSAGE_FIELDS = ("content", "embeds", "components", "allowed_mentions")


def snowflake(at: float, counter: int) -> str:
    """A Discord id made at `at` (Unix seconds): discord.py reads an interaction's age from it."""
    return str(((int(at * 1000) - DISCORD_EPOCH_MS) << 22) | (counter & 0x3FFFFF))


def _user(user_id: str) -> dict[str, Any]:
    return {"id": user_id, "username": f"user{user_id}", "discriminator": "0", "avatar": None}


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
        data = self.payload.get("data") or {}
        return message_text({**self.payload, "content": self.payload.get("content") or data.get("content") or ""})


def message_text(message: dict[str, Any]) -> str:
    """A message's content and every embed part, one per line (raw Discord markdown)."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields", [])]
        parts.append(embed.get("footer", {}).get("text", ""))
    return "\n".join(p for p in parts if p)


def components_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every interactive component in a message (buttons and selects), rows flattened."""
    out: list[dict[str, Any]] = []
    for row in message.get("components") or []:
        out.extend(row.get("components") or [row])
    return out


@dataclass
class Posted:
    """A message the bot made, as Discord keeps it: its JSON and its attachments' bytes."""

    data: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    deleted: bool = False

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def ephemeral(self) -> bool:
        return bool(self.data.get("flags", 0) & EPHEMERAL)

    @property
    def components(self) -> list[dict[str, Any]]:
        return components_of(self.data)

    def text(self) -> str:
        return message_text(self.data)

    def images(self) -> list[tuple[str, bytes, str]]:
        """(filename, bytes, alt text) of each PNG attached, in order."""
        return [(a["filename"], self.files[a["filename"]], a.get("description") or "")
                for a in self.data.get("attachments", []) if a["filename"].lower().endswith(".png")]


@dataclass
class Interaction:
    """An injected interaction (a slash command, a click, a modal submit) and what the bot did with it."""

    id: str
    token: str
    sent_at: float
    type: int = 2
    """2 a slash command, 3 a component (button, select), 4 an autocomplete, 5 a modal submit."""
    created: float = field(default_factory=time.time)
    user_id: str = "3001"
    channel_id: str = DM_CHANNEL
    message_id: str | None = None
    """For a click or a modal opened from one: the message it came from (its @original)."""
    original_id: str | None = None
    """For a slash command: the message its response made."""
    callbacks: list[Sent] = field(default_factory=list)
    followups: list[Sent] = field(default_factory=list)
    deletes: list[Sent] = field(default_factory=list)
    edits: list[Sent] = field(default_factory=list)
    touched: list[str] = field(default_factory=list)
    """Ids of the messages this interaction's answers made or changed, in order."""
    modal: dict[str, Any] | None = None
    """The modal the bot opened in answer (a type 9 callback)."""
    suggested: list[dict[str, Any]] | None = None
    """The choices the bot offered for an autocomplete (a type 8 callback)."""
    payload: dict[str, Any] = field(default_factory=dict)
    """The INTERACTION_CREATE data as sent (for a redelivery)."""

    def touch(self, message_id: str) -> None:
        if message_id not in self.touched:
            self.touched.append(message_id)

    @property
    def original(self) -> str | None:
        return self.message_id if self.type in (3, 5) and self.message_id else self.original_id


class FakeDiscord:
    """REST API + gateway on 127.0.0.1; one gateway connection per shard."""

    def __init__(self, heartbeat_interval_ms: int = 1000, defer_deadline_s: float = 3.0,
                 token_life_s: float = TOKEN_LIFE_S) -> None:
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.defer_deadline_s = defer_deadline_s
        self.token_life_s = token_life_s
        self.port = 0
        self.requests: list[Sent] = []
        self.heartbeats: list[float] = []
        self.identified: list[dict[str, Any]] = []
        self.synced: list[tuple[str, list[dict[str, Any]]]] = []
        """Every command upload (PUT), as (path, payload)."""
        self.commands: dict[str, list[dict[str, Any]]] = {}
        """The commands Discord has, by path (/applications/{id}/commands or .../guilds/{id}/commands)."""
        self.command_list_status: int | None = None
        """If set, a GET of the command list is answered with this HTTP status (e.g. 503)."""
        self.upload_status: int | None = None
        """If set, a command upload (PUT) is answered with this HTTP status."""
        self.interactions: dict[str, Interaction] = {}
        self.messages: dict[str, Posted] = {}
        self.close_codes: list[int | None] = []
        self.rate_limit_followups = 0
        """How many follow-up POSTs to answer with 429 before accepting one."""
        self.reject_login = False
        self.gateway_close_code: int | None = None
        """If set, the gateway closes with this code right after IDENTIFY (4004: bad token)."""
        self.ready = asyncio.Event()
        self.sockets: dict[int, web.WebSocketResponse] = {}
        """The open gateway connection of each shard."""
        self.shard_count = 1
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
        for ws in list(self.sockets.values()):
            if not ws.closed:
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway(self) -> yarl.URL:
        return yarl.URL(f"ws://127.0.0.1:{self.port}/gw")

    def new_id(self, at: float | None = None) -> str:
        return snowflake(time.time() if at is None else at, next(self._ids))

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
        shard_id, count = data.get("shard") or (0, 1)
        self.sockets[shard_id], self.shard_count = ws, count
        await self._send(ws, "READY", {
            "v": 10, "user": BOT_USER, "guilds": [], "session_id": f"s{shard_id}", "shard": [shard_id, count],
            "resume_gateway_url": str(self.gateway), "application": {"id": APP_ID, "flags": 0},
        })
        self.ready.set()

    async def _send(self, ws: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        await ws.send_json({"op": 0, "t": event, "s": next(self._seq), "d": data})

    def shard_of(self, guild_id: str | None) -> int:
        """Discord's rule: a server's events go to shard (server id >> 22) % shard count; DMs to shard 0."""
        return (int(guild_id) >> 22) % self.shard_count if guild_id else 0

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        ws = self.sockets.get(self.shard_of(data.get("guild_id"))) or self._ws
        assert ws is not None, "the bot has not connected to the gateway (or not that shard)"
        await self._send(ws, event, data)

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
        if parts[:2] == ["applications", APP_ID] and parts[-1] == "commands":
            return self._commands(method, path, parts, sent)
        if parts[0] == "interactions" and parts[-1] == "callback":
            return self._callback(parts[1], parts[2], sent)
        if parts[:2] == ["webhooks", APP_ID]:
            return self._webhook(method, parts[2], parts[3:], sent)
        if parts[0] == "channels" and len(parts) >= 3 and parts[2] == "messages":
            return self._channel(method, parts[1], parts[3:], sent)
        return _unknown("404: Not Found", 0)

    # -- the command list ---------------------------------------------------------------------------
    def _commands(self, method: str, path: str, parts: list[str], sent: Sent) -> web.Response:
        if method == "GET":
            if self.command_list_status is not None:
                return _json({"message": "Service unavailable", "code": 0}, status=self.command_list_status)
            return _json(self.commands.get(path, []))
        if method != "PUT":
            return _unknown("404: Not Found", 0)
        commands = sent.payload if isinstance(sent.payload, list) else []
        self.synced.append((path, commands))
        if self.upload_status is not None:
            return _json({"message": "Upload refused", "code": 0}, status=self.upload_status)
        problems = [p for c in commands for p in command_problems(c)]
        if problems:
            return _json({"message": "Invalid Form Body", "code": 50035, "errors": problems}, status=400)
        guild = parts[3] if len(parts) == 5 else None
        self.commands[path] = [as_reported(c, str(5000 + i), guild) for i, c in enumerate(commands)]
        return _json(self.commands[path])

    # -- interaction callbacks (the first answer, within 3 s) -----------------------------------------
    def _callback(self, interaction_id: str, token: str, sent: Sent) -> web.Response:
        interaction = self.interactions.get(interaction_id)
        if interaction is None or interaction.token != token:
            return _unknown("Unknown interaction", 10062)
        interaction.callbacks.append(sent)
        if len(interaction.callbacks) > 1:
            return _json({"message": "Interaction has already been acknowledged.", "code": 40060}, status=400)
        if sent.at - interaction.sent_at > self.defer_deadline_s:
            return _unknown("Unknown interaction", 10062)
        callback = sent.payload.get("type")
        data = sent.payload.get("data") or {}
        if callback in (6, 7) and interaction.message_id is None:
            return _json({"message": "Invalid interaction response type", "code": 50035}, status=400)
        if (callback == 8) != (interaction.type == 4):
            return _json({"message": "Interaction response type does not fit", "code": 50035}, status=400)
        if callback == 8:
            problems = choice_problems(data.get("choices"))
            if problems:
                return _json({"message": "Invalid Form Body", "code": 50035, "errors": problems}, status=400)
            interaction.suggested = list(data["choices"])
            return _json({"interaction": {"id": interaction_id, "type": 4, "response_message_loading": False,
                                          "response_message_ephemeral": False}})
        body: dict[str, Any] = {"interaction": {
            "id": interaction_id, "type": interaction.type, "response_message_loading": callback == 5,
            "response_message_ephemeral": bool((data.get("flags") or 0) & EPHEMERAL),
        }}
        if callback in (4, 5):
            flags = (data.get("flags") or 0) | (LOADING if callback == 5 else 0)
            posted = self._post(interaction.channel_id, {**data, "flags": flags}, sent.files, interaction)
            interaction.original_id = posted.id
            if callback == 4:
                interaction.touch(posted.id)
                body["resource"] = {"type": 4, "message": posted.data}
        elif callback == 7:
            posted = self._edit(interaction.message_id or "", data, sent.files, interaction)
            body["resource"] = {"type": 7, "message": posted.data}
        elif callback == 9:
            interaction.modal = data
        return _json(body)

    # -- an interaction's webhook: follow-ups and edits, while its token lives -------------------------
    def _webhook(self, method: str, token: str, rest: list[str], sent: Sent) -> web.Response:
        interaction = next((i for i in self.interactions.values() if i.token == token), None)
        if interaction is None:
            return _unknown("Unknown Webhook", 10015)
        if time.time() - interaction.created > self.token_life_s:
            return _json({"message": "Invalid Webhook Token", "code": 50027}, status=401)
        if method == "POST" and not rest:
            return self._followup(interaction, sent)
        target = interaction.original if rest[-1:] == ["@original"] else (rest[-1] if rest else None)
        posted = self.messages.get(target or "")
        if posted is None or posted.deleted:
            return _unknown("Unknown Message", 10008)
        if method == "DELETE":
            interaction.deletes.append(sent)
            posted.deleted = True
            return web.Response(status=204)
        if method == "PATCH":
            interaction.edits.append(sent)
            return _json(self._edit(posted.id, sent.payload, sent.files, interaction).data)
        return _json(posted.data)

    def _followup(self, interaction: Interaction, sent: Sent) -> web.Response:
        if self.rate_limit_followups > 0:
            self.rate_limit_followups -= 1
            headers = {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
                       "X-RateLimit-Reset-After": "0.5", "X-RateLimit-Bucket": "fake",
                       "Via": "1.1 google"}  # real 429s carry it; discord.py treats others as a ban
            return _json({"message": "You are being rate limited.", "retry_after": 0.5, "global": False},
                         status=429, headers=headers)
        interaction.followups.append(sent)
        loading = self.messages.get(interaction.original_id or "")
        if loading is not None and not loading.deleted and loading.data.get("flags", 0) & LOADING:
            # Discord: the first follow-up after a deferral fills the "thinking" message, keeping its visibility
            kept = loading.data["flags"] & EPHEMERAL
            return _json(self._edit(loading.id, {**sent.payload, "flags": kept}, sent.files, interaction).data)
        return _json(self._post(interaction.channel_id, sent.payload, sent.files, interaction).data)

    # -- the bot's own token: messages in a channel ---------------------------------------------------
    def _channel(self, method: str, channel_id: str, rest: list[str], sent: Sent) -> web.Response:
        if method == "POST" and not rest:
            return _json(self._post(channel_id, sent.payload, sent.files, None).data)
        posted = self.messages.get(rest[0] if rest else "")
        if posted is None or posted.deleted or posted.data["channel_id"] != channel_id or posted.ephemeral:
            return _unknown("Unknown Message", 10008)
        if method == "PATCH":
            return _json(self._edit(posted.id, sent.payload, sent.files, None).data)
        return _json(posted.data)

    # -- messages --------------------------------------------------------------------------------------
    def _post(self, channel_id: str, payload: dict[str, Any], files: list[tuple[str, bytes]],
              by: Interaction | None) -> Posted:
        message_id = self.new_id()
        data: dict[str, Any] = {
            "id": message_id, "channel_id": channel_id, "type": 0 if by is None else 20, "content": "",
            "author": BOT_USER, "attachments": [], "embeds": [], "components": [], "mentions": [],
            "mention_roles": [], "pinned": False, "tts": False, "mention_everyone": False,
            "timestamp": "2025-01-01T00:00:00+00:00", "edited_timestamp": None, "flags": payload.get("flags") or 0,
            "application_id": APP_ID,
        }
        if by is not None:
            data["webhook_id"] = APP_ID
            data["interaction_metadata"] = {
                "id": by.id, "type": by.type, "user": _user(by.user_id),
                "authorizing_integration_owners": {"0": GUILD} if by.channel_id == GUILD_CHANNEL else {"1": by.user_id},
                **({"interacted_message_id": by.message_id} if by.message_id else {}),
            }
        posted = Posted(data)
        self.messages[message_id] = posted
        self._apply(posted, payload, files)
        if by is not None:
            by.touch(message_id)
        return posted

    def _edit(self, message_id: str, payload: dict[str, Any], files: list[tuple[str, bytes]],
              by: Interaction | None) -> Posted:
        posted = self.messages[message_id]
        posted.data["edited_timestamp"] = "2025-01-01T00:00:01+00:00"
        self._apply(posted, payload, files)
        if by is not None:
            by.touch(message_id)
        return posted

    def _apply(self, posted: Posted, payload: dict[str, Any], files: list[tuple[str, bytes]]) -> None:
        """Set what the payload names; `attachments` lists the ones to keep (by id) and the new ones."""
        for key in MESSAGE_FIELDS:
            if key in payload:
                posted.data[key] = payload[key] if payload[key] is not None else ([] if key != "content" else "")
        if "flags" in payload:
            posted.data["flags"] = (payload.get("flags") or 0) | (posted.data.get("flags", 0) & EPHEMERAL)
        if "attachments" not in payload and not files:
            return
        uploaded = dict(files)
        kept = {str(a["id"]): a for a in posted.data.get("attachments", [])}
        attachments, contents = [], {}
        for entry in payload.get("attachments", [{"id": i, "filename": n} for i, (n, _) in enumerate(files)]):
            old = kept.get(str(entry.get("id")))
            if old is not None:
                attachments.append(old)
                contents[old["filename"]] = posted.files[old["filename"]]
                continue
            name = entry.get("filename") or files[int(entry["id"])][0]
            data = uploaded[name]
            attachments.append({"id": self.new_id(), "filename": name, "size": len(data),
                                "url": f"https://cdn.fake/{name}", "proxy_url": f"https://cdn.fake/{name}",
                                "description": entry.get("description")})
            contents[name] = data
        posted.data["attachments"], posted.files = attachments, contents

    # -- what tests call ---------------------------------------------------------------------
    def _new_interaction(self, interaction_type: int, user_id: str, guild: bool, age_s: float) -> Interaction:
        created = time.time() - age_s
        interaction_id = self.new_id(created)
        interaction = Interaction(interaction_id, f"itok{interaction_id}", time.monotonic(), type=interaction_type,
                                  created=created, user_id=user_id, channel_id=GUILD_CHANNEL if guild else DM_CHANNEL)
        self.interactions[interaction.id] = interaction
        return interaction

    def _envelope(self, interaction: Interaction, guild: bool, attachment_size_limit: int,
                  permissions: str = "0", guild_id: str = GUILD) -> dict[str, Any]:
        """The fields every interaction carries: who, where, and the token."""
        user = _user(interaction.user_id)
        data: dict[str, Any] = {
            "id": interaction.id, "application_id": APP_ID, "type": interaction.type, "token": interaction.token,
            "version": 1, "attachment_size_limit": attachment_size_limit, "locale": "en-US",
            "app_permissions": "0", "entitlements": [],
        }
        if guild:
            data.update({
                "guild_id": guild_id, "context": 0, "authorizing_integration_owners": {"0": guild_id},
                "channel": {"id": GUILD_CHANNEL, "type": 0, "guild_id": guild_id, "name": "general", "position": 0,
                            "permission_overwrites": [], "nsfw": False, "parent_id": None},
                "channel_id": GUILD_CHANNEL,
                "member": {"user": user, "roles": [], "joined_at": "2024-01-01T00:00:00+00:00", "deaf": False,
                           "mute": False, "flags": 0, "permissions": permissions, "nick": None, "avatar": None},
            })
        else:
            data.update({
                "context": 1, "authorizing_integration_owners": {"1": interaction.user_id},
                "channel": {"id": DM_CHANNEL, "type": 1}, "channel_id": DM_CHANNEL, "user": user,
            })
        return data

    async def _inject(self, interaction: Interaction, data: dict[str, Any]) -> Interaction:
        interaction.sent_at, interaction.payload = time.monotonic(), data
        await self.dispatch("INTERACTION_CREATE", data)
        return interaction

    async def redeliver(self, interaction: Interaction) -> None:
        """The same INTERACTION_CREATE again (a gateway replay after a resume): same id, same token."""
        await self.dispatch("INTERACTION_CREATE", interaction.payload)

    async def send_command(
        self, name: str, options: dict[str, Any] | None = None, *, guild: bool = False, user_id: str = "3001",
        attachment_size_limit: int = 10 * 1024 * 1024, permissions: str = "0", guild_id: str = GUILD,
        age_s: float = 0.0, subcommand: str | None = None,
    ) -> Interaction:
        """Inject a slash command (or one of its subcommands) from a DM (default) or a server channel."""
        interaction = self._new_interaction(2, user_id, guild, age_s)
        data = self._envelope(interaction, guild, attachment_size_limit, permissions, guild_id)
        given = [{"name": key, "type": OPTION_TYPES[type(value)], "value": value}
                 for key, value in (options or {}).items()]
        data["data"] = {"id": "4001", "name": name, "type": 1, "options": _under(subcommand, given)}
        return await self._inject(interaction, data)

    async def autocomplete(
        self, name: str, focused: str, typed: str, options: dict[str, Any] | None = None, *,
        option_type: int = 3, guild: bool = False, subcommand: str | None = None, user_id: str = "3001",
    ) -> Interaction:
        """Inject an autocomplete (type 4): the learner has typed `typed` into option `focused` (Discord sends
        the partial value as a string, whatever the option's type), with `options` filled in already."""
        interaction = self._new_interaction(4, user_id, guild, 0.0)
        data = self._envelope(interaction, guild, 10 * 1024 * 1024)
        given = [{"name": key, "type": OPTION_TYPES[type(value)], "value": value}
                 for key, value in (options or {}).items()]
        given.append({"name": focused, "type": option_type, "value": typed, "focused": True})
        data["data"] = {"id": "4001", "name": name, "type": 1, "options": _under(subcommand, given)}
        return await self._inject(interaction, data)

    async def suggestions(self, interaction: Interaction, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The choices the bot offered for an autocomplete (it must answer within the 3 s)."""
        await self.wait_until(lambda: interaction.suggested is not None or bool(interaction.callbacks), timeout)
        assert interaction.suggested is not None, [c.payload for c in interaction.callbacks]
        return interaction.suggested

    async def click(
        self, message: Posted | str, custom_id: str, *, user_id: str = "3001", values: list[str] | None = None,
        attachment_size_limit: int = 10 * 1024 * 1024, age_s: float = 0.0,
    ) -> Interaction:
        """Inject a click on a button (or a choice in a select, with `values`) of a message the bot sent."""
        posted = message if isinstance(message, Posted) else self.messages[message]
        component = next((c for c in posted.components if c.get("custom_id") == custom_id), None)
        assert component is not None, f"no component {custom_id!r} on message {posted.id}"
        guild = posted.data["channel_id"] == GUILD_CHANNEL
        interaction = self._new_interaction(3, user_id, guild, age_s)
        interaction.message_id = posted.id
        data = self._envelope(interaction, guild, attachment_size_limit)
        data["message"] = posted.data
        data["data"] = {"custom_id": custom_id, "component_type": component["type"],
                        **({"values": values} if values is not None else {})}
        return await self._inject(interaction, data)

    async def submit(self, opened: Interaction, values: dict[str, str], *, age_s: float = 0.0) -> Interaction:
        """Inject the submit of the modal the bot opened in answer to `opened`, with text per input custom_id."""
        assert opened.modal is not None, "the bot opened no modal for that interaction"
        guild = opened.channel_id == GUILD_CHANNEL
        interaction = self._new_interaction(5, opened.user_id, guild, age_s)
        interaction.message_id = opened.message_id
        data = self._envelope(interaction, guild, 10 * 1024 * 1024)
        if opened.message_id:
            data["message"] = self.messages[opened.message_id].data
        inputs = [c for c in _walk(opened.modal.get("components") or []) if c.get("type") == 4]
        data["data"] = {"custom_id": opened.modal["custom_id"], "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": c["custom_id"], "value": values[c["custom_id"]]}]}
            for c in inputs if c["custom_id"] in values
        ]}
        return await self._inject(interaction, data)

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

    async def answered(self, interaction: Interaction, timeout: float = 30.0) -> list[Posted]:
        """Wait until the bot has finished with an interaction (its loading message filled, or a
        message made or changed), then the messages it made or changed, as they are now."""

        def done() -> bool:
            loading = self.messages.get(interaction.original_id or "")
            if loading is not None and not loading.deleted and loading.data.get("flags", 0) & LOADING:
                return False
            return bool(interaction.touched or interaction.modal)

        await self.wait_until(done, timeout)
        await asyncio.sleep(0.05)  # a second message (a private copy after an edit) may follow at once
        return [self.messages[m] for m in interaction.touched if not self.messages[m].deleted]

    def channel_messages(self) -> list[Posted]:
        """Messages the bot posted with its own token (no interaction)."""
        return [p for p in self.messages.values() if "interaction_metadata" not in p.data]


def _under(subcommand: str | None, options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Options as Discord nests them under a subcommand (an option of type 1), when there is one."""
    return options if subcommand is None else [{"name": subcommand, "type": 1, "options": options}]


def choice_problems(choices: Any) -> list[str]:
    """What Discord refuses in a list of choices (of a command's option, or an autocomplete's answer)."""
    if not isinstance(choices, list):
        return ["choices: not a list"]
    problems = [f"choices: {len(choices)} over 25"] if len(choices) > 25 else []
    for choice in choices:
        name, value = choice.get("name"), choice.get("value")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            problems.append(f"choice name {name!r}: 1-100 characters")
        if not isinstance(value, (str, int, float)) or (isinstance(value, str) and len(value) > 100):
            problems.append(f"choice value {value!r}: a string of at most 100 characters, or a number")
    return problems


def command_problems(command: dict[str, Any]) -> list[str]:
    """What Discord refuses in one uploaded command (or option): the limits its API documents."""
    name = command.get("name", "")
    problems = [] if NAME.fullmatch(name) and name == name.lower() else [f"name {name!r}"]
    description = command.get("description", "")
    if not 1 <= len(description) <= 100:
        problems.append(f"{name}: description of {len(description)} characters")
    options = command.get("options") or []
    if len(options) > 25:
        problems.append(f"{name}: {len(options)} options")
    if "choices" in command:
        problems += [f"{name}: {p}" for p in choice_problems(command["choices"])]
        if command.get("autocomplete"):
            problems.append(f"{name}: choices and autocomplete together")
    nested = [o.get("type") in (1, 2) for o in options]
    if any(nested) and not all(nested):
        problems.append(f"{name}: subcommands beside plain options")
    required = [bool(o.get("required")) for o in options if o.get("type") not in (1, 2)]
    if required != sorted(required, reverse=True):
        problems.append(f"{name}: a required option after an optional one")
    if len({o.get("name") for o in options}) != len(options):
        problems.append(f"{name}: two options of one name")
    return problems + [p for o in options for p in command_problems(o)]


def as_reported(command: dict[str, Any], command_id: str, guild: str | None) -> dict[str, Any]:
    """A command as Discord reports it back: with ids and a version, `required: false` and empty option lists
    left out, the permissions as a string."""

    def option(entry: dict[str, Any]) -> dict[str, Any]:
        shown = {k: v for k, v in entry.items() if not (k == "required" and v is False)}
        if "options" in shown:
            shown["options"] = [option(o) for o in shown["options"]]
            if not shown["options"]:
                del shown["options"]
        return shown

    reported = {**option(command), "id": command_id, "application_id": APP_ID, "version": f"1{command_id}"}
    reported.pop("dm_permission", None)
    permissions = reported.get("default_member_permissions")
    reported["default_member_permissions"] = None if permissions is None else str(permissions)
    if guild is not None:
        reported["guild_id"] = guild
    return reported


def _walk(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for component in components:
        yield component
        yield from _walk(component.get("components") or [])
        if isinstance(component.get("component"), dict):  # a Label holds one component
            yield from _walk([component["component"]])


def _unknown(message: str, code: int) -> web.Response:
    return _json({"message": message, "code": code}, status=404)


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
