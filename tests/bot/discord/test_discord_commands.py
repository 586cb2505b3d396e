"""End to end over the real registry and the tiny model pack: every command through Discord.

The fake Discord (tests/support/fake_discord.py) injects INTERACTION_CREATE events into the real
discord.py client and records what the bot sends back.
"""
from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
from PIL import Image as PILImage

from bot.discord.app import DiscordAdapter
from bot.discord.commands import HEAD_MAX_LENGTH
from core.engine import Engine
from core.grammar import parse_line
from core.markup import to_plain
from core.policy import APOLOGY, Policy
from core.registry import MAX_TEXT_CHARS, Command, Option, Registry
from core.store import Database, RunStore, database_url
from core.text import clean_text
from tests.support.fake_discord import FakeDiscord, Interaction, Sent, discord_session, read_markdown

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
OPTION_TYPE = {"text": 3, "int": 4, "bool": 5, "head": 3}


@pytest.fixture
def bot(tiny_engine: Engine, tmp_path: Path) -> Callable[[], discord.Client]:
    """A client on the shared tiny pack's engine, with a database of its own for its runs (each start
    meets a fresh fake Discord that has no commands yet, so it uploads them)."""

    def build() -> discord.Client:
        policy = Policy(tiny_engine, runs=RunStore(Database(database_url(tmp_path))))
        return DiscordAdapter(policy, {"DISCORD_TOKEN": "test-token"}).client

    return build


def typed_example(registry: Registry, command: Command) -> dict[str, Any]:
    """The command's first example as the typed options a Discord client would send."""
    _, raw = parse_line(registry, command.examples[0])
    typed: dict[str, Any] = {}
    for option in command.options:
        value = raw.get(option.name)
        if value is not None:
            typed[option.name] = option.coerce(value) if option.type in ("int", "bool") else str(value)
    return typed


def expected_option(option: Option) -> dict[str, Any]:
    payload: dict[str, Any] = {"type": OPTION_TYPE[option.type], "name": option.name,
                               "description": option.description, "required": option.required}
    if option.choices:
        payload["choices"] = [{"name": c.label, "value": c.value} for c in option.choices]
    elif option.type == "text":
        payload["max_length"] = option.max_length or MAX_TEXT_CHARS
    if option.suggest is not None:
        payload["autocomplete"] = True
    if option.type == "head":
        payload["max_length"] = HEAD_MAX_LENGTH
    if option.type == "int":
        payload.update({k: v for k, v in (("min_value", option.min_value), ("max_value", option.max_value))
                        if v is not None})
    return payload


def expected_options(options: tuple[Option, ...]) -> list[dict[str, Any]]:
    return [expected_option(o) for o in sorted(options, key=lambda o: not o.required)]  # Discord: required first


def test_synced_payload_matches_the_real_registry(tiny_engine: Engine, bot: Callable[[], discord.Client]) -> None:
    async def scenario() -> None:
        async with discord_session(bot) as (fake, _):
            (_, payload), = fake.synced
            assert [c["name"] for c in payload] == [c.name for c in tiny_engine.registry.visible()]
            for command, synced in zip(tiny_engine.registry.visible(), payload, strict=True):
                assert synced["description"] == command.description
                assert synced["contexts"] == [0, 1, 2], "servers, bot DMs, group DMs"
                assert synced["integration_types"] == [0, 1], "server install and user install"
                assert synced["default_member_permissions"] is None, "every member may use every command"
                if command.subcommands:
                    verbs = [{"name": s.name, "description": s.description, "type": 1,
                              "options": expected_options(s.options)} for s in command.subcommands]
                    assert synced["options"] == verbs, command.name
                else:
                    assert synced.get("options", []) == expected_options(command.options), command.name

    asyncio.run(asyncio.wait_for(scenario(), 60))


def shown(markdown: str) -> str:
    """What a reader sees of Discord text (escapes undone, code as its text, bold marks dropped)."""
    return "".join(text for _, text in read_markdown(markdown)).replace("**", "")


def assert_valid_png(reply: Sent) -> None:
    assert reply.files, "the attention answer carries a picture"
    name, data = reply.files[0]
    assert name.endswith(".png") and data.startswith(PNG_MAGIC)
    with PILImage.open(io.BytesIO(data)) as image:
        image.verify()
        assert image.format == "PNG" and image.size[0] > 0 and image.size[1] > 0
    assert reply.payload["attachments"][0]["description"], "alt text is set"


