"""The Discord adapter's own settings (the token's format, the server id, sharding) and sharding
end to end: a process that runs some shards identifies with exactly those against the fake gateway."""
from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapter import adapter_class
from bot.discord.app import DiscordAdapter
from bot.discord.client import ShardedTutorBot, TutorBot
from bot.discord.config import DiscordConfig, Sharding, parse_shard_ids
from core.engine import Engine
from core.policy import Policy
from core.settings import ConfigError, Settings
from tests.support.fake_discord import FakeDiscord, patch_discord
from tests.support.toy_registry import TOY_REGISTRY

ROOT = Path(__file__).resolve().parents[3]
GOOD_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123"


def states(env: dict[str, str]) -> dict[str, str]:
    return {v.env: v.state(env) for v in DiscordAdapter.variables}


# ----- settings -----
def test_a_well_formed_setup_looks_valid_and_never_shows_the_token() -> None:
    env = {"DISCORD_TOKEN": GOOD_TOKEN, "DISCORD_GUILD_ID": "7001", "DISCORD_SHARD_COUNT": "4",
           "DISCORD_SHARD_IDS": "0-1"}
    assert states(env) == dict.fromkeys(env, "set, looks valid")
    DiscordAdapter.check(env)
    assert DiscordAdapter.wanted(env) and DiscordAdapter.secrets(env) == (GOOD_TOKEN,)
    assert not DiscordAdapter.wanted({"DISCORD_GUILD_ID": "7001"}), "only the token says Discord is meant to run"
    assert adapter_class("discord") is DiscordAdapter, "`tutor run`, doctor and log redaction find it in ADAPTERS"


@pytest.mark.parametrize("variable, value, expected", [
    ("DISCORD_TOKEN", "just-one-part", "three base64url parts"),
    ("DISCORD_TOKEN", "bm90LWFuLWlk.GaBcDe.abcdefghijklmnopqrstuvwxyz", "numeric id"),
    ("DISCORD_GUILD_ID", "general", "numeric id"),
    ("DISCORD_SHARD_COUNT", "0", "from 1 to"),
    ("DISCORD_SHARD_COUNT", "two", "whole number"),
    ("DISCORD_SHARD_IDS", "0;1", "such as `0,1` or `0-3`"),
    ("DISCORD_SHARD_IDS", "3-1", "backwards"),
])
def test_a_malformed_value_says_what_was_expected(variable: str, value: str, expected: str) -> None:
    state = states({variable: value})[variable]
    assert state.startswith("set, malformed") and expected in state
    assert variable != "DISCORD_TOKEN" or value not in state, "a secret is never echoed"


