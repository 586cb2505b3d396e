"""Choosing an answer's actions, on every adapter: where the answer lands (the asker's message changed in place,
a private copy for anyone else), a menu's option, a text asked for first, an expired run, and an answer from
before a restart.

Each of these was written twice before, once against the fake Discord (tests/bot/discord/test_discord_actions.py)
and once against the fake Slack (tests/bot/slack/test_slack_actions.py); here each is one scenario, run by every
driver of `DRIVERS` (the fake, the console, discord.py, slack-bolt). Those files keep what only their platform has:
the interaction responses and ephemeral flags of Discord, Slack's acks, response_url and threads, payload shapes,
limits, forged payloads, redelivery and the adapters' timers.

The commands are model-free (the toy registry, plus `/explore` with a menu and a text to ask for), one engine
serves the module, and each scenario gets a fresh policy whose runs live in its own database on a clock the
scenario moves by hand (`Bot`).
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.actions import THIS_RUN, Action, Ask, Menu, decode
from core.engine import Engine
from core.policy import EXPIRED, Policy
from core.registry import Command, Option, Registry
from core.results import Result
from core.settings import Settings
from core.store import Database, RunStore
from tests.conformance.scenarios import Driver
from tests.conformance.test_conformance import DRIVERS, is_png
from tests.support import Clock
from tests.support.toy_registry import TOY_REGISTRY

RUNS_KEPT_S = 7 * 86400.0
"""How long a run behind an answer's actions is kept (core/store/runs.py's default, and EXPIRED's words)."""


def _explore(_ctx: Any, args: dict[str, Any]) -> Result:
    steps = Menu("Jump to a step", tuple(Action.to(f"Step {i}", "think", run=THIS_RUN, step=i) for i in (1, 2, 3)))
    own = Ask(Action.to("Use my own text", "think", run=THIS_RUN, step=7), "text", "Your own text",
              placeholder="A sentence of yours", max_length=150)
    return Result("explore", f"Exploring {args['text']}.", "We explored.", "print('explore')", "toy/explore",
                  actions=(Action.to("Next step", "think", style="primary", run=THIS_RUN, step=1), own, steps))


REGISTRY = Registry([
    *TOY_REGISTRY,
    Command("explore", "Explore a text: a next step, a menu of steps, or a text of your own.",
            (Option("text", "What to explore", "text", required=True, positional="main", max_length=200),),
            ("/explore cats",), _explore, needs_model=False),
])


@dataclass
class Bot:
    """What survives a restart: the engine and the runs' database (on the scenario's clock)."""

    engine: Engine
    url: str
    clock: Clock

    def policy(self) -> Policy:
        """A fresh policy, as a new process makes one, on the same database."""
        return Policy(self.engine, runs=RunStore(Database(self.url), clock=self.clock))


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    settings = Settings(pack="tiny", cache_dir=tmp_path_factory.mktemp("actions"), cooldown_s=0.0,
                        request_timeout_s=30.0, workers=2)
    made = Engine(settings, registry=REGISTRY)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def bot(engine: Engine, tmp_path: Path) -> Bot:
    return Bot(engine, f"sqlite:///{tmp_path / 'runs.db'}", Clock())


@pytest.fixture(params=sorted(DRIVERS))
async def driver(request: pytest.FixtureRequest, bot: Bot, tmp_path: Path) -> AsyncIterator[Driver]:
    async with DRIVERS[request.param](bot.policy(), tmp_path) as chosen:
        yield chosen


async def test_the_askers_choice_changes_their_answer_in_place_with_the_next_step(driver: Driver):
    first = await driver.ask("ada", "/think cats")
    assert not first.private and "Thought about cats at step 0." in first.text
    following = await driver.choose("ada", first, "Next step")
    assert not following.private and "Thought about cats at step 1." in following.text
    assert following.replaced or not driver.replaces, "the same message, changed in place"
    assert following.alts == ["Step 1 of thinking"] and len(following.images) == 1 and is_png(following.images[0])
    assert following.actions["Next step"] != first.actions["Next step"], "the new actions carry the new step"
    assert decode(following.actions["Next step"])[1]["step"] == "2"


async def test_someone_elses_choice_gets_a_private_copy_they_can_explore_further(driver: Driver):
    first = await driver.ask("owner", "/think dogs")
    copy = await driver.choose("visitor", first, "Next step")
    assert "Thought about dogs at step 1." in copy.text and copy.images and is_png(copy.images[0])
    assert copy.private or not driver.shared, "someone else's choice is answered for them alone"
    assert not copy.replaced, "someone else's choice never rewrites the asker's answer"
    assert "Next step" in copy.actions, "the copy can be explored further"

    further = await driver.choose("visitor", copy, "Next step")
    assert "Thought about dogs at step 2." in further.text
    assert further.private or not driver.shared
    assert further.replaced or not driver.replaces, "their own copy changes in place"

    mine = await driver.choose("owner", first, "Next step")
    assert "Thought about dogs at step 1." in mine.text, "the asker's answer still offers its own next step"
    assert not mine.private and (mine.replaced or not driver.replaces)


async def test_a_choice_on_an_expired_run_says_so_privately_and_changes_nothing(driver: Driver, bot: Bot):
    first = await driver.ask("late", "/think old news")
    bot.clock.advance(RUNS_KEPT_S + 86400)
    note = await driver.choose("late", first, "Next step")
    assert note.private and EXPIRED in note.text, note.text
    assert not note.replaced and "old news" not in note.text, "the old answer stays as it was"
    assert not note.images, "nothing was run"


async def test_a_menu_choice_runs_its_option(driver: Driver):
    first = await driver.ask("birder", "/explore birds")
    assert {"Next step", "Use my own text", "Step 1", "Step 2", "Step 3"} <= set(first.actions)
    picked = await driver.choose("birder", first, "Step 3")
    assert not picked.private and "Thought about birds at step 3." in picked.text
    assert picked.replaced or not driver.replaces
    assert picked.alts == ["Step 3 of thinking"] and is_png(picked.images[0])


async def test_a_text_asked_for_first_runs_the_action_with_it_and_pings_nobody(driver: Driver):
    first = await driver.ask("fisher", "/explore fish")
    own = await driver.fill("fisher", first, "Use my own text", "my own words, @everyone <!channel>")
    assert "Thought about my own words, @everyone <!channel> at step 7." in own.text, own.text
    assert not own.private and (own.replaced or not driver.replaces)
    assert not own.pings, "a typed mention is shown, never sent as one"


async def test_a_choice_on_an_answer_from_before_a_restart_still_works(driver: Driver, bot: Bot):
    if not driver.restarts:
        pytest.skip(f"{driver.name}: the numbered choices live in its process, so a new one has none to choose")
    first = await driver.ask("restarter", "/explore a sentence from before the restart")
    await driver.restart(bot.policy())
    changed = await driver.choose("restarter", first, "Next step")
    assert "a sentence from before the restart at step 1." in changed.text and is_png(changed.images[0])
    assert changed.replaced or not driver.replaces
    again = await driver.choose("restarter", changed, "Next step")
    assert "Thought about a sentence from before the restart at step 2." in again.text
