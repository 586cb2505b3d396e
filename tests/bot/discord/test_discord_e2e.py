"""End to end: the real discord.py client (bot.discord.app) against the local fake Discord.

These use the toy registry (tests/support/toy_registry.py, a legitimate engine feature) so they run
without models: an echo command, a deliberately slow one, a failing one, one with a picture
and one that spends the cooldown like a model command.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.discord.app import DiscordAdapter
from core.cooldown import Cooldown
from core.engine import Engine
from core.policy import APOLOGY, Policy
from core.settings import ConfigError, Settings
from tests.support.fake_discord import FakeDiscord, Sent, discord_session, patch_discord
from tests.support.toy_registry import SLOW_S, TOY_REGISTRY, png

TOKEN = "test-token"


@pytest.fixture(scope="module")
def toy_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    cache = Path(tmp_path_factory.mktemp("toy-cache"))
    engine = Engine(Settings(pack="tiny", cache_dir=cache, cooldown_s=0.0, request_timeout_s=30.0, workers=2),
                    registry=TOY_REGISTRY)
    yield engine
    engine.close()


Make = Callable[..., DiscordAdapter]


@pytest.fixture
def make(toy_engine: Engine) -> Make:
    """A fresh adapter (its own policy); each start meets a fresh fake Discord with no commands, so it
    uploads them (tests/bot/discord/test_discord_sync.py starts against a Discord that has some)."""

    def build(engine: Engine = toy_engine, cooldown_s: float = 0.0, **env: str) -> DiscordAdapter:
        policy = Policy(engine)
        policy.cooldown = Cooldown(cooldown_s)
        return DiscordAdapter(policy, {"DISCORD_TOKEN": TOKEN, **env})

    return build


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 45))


def test_synced_commands_match_the_registry(make: Make) -> None:
    async def scenario() -> None:
        async with discord_session(lambda: make().client) as (fake, _):
            (path, payload), = fake.synced
            assert path == "/applications/800/commands"
            by_name = {c["name"]: c for c in payload}
            assert sorted(by_name) == sorted(c.name for c in TOY_REGISTRY)
            echo = by_name["echo"]
            assert echo["description"] == "Repeat a text back."
            assert echo["contexts"] == [0, 1, 2] and echo["integration_types"] == [0, 1]
            options = {o["name"]: o for o in echo["options"]}
            assert options["text"] == {"type": 3, "name": "text", "description": "The text to repeat",
                                       "required": True, "max_length": 200}
            assert options["times"] == {"type": 4, "name": "times", "description": "How loud (1-5)",
                                        "required": False, "min_value": 1, "max_value": 5}
            assert options["shout"] == {"type": 5, "name": "shout", "description": "Upper case?", "required": False}
            assert options["head"]["type"] == 3 and options["head"]["max_length"] == 4
            assert echo["options"][0]["name"] == "text", "required options come first"

    run(scenario)


def test_guild_sync_goes_to_the_guild(make: Make) -> None:

    async def scenario() -> None:
        async with discord_session(lambda: make(DISCORD_GUILD_ID="7001").client) as (fake, _):
            (path, payload), = fake.synced
            assert path == "/applications/800/guilds/7001/commands"
            assert sorted(c["name"] for c in payload) == sorted(c.name for c in TOY_REGISTRY)

    run(scenario)


def test_dm_and_guild_interactions_get_a_deferral_then_one_answer(make: Make) -> None:
    async def scenario() -> None:
        async with discord_session(lambda: make().client) as (fake, _):
            for guild in (False, True):
                interaction = await fake.send_command("echo", {"text": "hi there", "times": 3}, guild=guild)
                reply = await fake.reply_to(interaction)
                (deferral,) = interaction.callbacks
                assert deferral.payload == {"type": 5}
                assert deferral.at - interaction.sent_at < 3.0
                assert len(interaction.followups) == 1 and not reply.ephemeral
                (embed,) = reply.payload["embeds"]
                assert embed["description"] == "You said: hi there (x3)"
                assert embed["footer"]["text"] == "Model: toy/echo"
                assert embed["fields"][0] == {"name": "What happened", "value": "We echoed your text.",
                                              "inline": False}
                assert embed["fields"][1]["value"] == "```py\nprint('echo')\n```"

    run(scenario)


def test_everyone_is_echoed_but_never_pings(make: Make) -> None:
    async def scenario() -> None:
        async with discord_session(lambda: make().client) as (fake, _):
            interaction = await fake.send_command("echo", {"text": "@everyone I love this"}, guild=True)
            reply = await fake.reply_to(interaction)
            assert "@everyone I love this" in reply.text()
            assert reply.payload["allowed_mentions"] == {"parse": []}

    run(scenario)


def test_user_error_and_internal_error_are_ephemeral_plain_words(make: Make) -> None:
    async def scenario() -> None:
        async with discord_session(lambda: make().client) as (fake, client):
            interaction = await fake.send_command("echo", {"text": "please fail"})
            reply = await fake.reply_to(interaction)
            assert _direct_reply_text(reply) == "That text is not allowed here: pick another one."
            assert reply.payload["data"]["allowed_mentions"] == {"parse": []}
            assert not interaction.deletes and not interaction.followups, "a quick error needs no deferral"

            interaction = await fake.send_command("echo", {"text": "   "})  # empty after stripping
            assert "/echo needs `text`" in _direct_reply_text(await fake.reply_to(interaction))

            interaction = await fake.send_command("boom")
            reply = await fake.reply_to(interaction)
            assert _direct_reply_text(reply) == APOLOGY
            assert "internal detail" not in reply.text() and "Traceback" not in reply.text()

            interaction = await fake.send_command("echo", {"text": "still alive"})
            assert "still alive" in (await fake.reply_to(interaction)).text()
            assert not client.is_closed()

    run(scenario)


def _direct_reply_text(reply: Sent) -> str:
    """An error answered before any deferral: an ephemeral interaction response (type 4)."""
    assert reply.payload["type"] == 4 and reply.ephemeral, reply.payload
    return reply.payload["data"]["content"]


def test_unknown_command_is_explained_and_logged(
    make: Make, caplog: pytest.LogCaptureFixture,
) -> None:
    """A command Discord still lists but this bot never registered (a stale or not yet synced list)."""
    caplog.set_level(logging.INFO, logger="tutor.discord")

    async def scenario() -> None:
        async with discord_session(lambda: make().client) as (fake, client):
            for guild in (False, True):
                interaction = await fake.send_command("translate", {"text": "hola"}, guild=guild)
                text = _direct_reply_text(await fake.reply_to(interaction))
                assert text.startswith("There is no command `/translate`."), text  # the policy's words
                assert "command list may be updating" in text and "`/help`" in text
                assert text != APOLOGY and "try again" not in text
                assert not interaction.followups, "nothing was queued"
            interaction = await fake.send_command("echo", {"text": "still serving"})
            assert "still serving" in (await fake.reply_to(interaction)).text()
            assert not client.is_closed()

    run(scenario)
    warnings = [r for r in caplog.records if r.name == "tutor.discord" and r.levelno == logging.WARNING]
    assert any("unknown command 'translate'" in r.getMessage() for r in warnings), caplog.text
    assert not any(r.exc_info for r in warnings), "an expected state, not a traceback"


@pytest.mark.parametrize("options", [
    {},  # the required `text` is missing: Discord's copy of the command is older than ours
    {"text": "hi", "volume": 3},  # an option this version does not have
], ids=["missing-required", "unknown-option"])
def test_options_that_do_not_match_the_command_are_explained(
    options: dict[str, Any], make: Make, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="tutor.discord")

    async def scenario() -> None:
        async with discord_session(lambda: make().client) as (fake, _):
            interaction = await fake.send_command("echo", options)
            text = _direct_reply_text(await fake.reply_to(interaction))
            assert text.startswith("Discord sent `/echo` with options that do not match this version"), text
            assert "`/help`" in text and text != APOLOGY
            assert not interaction.followups, "nothing ran with the wrong options"

    run(scenario)
    assert any("options do not match /echo" in r.getMessage() for r in caplog.records), caplog.text


def test_a_value_of_the_wrong_type_gets_the_core_s_own_answer(make: Make) -> None:
    async def scenario() -> None:
        async with discord_session(lambda: make().client) as (fake, _):
            interaction = await fake.send_command("echo", {"text": "hi", "times": "lots"})
            text = _direct_reply_text(await fake.reply_to(interaction))
            assert text == "`times` must be a whole number, not `lots`."

    run(scenario)


def test_a_lone_surrogate_is_never_sent_or_logged_raw(
    make: Make, caplog: pytest.LogCaptureFixture,
) -> None:
    """A JSON "\\ud800" escape decodes to a lone surrogate; the adapter sends U+FFFD in its place."""
    caplog.set_level(logging.INFO, logger="tutor.discord")

    async def scenario() -> None:
        async with discord_session(lambda: make().client) as (fake, client):
            interaction = await fake.send_command("echo", {"text": "caf\ud800e"})
            reply = await fake.reply_to(interaction)
            assert not reply.ephemeral and "You said: caf\ufffde" in reply.text()
            interaction = await fake.send_command("ech\ud800o", {"text": "hi"})
            text = _direct_reply_text(await fake.reply_to(interaction))
            assert text.startswith("There is no command `/ech\ufffdo`. Did you mean `/echo`?"), text
            assert not client.is_closed()
        for sent in fake.requests:
            json.dumps(sent.payload, ensure_ascii=False).encode("utf-8")  # no lone surrogate came back

    run(scenario)
    assert "'ech\\ud800o'" in caplog.text, "the unknown name is logged escaped"


def test_second_request_inside_the_cooldown_is_refused(make: Make) -> None:
    async def scenario() -> None:
        async with discord_session(lambda: make(cooldown_s=30.0).client) as (fake, _):
            first = await fake.send_command("think", {"text": "one"})
            assert "one" in (await fake.reply_to(first)).text()
            second = await fake.send_command("think", {"text": "two"})
            text = _direct_reply_text(await fake.reply_to(second))
            assert text == "You're asking quickly! Try again in 30 s.", "the policy's words"
            assert not second.followups, "no work was queued"
            free = await fake.send_command("echo", {"text": "model-free"})
            assert "model-free" in (await fake.reply_to(free)).text(), "a model-free command is still answered"
            other = await fake.send_command("think", {"text": "three"}, user_id="3002")
            assert "three" in (await fake.reply_to(other)).text(), "the cooldown is per user"

    run(scenario)


def test_heartbeats_stay_on_time_while_a_slow_model_call_runs(make: Make) -> None:
    async def scenario() -> None:
        fake = FakeDiscord(heartbeat_interval_ms=1000)
        async with discord_session(lambda: make().client, fake) as (fake, _):
            interaction = await fake.send_command("slow")
            reply = await fake.reply_to(interaction, timeout=SLOW_S + 5)
            assert "Done after a long think." in reply.text()
            during = [t for t in fake.heartbeats if interaction.sent_at <= t <= reply.at]
            assert len(during) >= 2, f"heartbeats during the slow call: {len(during)}"
            window = [interaction.sent_at, *during, reply.at]
            gaps = [b - a for a, b in itertools.pairwise(window)]
            assert max(gaps) < 1.5, f"heartbeat gaps {gaps}"

    run(scenario)


def test_heartbeat_gap_check_catches_a_blocked_loop(make: Make) -> None:
    """Control for the test above: blocking the loop does show up as a long gap."""

    async def scenario() -> None:
        async with discord_session(lambda: make().client) as (fake, _):
            await fake.wait_until(lambda: len(fake.heartbeats) >= 1, 5)
            started = time.monotonic()
            time.sleep(2.5)  # noqa: ASYNC251 - deliberately block the event loop
            await fake.wait_until(lambda: fake.heartbeats[-1] > started + 2.4, 5)
            before = [t for t in fake.heartbeats if t <= started]
            after = [t for t in fake.heartbeats if t > started]
            assert after[0] - before[-1] > 2.0

    run(scenario)


def test_rate_limited_follow_up_is_retried(make: Make) -> None:
    async def scenario() -> None:
        fake = FakeDiscord()
        async with discord_session(lambda: make().client, fake) as (fake, _):
            fake.rate_limit_followups = 1
            interaction = await fake.send_command("echo", {"text": "patience"})
            reply = await fake.reply_to(interaction, timeout=10)
            posts = [r for r in fake.requests if r.method == "POST" and r.path == f"/webhooks/800/{interaction.token}"]
            assert [p.status for p in posts] == [429, 200]
            assert posts[1].at - posts[0].at >= 0.45, "the bot waited retry_after before retrying"
            assert "patience" in reply.text()

    run(scenario)


def test_picture_is_attached_with_alt_text_or_falls_back_to_text(make: Make) -> None:
    async def scenario() -> None:
        async with discord_session(lambda: make().client) as (fake, _):
            interaction = await fake.send_command("picture")
            reply = await fake.reply_to(interaction)
            (name, data), = reply.files
            assert name == "picture.png" and data == png()
            assert reply.payload["attachments"][0]["description"] == "A blue rectangle"
            assert reply.payload["embeds"][0]["image"]["url"] == "attachment://picture.png"

            small = await fake.send_command("picture", attachment_size_limit=64)
            reply = await fake.reply_to(small)
            assert reply.files == []
            assert "upload limit (64 B)" in reply.text() and "A blue rectangle" in reply.text()

    run(scenario)


def test_stop_closes_the_gateway_with_code_1000_and_serve_returns(make: Make) -> None:
    """`tutor run` calls `stop()` on SIGTERM (docker stop): serve() returns, nothing reconnects."""

    async def scenario() -> None:
        fake = FakeDiscord()
        await fake.start()
        try:
            with patch_discord(fake):
                adapter = make()
                serving = asyncio.create_task(adapter.serve())
                await asyncio.wait_for(fake.ready.wait(), 10)
                await adapter.stop()
                await asyncio.wait_for(serving, 10)  # returns normally: no exception, no reconnect
                await fake.wait_until(lambda: bool(fake.close_codes), 5)
            assert len(fake.identified) == 1
            assert fake.close_codes == [1000], "1000 ends the session, so Discord shows the bot offline at once"
        finally:
            await fake.stop()

    run(scenario)


def test_close_from_outside_sends_code_1000(make: Make) -> None:
    """`tutor run` stops the bot with `bot.close()` while its gateway reader is waiting for a frame."""

    async def scenario() -> None:
        async with discord_session(lambda: make().client) as (fake, client):
            interaction = await fake.send_command("echo", {"text": "before the stop"})
            await fake.reply_to(interaction)
            await client.close()
            await fake.wait_until(lambda: bool(fake.close_codes), 5)
            assert fake.close_codes == [1000]
            assert len(fake.identified) == 1, "closed, not reconnected"

    run(scenario)


@pytest.mark.parametrize("code", [4000, 1000])
def test_fake_records_the_close_code_it_received(code: int) -> None:
    """Control for the two tests above: the fake reports the code a client really sent."""

    async def scenario() -> None:
        fake = FakeDiscord()
        await fake.start()
        try:
            async with aiohttp.ClientSession() as session, session.ws_connect(str(fake.gateway)) as ws:
                await ws.receive_json()  # HELLO
                await ws.close(code=code)
            await fake.wait_until(lambda: bool(fake.close_codes), 5)
            assert fake.close_codes == [code]
        finally:
            await fake.stop()

    run(scenario)


@pytest.mark.parametrize("fault", ["http_401", "close_4004"])
def test_bad_token_exits_with_a_clear_message(fault: str, make: Make) -> None:
    async def scenario() -> None:
        fake = FakeDiscord()
        fake.reject_login = fault == "http_401"
        fake.gateway_close_code = 4004 if fault == "close_4004" else None
        await fake.start()
        try:
            with patch_discord(fake), pytest.raises(ConfigError, match="Discord rejected DISCORD_TOKEN"):
                await asyncio.wait_for(make().serve(), 10)
            assert len(fake.identified) == (1 if fault == "close_4004" else 0), "no reconnect loop"
        finally:
            await fake.stop()

    run(scenario)


def test_missing_token_is_a_config_error(make: Make) -> None:
    with pytest.raises(ConfigError, match="DISCORD_TOKEN is not set"):
        DiscordAdapter.check({"DISCORD_TOKEN": "  "})
    with pytest.raises(ConfigError, match="DISCORD_TOKEN is not set"):
        asyncio.run(make(DISCORD_TOKEN=" ").serve())