@pytest.mark.parametrize("env, message", [
    ({"DISCORD_TOKEN": " "}, "DISCORD_TOKEN is not set"),
    ({"DISCORD_TOKEN": "x", "DISCORD_SHARD_IDS": "0"}, "DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT"),
    ({"DISCORD_TOKEN": "x", "DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "1,2"},
     "names shard 2, but DISCORD_SHARD_COUNT=2 numbers them 0 to 1"),
    ({"DISCORD_TOKEN": "x", "DISCORD_SHARD_COUNT": "-1"}, "DISCORD_SHARD_COUNT: expected a whole number"),
    ({"DISCORD_TOKEN": "x", "DISCORD_GUILD_ID": "my server"}, "DISCORD_GUILD_ID: expected the server's numeric id"),
    ({"DISCORD_TOKEN": "x", "DISCORD_GUILD_ID": "-5"}, "DISCORD_GUILD_ID: expected the server's numeric id"),
    ({"DISCORD_TOKEN": "x", "DISCORD_GUILD_ID": "0"}, "a number from 1 to 2^64 - 1"),
    ({"DISCORD_TOKEN": "x", "DISCORD_GUILD_ID": str(2**64)}, "a number from 1 to 2^64 - 1"),
])
def test_check_refuses_a_setup_that_cannot_work_in_one_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        DiscordAdapter.check(env)


def test_shard_ids_read_as_lists_and_ranges() -> None:
    assert parse_shard_ids("0-2,5, 4") == (0, 1, 2, 4, 5)
    assert DiscordConfig.from_env({"DISCORD_SHARD_COUNT": "8"}).sharding == Sharding(8, None)
    assert Sharding(8, None).describe() == "shards 0-7 of 8" and Sharding(8, None).publishes
    assert Sharding(8, (2, 3)).describe() == "shards 2,3 of 8" and not Sharding(8, (2, 3)).publishes


def test_every_variable_is_documented_in_env_example() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    for variable in DiscordAdapter.variables:
        index = next((i for i, line in enumerate(lines) if line.startswith(f"{variable.env}=")), None)
        assert index is not None, f"{variable.env} is not in .env.example"
        assert lines[index - 1].startswith("#"), f"{variable.env} has no comment above it"
    assert "DISCORD_SHARD_COUNT" in (ROOT / "docs" / "discord.md").read_text()


# ----- sharding against the fake gateway -----
@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    settings = Settings(pack="tiny", cache_dir=Path(tmp_path_factory.mktemp("shards")), cooldown_s=0.0,
                        request_timeout_s=30.0, workers=2)
    made = Engine(settings, registry=TOY_REGISTRY)
    yield made
    made.close()


def adapter(engine: Engine, **env: str) -> DiscordAdapter:
    return DiscordAdapter(Policy(engine), {"DISCORD_TOKEN": "test-token", **env})


def server_on_shard(shard: int, count: int) -> str:
    """A server id whose events Discord sends to `shard`: (id >> 22) % count."""
    return str(((1000 * count + shard) << 22) + 12345)


def test_a_process_with_shard_ids_identifies_with_exactly_those_shards(engine: Engine) -> None:
    async def scenario() -> None:
        fake = FakeDiscord()
        await fake.start()
        try:
            with patch_discord(fake):
                made = adapter(engine, DISCORD_SHARD_COUNT="4", DISCORD_SHARD_IDS="1,3")
                assert isinstance(made.client, ShardedTutorBot) and made.describe() == "discord (shards 1,3 of 4)"
                serving = asyncio.create_task(made.serve())
                await fake.wait_until(lambda: len(fake.sockets) == 2 or serving.done(), 15)
                assert sorted(d["shard"] for d in fake.identified) == [[1, 4], [3, 4]]
                assert fake.synced == [], "only the process that runs shard 0 uploads the command list"

                guild = server_on_shard(3, 4)
                assert fake.shard_of(guild) == 3
                interaction = await fake.send_command("echo", {"text": "from shard three"}, guild=True,
                                                      guild_id=guild)
                assert "from shard three" in (await fake.reply_to(interaction)).text()

                await made.stop()
                await asyncio.wait_for(serving, 10)
                await fake.wait_until(lambda: len(fake.close_codes) == 2, 5)
                assert fake.close_codes == [1000, 1000], "each shard ends its session"
        finally:
            await fake.stop()

    asyncio.run(asyncio.wait_for(scenario(), 60))


async def start_and_stop(made: DiscordAdapter) -> FakeDiscord:
    """Serve against a fresh fake until it has the command list and a connection, then stop; the fake, for
    its records."""
    fake = FakeDiscord()
    await fake.start()
    try:
        with patch_discord(fake):
            serving = asyncio.create_task(made.serve())
            await fake.wait_until(lambda: (len(fake.synced) == 1 and fake.ready.is_set()) or serving.done(), 15)
            await made.stop()
            await asyncio.wait_for(serving, 10)
    finally:
        await fake.stop()
    return fake


def test_the_process_that_runs_shard_0_publishes_and_no_sharding_is_one_connection(engine: Engine) -> None:
    async def scenario() -> None:
        sharded = adapter(engine, DISCORD_SHARD_COUNT="2", DISCORD_SHARD_IDS="0")
        assert isinstance(sharded.client, ShardedTutorBot)
        fake = await start_and_stop(sharded)
        assert len(fake.synced) == 1 and [d["shard"] for d in fake.identified] == [[0, 2]]
        plain = adapter(engine)
        assert isinstance(plain.client, TutorBot) and plain.describe() == "discord"
        fake = await start_and_stop(plain)
        assert len(fake.synced) == 1 and [d.get("shard") for d in fake.identified] == [None]

    asyncio.run(asyncio.wait_for(scenario(), 60))
