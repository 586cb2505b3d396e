"""The conformance suite's Discord driver: the real discord.py client against the fake Discord.

`ask` types a line the way a Discord learner would: the slash command with typed options (read
with the registry's own grammar; a command's verbs as its subcommands), in a server channel.
`choose` clicks the button, or picks the select option, that carries the chosen label. `Seen` is
what Discord would show that learner, read back with the model of Discord's markdown
(`read_markdown`), and the driver holds every message to Discord's limits (2000 characters of
content; an embed's 256-character title, 4096-character description, 1024-character fields,
2048-character footer, 6000 in all) and
says whether anything in it would notify anyone (`allowed_mentions`).
"""
from __future__ import annotations

import asyncio
import json
import re
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.discord.app import DiscordAdapter
from core.errors import UserError
from core.grammar import parse_arguments, split_command
from core.policy import Policy
from core.registry import Registry
from tests.conformance.scenarios import Seen
from tests.support.fake_discord import FakeDiscord, Interaction, Posted, _walk, patch_discord, read_markdown

LIMITS = {"content": 2000, "title": 256, "description": 4096, "field": 1024, "footer": 2048, "embed": 6000}
_EVERYONE = re.compile(r"@(everyone|here)\b")
_USER = re.compile(r"<@!?\d+>")
_ROLE = re.compile(r"<@&\d+>")


def slash_command(registry: Registry, line: str) -> tuple[str, dict[str, Any]]:
    """The slash command a Discord learner would send for a line: its name and typed options.
    An unknown name is sent as it is (Discord's stale copy of the command list can offer one)."""
    name, typed, _ = slash_verb(registry, line)
    return name, typed


def slash_verb(registry: Registry, line: str) -> tuple[str, dict[str, Any], str | None]:
    """`slash_command`, and the subcommand a command with verbs is sent as (`/board join Ada` is `board`
    `join` with `name: Ada`, as Discord's menu sends it); None for a command without verbs."""
    name, rest = split_command(line)
    try:
        command = registry.get(name)
    except UserError:
        return name, {}, None
    typed: dict[str, Any] = {}
    for option_name, raw in parse_arguments(command, rest).items():
        option = command.option(option_name)
        if raw is None:
            continue
        typed[option_name] = option.coerce(raw) if option.type in ("int", "bool") else str(raw)
    if not command.subcommands:
        return command.name, typed, None
    verb = command.as_subcommand(str(typed.get(command.options[0].name, "")))
    assert verb is not None, f"Discord's menu has no subcommand for {line!r}"
    return command.name, verb[1], verb[0].name


def within_limits(message: dict[str, Any]) -> None:
    """Discord refuses a message past its limits; the fake does not, so the driver checks them."""
    assert len(message.get("content") or "") <= LIMITS["content"], "content over 2000"
    for embed in message.get("embeds") or []:
        parts = {"title": embed.get("title", ""), "description": embed.get("description", ""),
                 "footer": embed.get("footer", {}).get("text", "")}
        for key, value in parts.items():
            assert len(value) <= LIMITS[key], f"embed {key} over {LIMITS[key]}"
        fields = embed.get("fields", [])
        assert len(fields) <= 25 and all(len(f["value"]) <= LIMITS["field"] for f in fields), "a field over 1024"
        total = sum(map(len, parts.values())) + sum(len(f["name"]) + len(f["value"]) for f in fields)
        assert total <= LIMITS["embed"], f"embed of {total} characters"


def would_ping(message: dict[str, Any]) -> bool:
    """Would Discord notify anyone: a mention in the text that `allowed_mentions` lets through
    (no `allowed_mentions` at all means Discord's default, which lets every mention ping)."""
    text = "\n".join([message.get("content") or ""] + [e.get("description", "") for e in message.get("embeds") or []]
                     + [f["value"] for e in message.get("embeds") or [] for f in e.get("fields", [])])
    allowed = message.get("allowed_mentions")
    if allowed is None:
        return bool(_EVERYONE.search(text) or _USER.search(text) or _ROLE.search(text))
    parse = set(allowed.get("parse", []))
    return bool((_EVERYONE.search(text) and "everyone" in parse)
                or (_USER.search(text) and ("users" in parse or allowed.get("users")))
                or (_ROLE.search(text) and ("roles" in parse or allowed.get("roles"))))


