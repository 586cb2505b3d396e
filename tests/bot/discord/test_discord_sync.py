"""The command list is compared with the one Discord reports, and uploaded on any difference.

Each start reads Discord's list (GET) from the fake, which keeps what was uploaded per target and
reports it back the way Discord does (ids, versions, `required: false` left out). A test seeds a
fresh fake with another start's list, changed as another deployment or the developer portal
would change it, and checks what the next start uploads.
"""
from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.discord.app import DiscordAdapter
from bot.discord.sync import differences
from core.engine import Engine
from core.policy import Policy
from core.settings import Settings
from tests.support.fake_discord import FakeDiscord, as_reported, discord_session
from tests.support.toy_registry import TOY_REGISTRY

GLOBAL = "/applications/800/commands"
GUILD = "/applications/800/guilds/7001/commands"
Commands = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def toy_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    cache = Path(tmp_path_factory.mktemp("sync-cache"))
    engine = Engine(Settings(pack="tiny", cache_dir=cache, cooldown_s=0.0, request_timeout_s=30.0, workers=1),
                    registry=TOY_REGISTRY)
    yield engine
    engine.close()


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 45))


async def start(engine: Engine, fake: FakeDiscord, **env: str) -> FakeDiscord:
    """One start of the bot against `fake`; it still answers a command, whatever the sync did."""
    adapter = DiscordAdapter(Policy(engine), {"DISCORD_TOKEN": "test-token", **env})
    async with discord_session(lambda: adapter.client, fake) as (fake, _):
        interaction = await fake.send_command("echo", {"text": "served"})
        assert "served" in (await fake.reply_to(interaction)).text(), "the bot serves after its start"
    return fake


def seeded(commands: Commands) -> FakeDiscord:
    """A fresh fake whose Discord already holds `commands` (what an earlier start, or someone else, left)."""
    fake = FakeDiscord()
    fake.commands = copy.deepcopy(commands)
    return fake


def gets(fake: FakeDiscord, path: str = GLOBAL) -> int:
    return sum(1 for r in fake.requests if r.method == "GET" and r.path == path)


@pytest.fixture(scope="module")
def uploaded(toy_engine: Engine) -> Commands:
    """What Discord holds after a first start on an empty application."""

    async def first() -> Commands:
        fake = await start(toy_engine, FakeDiscord())
        assert gets(fake) == 1 and len(fake.synced) == 1, "nothing there yet: read once, then upload"
        return fake.commands

    return asyncio.run(asyncio.wait_for(first(), 45))


def test_an_identical_list_is_not_uploaded_again(toy_engine: Engine, uploaded: Commands) -> None:
    async def scenario() -> None:
        fake = await start(toy_engine, seeded(uploaded))
        assert gets(fake) == 1 and fake.synced == [], "Discord has ours: no PUT"

    run(scenario)


def changed(commands: Commands, change: Callable[[list[dict[str, Any]]], None]) -> Commands:
    altered = copy.deepcopy(commands)
    change(altered[GLOBAL])
    return altered


def _by_name(listed: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(c for c in listed if c["name"] == name)


CHANGES: dict[str, tuple[Callable[[list[dict[str, Any]]], None], str]] = {
    "deleted": (lambda listed: listed.remove(_by_name(listed, "echo")), "/echo missing on Discord"),
    "description": (lambda listed: _by_name(listed, "echo").update(description="Changed elsewhere."),
                    "/echo differs in description"),
    "extra": (lambda listed: listed.append({**listed[0], "name": "stale", "id": "9999"}), "/stale only on Discord"),
    "option limit": (lambda listed: _by_name(listed, "echo")["options"][0].update(max_length=100),
                     "/echo differs in options"),
    "permissions": (lambda listed: _by_name(listed, "echo").update(default_member_permissions="32"),
                    "/echo differs in default_member_permissions"),
    "contexts": (lambda listed: _by_name(listed, "echo").update(contexts=[0]), "/echo differs in contexts"),
}


@pytest.mark.parametrize("what", sorted(CHANGES))
def test_a_list_changed_on_discords_side_is_restored_at_the_next_start(
    toy_engine: Engine, uploaded: Commands, what: str, caplog: pytest.LogCaptureFixture,
) -> None:
    change, said = CHANGES[what]
    caplog.set_level(logging.INFO, "tutor.discord")

    async def scenario() -> None:
        fake = await start(toy_engine, seeded(changed(uploaded, change)))
        (path, payload), = fake.synced
        assert path == GLOBAL and differences(payload, uploaded[GLOBAL]) == [], "ours again, whole"
        assert said in caplog.text

    run(scenario)


def test_a_server_is_compared_on_its_own(toy_engine: Engine, uploaded: Commands) -> None:
    """With DISCORD_GUILD_ID the server's list is read and written; the global one is not touched."""

    async def scenario() -> None:
        fake = await start(toy_engine, seeded(uploaded), DISCORD_GUILD_ID="7001")
        (path, _), = fake.synced
        assert path == GUILD and gets(fake, GUILD) == 1 and gets(fake) == 0
        assert fake.commands[GLOBAL] == uploaded[GLOBAL]
        again = await start(toy_engine, seeded(fake.commands), DISCORD_GUILD_ID="7001")
        assert again.synced == [], "the server's list is ours now"

    run(scenario)


def test_a_failed_read_falls_back_to_uploading(
    toy_engine: Engine, uploaded: Commands, caplog: pytest.LogCaptureFixture,
) -> None:
    """503, which discord.py raises at once (a 500 it retries five times, about 25 s, before it gives up
    and the same fallback applies)."""

    async def scenario() -> None:
        fake = seeded(uploaded)
        fake.command_list_status = 503
        await start(toy_engine, fake)
        assert len(fake.synced) == 1, "could not compare: uploaded to be sure"

    run(scenario)
    assert "could not read the slash commands Discord has (global): HTTP 503" in caplog.text


def test_a_refused_upload_is_logged_and_the_bot_still_serves(
    toy_engine: Engine, caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        fake = FakeDiscord()
        fake.upload_status = 403
        await start(toy_engine, fake)
        assert len(fake.synced) == 1 and fake.commands == {}

    run(scenario)
    assert "could not upload the slash commands (global): HTTP 403" in caplog.text


def test_what_discord_adds_or_leaves_out_is_not_a_difference() -> None:
    ours = [{"name": "x", "description": "d", "type": 1, "nsfw": False, "dm_permission": True,
             "default_member_permissions": None, "contexts": [0, 1, 2], "integration_types": [0, 1], "options": [
                 {"type": 3, "name": "a", "description": "b", "required": False, "autocomplete": True, "max_length": 4},
                 {"type": 4, "name": "n", "description": "c", "required": False,
                  "choices": [{"name": "one", "value": 1}]}]}]
    reported = [as_reported(ours[0], "5000", "7001")]
    assert "required" not in reported[0]["options"][0] and "guild_id" in reported[0]
    assert differences(ours, reported) == []
    no_autocomplete = copy.deepcopy(reported)
    del no_autocomplete[0]["options"][0]["autocomplete"]
    other_choice = copy.deepcopy(reported)
    other_choice[0]["options"][1]["choices"][0]["value"] = 2
    for theirs in (no_autocomplete, other_choice):
        assert differences(ours, theirs) == ["/x differs in options"]
