"""One conformance suite, every adapter: the same scenarios, the same policy, each platform's dialect.

A new platform gets the whole suite by adding one driver fixture to `DRIVERS`.
"""
from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from PIL import Image as PILImage

from core.actions import Ask
from core.engine import Engine
from core.policy import APOLOGY, Policy
from core.settings import Settings
from tests.conformance.scenarios import Driver, Seen
from tests.support.fake_adapter import LIMIT, FakeAdapter
from tests.support.toy_registry import TOY_REGISTRY

COOLDOWN_S = 30.0


class FakeDriver:
    name = "fake"
    limit = LIMIT
    shared = True
    replaces = False
    """The fake appends every answer to `sent`; it changes no message."""
    restarts = True

    def __init__(self, policy: Policy) -> None:
        self.adapter = FakeAdapter(policy)
        self.serving = asyncio.create_task(self.adapter.serve())

    async def stop(self) -> None:
        await self.adapter.stop()
        await self.serving

    async def restart(self, policy: Policy) -> None:
        await self.stop()
        self.adapter = FakeAdapter(policy)
        self.serving = asyncio.create_task(self.adapter.serve())

    async def ask(self, user: str, line: str, *, admin: bool = False) -> Seen:
        start = len(self.adapter.sent)
        self.adapter.push(user, line, admin=admin)
        await self.adapter.settle()
        return self._seen(start)

    async def choose(self, user: str, seen: Seen, label: str) -> Seen:
        start = len(self.adapter.sent)
        self.adapter.choose(user, seen.actions[label])
        await self.adapter.settle()
        return self._seen(start)

    async def fill(self, user: str, seen: Seen, label: str, text: str) -> Seen:
        asked = next(a for m in reversed(self.adapter.sent) for a in m.actions
                     if isinstance(a, Ask) and a.action.id == seen.actions[label])
        start = len(self.adapter.sent)
        self.adapter.choose(user, asked.action.id, {asked.option: text})
        await self.adapter.settle()
        return self._seen(start)

    async def after(self, user: str, seconds: float) -> Seen:
        start = len(self.adapter.sent)
        await asyncio.gather(*self.adapter.timers.skip(seconds))
        await self.adapter.settle()
        return self._seen(start)

    def _seen(self, start: int) -> Seen:
        sent = self.adapter.sent[start:]
        return Seen(texts=[m.text for m in sent], images=[i.png for m in sent for i in m.images],
                    alts=[i.alt for m in sent for i in m.images],
                    actions={a.label: (a.action.id if isinstance(a, Ask) else a.id) for m in sent for a in m.actions},
                    private=bool(sent) and all(m.private for m in sent), pings=False)


@asynccontextmanager
async def fake_driver(policy: Policy) -> AsyncIterator[Driver]:
    driver = FakeDriver(policy)
    try:
        yield driver
    finally:
        await driver.stop()


def _console(policy: Policy, tmp_path: Path) -> AbstractAsyncContextManager[Driver]:
    from tests.conformance.console import console_driver

    return console_driver(policy, tmp_path)


def _discord(policy: Policy, _tmp_path: Path) -> AbstractAsyncContextManager[Driver]:
    from tests.conformance.discord import discord_driver

    return discord_driver(policy)


def _slack(policy: Policy, _tmp_path: Path) -> AbstractAsyncContextManager[Driver]:
    from tests.conformance.slack import slack_driver

    return slack_driver(policy)


DRIVERS: dict[str, Callable[[Policy, Path], AbstractAsyncContextManager[Driver]]] = {
    "fake": lambda policy, _tmp_path: fake_driver(policy),
    "console": _console,
    "discord": _discord,
    "slack": _slack,
}


@pytest.fixture(params=sorted(DRIVERS))
async def driver(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Driver]:
    settings = Settings(pack="tiny", cache_dir=tmp_path, cooldown_s=COOLDOWN_S, request_timeout_s=30.0, workers=2)
    engine = Engine(settings, registry=TOY_REGISTRY)
    try:
        async with DRIVERS[request.param](Policy(engine), tmp_path) as chosen:
            yield chosen
    finally:
        engine.close()


def is_png(data: bytes) -> bool:
    return PILImage.open(io.BytesIO(data)).format == "PNG"


async def test_an_answer_with_a_picture_is_public_with_alt_text(driver: Driver):
    seen = await driver.ask("picture-user", "/picture")
    assert not seen.private and "Here is a picture." in seen.text
    assert len(seen.images) == 1 and is_png(seen.images[0])
    assert seen.alts == ["A blue rectangle"]
    assert "What happened" in seen.text and "We drew it." in seen.text
    assert "toy/picture" in seen.text


async def test_a_user_error_is_private_and_in_its_own_words(driver: Driver):
    seen = await driver.ask("error-user", "/echo please fail")
    assert seen.private
    assert "That text is not allowed here: pick another one." in seen.text


async def test_a_second_model_command_inside_the_cooldown_is_refused_privately(driver: Driver):
    assert not (await driver.ask("cool-user", "/think cats")).private
    refused = await driver.ask("cool-user", "/think dogs")
    wait = re.search(r"You're asking quickly! Try again in (\d+) s\.", refused.text)
    assert refused.private and wait is not None and 1 <= int(wait.group(1)) <= COOLDOWN_S
    other = await driver.ask("cool-user-2", "/think dogs")
    assert not other.private, "the cooldown is per learner"


async def test_a_model_free_command_is_answered_during_a_cooldown(driver: Driver):
    await driver.ask("free-user", "/think cats")
    seen = await driver.ask("free-user", "/echo still here")
    assert not seen.private and "You said: still here (x1)" in seen.text


async def test_an_unknown_command_says_so_and_suggests_one(driver: Driver):
    seen = await driver.ask("unknown-user", "/ecoh hello")
    assert seen.private
    assert "/ecoh" in seen.text and "/echo" in seen.text and "/help" in seen.text


async def test_an_internal_error_is_a_short_apology_without_details(driver: Driver):
    seen = await driver.ask("boom-user", "/boom")
    assert seen.private and APOLOGY in seen.text
    assert "internal detail" not in seen.text and "Traceback" not in seen.text
    after = await driver.ask("boom-user-2", "/echo alive")
    assert "You said: alive" in after.text, "the bot keeps serving"


async def test_mentions_are_shown_but_never_ping(driver: Driver):
    seen = await driver.ask("mention-user", "/echo @everyone <!channel> <@U123> @here hi")
    assert "@everyone" in seen.text and "hi" in seen.text
    assert not seen.pings


async def test_a_long_answer_is_split_within_the_platform_limit_and_loses_no_word(driver: Driver):
    seen = await driver.ask("long-user", "/long words=1500")
    assert all(len(text) <= driver.limit for text in seen.texts)
    words = seen.words()
    assert words[:1500] == [f"word{i}" for i in range(1500)] or "cut" in seen.text.lower(), \
        "every word arrives, in order, unless the platform says it cut the answer"


async def test_an_action_is_shown_chosen_and_answered_through_the_policy(driver: Driver):
    first = await driver.ask("action-user", "/think a sentence much longer than any button id could hold " * 3)
    assert {"Next step", "Back to 0"} <= set(first.actions)
    assert all(len(ident) <= 100 for ident in first.actions.values())
    driver_cooldown_passed = await driver.choose("action-user-2", first, "Next step")
    assert "at step 1." in driver_cooldown_passed.text
    assert "button id could hold" in driver_cooldown_passed.text
    assert driver_cooldown_passed.images and is_png(driver_cooldown_passed.images[0])