def visible(message: dict[str, Any]) -> str:
    """The text a reader sees: each part through Discord's markdown (escapes undone, code shown)."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields", [])]
        parts.append(embed.get("footer", {}).get("text", ""))
    return "\n".join("".join(shown for _, shown in read_markdown(p)) for p in parts if p)


MANAGE_GUILD = str(1 << 5)
"""The permission bit Discord sets for someone who may manage the server."""


class DiscordDriver:
    name = "discord"
    limit = LIMITS["embed"]
    shared = True
    replaces = True
    restarts = True

    def __init__(self, fake: FakeDiscord, registry: Registry) -> None:
        self.fake = fake
        self.registry = registry
        self.adapter: DiscordAdapter | None = None
        self.serving: asyncio.Task[None] | None = None
        self.users: dict[str, str] = {}
        self.where: dict[str, tuple[Posted, str, list[str] | None]] = {}
        """An action's id -> the message, the component's custom_id and (for a select) the value to pick."""

    def user_id(self, user: str) -> str:
        """A learner's Discord id: the same for the same name in every driver (a restart keeps who is who)."""
        return self.users.setdefault(user, str(4000 + zlib.crc32(user.encode()) % 10**9))

    async def ask(self, user: str, line: str, *, admin: bool = False) -> Seen:
        name, options, verb = slash_verb(self.registry, line)
        interaction = await self.fake.send_command(name, options, guild=True, user_id=self.user_id(user),
                                                   permissions=MANAGE_GUILD if admin else "0", subcommand=verb)
        return await self._seen(interaction)

    async def choose(self, user: str, seen: Seen, label: str) -> Seen:
        message, custom_id, values = self.where[seen.actions[label]]
        click = await self.fake.click(message, custom_id, user_id=self.user_id(user), values=values)
        return await self._seen(click, message)

    async def fill(self, user: str, seen: Seen, label: str, text: str) -> Seen:
        """Click the button, then submit the modal the bot opened with `text` in its one input."""
        message, custom_id, _ = self.where[seen.actions[label]]
        click = await self.fake.click(message, custom_id, user_id=self.user_id(user))
        await self.fake.wait_until(lambda: click.modal is not None or bool(click.callbacks), 10)
        assert click.modal is not None, "the bot opened no modal for an action that asks for a text"
        inputs = [c["custom_id"] for c in _walk(click.modal.get("components") or []) if c.get("type") == 4]
        assert len(inputs) == 1, click.modal
        return await self._seen(await self.fake.submit(click, {inputs[0]: text}), message)

    async def after(self, user: str, seconds: float) -> Seen:
        """The messages made or changed meanwhile that `user` can see: public ones, and their own ephemerals."""
        before = {key: json.dumps(posted.data, sort_keys=True) for key, posted in self.fake.messages.items()}
        assert self.adapter is not None
        await asyncio.gather(*self.adapter.tutor.timers.skip(seconds))  # each fired timer's edit is made
        changed = [p for key, p in self.fake.messages.items()
                   if not p.deleted and before.get(key) != json.dumps(p.data, sort_keys=True)]
        return self._read([p for p in changed if not p.ephemeral or _asker(p) == self.user_id(user)])

    async def start(self, policy: Policy) -> None:
        """The adapter serving `policy`, connected to the fake's gateway."""
        self.fake.ready.clear()
        self.registry = policy.engine.registry
        self.adapter = DiscordAdapter(policy, {"DISCORD_TOKEN": "conformance-token"})
        serving = self.serving = asyncio.create_task(self.adapter.serve())
        await self.fake.wait_until(lambda: self.fake.ready.is_set() or serving.done(), 10)
        if serving.done():
            serving.result()

    async def stop(self) -> None:
        if self.adapter is not None and self.serving is not None:
            await self.adapter.stop()
            await asyncio.wait_for(self.serving, 10)
        self.adapter = self.serving = None

    async def restart(self, policy: Policy) -> None:
        await self.stop()
        await self.start(policy)

    async def _seen(self, interaction: Interaction, on: Posted | None = None) -> Seen:
        return self._read(await self.fake.answered(interaction), on)

    def _read(self, messages: list[Posted], on: Posted | None = None) -> Seen:
        seen = Seen(private=bool(messages) and all(m.ephemeral for m in messages),
                    replaced=on is not None and any(m.id == on.id for m in messages))
        for message in messages:
            within_limits(message.data)
            seen.texts.append(visible(message.data))
            seen.images += [data for _, data, _ in message.images()]
            seen.alts += [alt for _, _, alt in message.images()]
            seen.files.update({name: data for name, data in message.files.items() if not name.lower().endswith(".png")})
            seen.pings = seen.pings or would_ping(message.data)
            for component in message.components:
                if component["type"] == 2:
                    seen.actions[component["label"]] = component["custom_id"]
                    self.where[component["custom_id"]] = (message, component["custom_id"], None)
                for option in component.get("options", []):
                    seen.actions[option["label"]] = option["value"]
                    self.where[option["value"]] = (message, component["custom_id"], [option["value"]])
        return seen


def _asker(posted: Posted) -> str | None:
    metadata = posted.data.get("interaction_metadata")
    return str(metadata["user"]["id"]) if metadata else None


@asynccontextmanager
async def discord_driver(policy: Policy) -> AsyncIterator[DiscordDriver]:
    """The adapter serving against a fresh fake Discord, for one scenario."""
    fake = FakeDiscord()
    await fake.start()
    try:
        with patch_discord(fake):
            driver = DiscordDriver(fake, policy.engine.registry)
            await driver.start(policy)
            try:
                yield driver
            finally:
                await driver.stop()
    finally:
        await fake.stop()