def test_every_command_answers_through_discord(tiny_engine: Engine, bot: Callable[[], discord.Client]) -> None:
    async def scenario() -> None:
        async with discord_session(bot) as (fake, _):
            # the tutor's personal commands (a random quiz question, a learner's own progress) cannot equal a
            # second run: tests/conformance/test_conformance_product.py drives them through Discord
            answers = [c for c in tiny_engine.registry.visible() if not c.personal]
            assert {"sentiment", "compare", "attention", "help"} <= {c.name for c in answers}
            for index, command in enumerate(answers):
                options = typed_example(tiny_engine.registry, command)
                expected = await tiny_engine.run(command.name, options)
                interaction = await fake.send_command(command.name, options, guild=index % 2 == 1)
                reply = await fake.reply_to(interaction, timeout=30)
                where = f"/{command.name} {options}"
                assert interaction.callbacks[0].payload == {"type": 5}, where
                assert interaction.callbacks[0].at - interaction.sent_at < 3.0, where
                assert len(interaction.followups) == 1 and not reply.ephemeral, where
                (embed,) = reply.payload["embeds"]
                assert embed["title"] == f"/{command.name}"
                # a byte-level model may write control characters (the tiny DistilBART's BPE has all 256
                # bytes); every outgoing string is cleaned of them (core.text), the rest arrives as it is
                assert clean_text(to_plain(expected.answer)).text.strip()[:300] in shown(embed["description"]), where
                if expected.model:
                    assert embed["footer"]["text"] == f"Model: {expected.model}", where
                else:  # /help and /models run no model: no "Model: -" placeholder
                    assert "footer" not in embed, where
                if expected.table is not None:
                    assert expected.table.as_text().splitlines()[0] in embed["description"], where
                field_names = [f["name"] for f in embed["fields"]]
                assert "What happened" in field_names and "Try it yourself" in field_names, where
                assert reply.payload["allowed_mentions"] == {"parse": []}
                if command.name == "tokenize":
                    assert "101 1045 1005 1049 4083 102" in reply.text()
                if command.name in ("attention", "overview"):
                    assert_valid_png(reply)

    asyncio.run(asyncio.wait_for(scenario(), 120))


def test_bad_input_gets_an_ephemeral_error(tiny_engine: Engine, bot: Callable[[], discord.Client]) -> None:
    cases = [
        ("sentiment", {"text": ""}, r"needs `text`"),
        ("fillmask", {"text": "Paris is the capital of France."}, r"\[MASK\]|<mask>|mask"),
        ("attention", {"text": "The cat sat.", "layer": 99}, r"2 layers: `layer` must be between 0 and 1"),
        ("attention", {"text": "The cat sat.", "layer": 47}, r"layer"),
        ("generate", {"prompt": "Hi", "max_new_tokens": 0}, r"max_new_tokens"),
    ]

    async def scenario() -> None:
        async with discord_session(bot) as (fake, client):
            for name, options, pattern in cases:
                interaction = await fake.send_command(name, options)
                reply = await fake.reply_to(interaction, timeout=30)
                assert reply.ephemeral, (name, options, reply.payload)
                text = reply.payload.get("content") or reply.payload["data"]["content"]  # follow-up, or direct
                assert re.search(pattern, text, re.IGNORECASE), text
                assert "Traceback" not in text
            interaction = await fake.send_command("tokenize", {"text": "still here"})
            assert "still" in (await fake.reply_to(interaction)).text()
            assert not client.is_closed()

    asyncio.run(asyncio.wait_for(scenario(), 90))


BACKTICKS = "Run `pip install transformers` then ```py import torch```"
"""The learner's text from issue 10 (point 8)."""


def test_backticks_in_a_learner_s_text_leave_the_table_whole(
    tiny_engine: Engine, bot: Callable[[], discord.Client],
) -> None:
    async def scenario() -> None:
        async with discord_session(bot) as (fake, _):
            expected = await tiny_engine.run("tokenize", {"text": BACKTICKS})
            interaction = await fake.send_command("tokenize", {"text": BACKTICKS})
            reply = await fake.reply_to(interaction)
            assert not reply.ephemeral
            (embed,) = reply.payload["embeds"]
            blocks = [text for kind, text in read_markdown(embed["description"]) if kind == "block"]
            assert expected.table is not None and blocks == [expected.table.as_text()]
            assert ("snippet.py", expected.code.encode()) in reply.files, "the snippet, exactly, as a file"

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_a_lone_surrogate_in_an_option_is_answered_without_an_apology(
    tiny_engine: Engine, bot: Callable[[], discord.Client],
) -> None:
    async def scenario() -> None:
        async with discord_session(bot) as (fake, _):
            interaction = await fake.send_command("sentiment", {"text": "I love this \ud800 course"})
            reply = await fake.reply_to(interaction, timeout=30)
            assert APOLOGY not in reply.text()
            assert not reply.ephemeral and reply.payload["embeds"], reply.payload

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_fake_refuses_a_late_deferral() -> None:
    """The fake enforces Discord's 3 s rule, so the deferral timing checks above can fail."""

    async def scenario() -> None:
        fake = FakeDiscord(defer_deadline_s=0.0)
        await fake.start()
        try:
            fake.interactions["1"] = Interaction("1", "tok", 0.0)
            async with aiohttp.ClientSession() as session:
                url = f"{fake.base}/interactions/1/tok/callback"
                async with session.post(url, json={"type": 5}) as response:
                    assert response.status == 404
                    assert (await response.json())["code"] == 10062
        finally:
            await fake.stop()

    asyncio.run(scenario())
