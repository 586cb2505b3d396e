"""Part IV on every platform: /qkv's two pictures and its buttons, and a Part IV lesson's prediction and run,
through the conformance drivers (the console, discord.py against the fake Discord, slack-bolt against the
fake Slack, the fake adapter), with the real registry and engine on the tiny pack."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from core.engine import Engine
from core.policy import Policy
from core.store import Database, RunStore
from tests.conformance.scenarios import Driver, Seen
from tests.conformance.test_conformance import DRIVERS, is_png
from tests.support.tutor import settings_for, sqlite_url


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    served = Engine(settings_for(sqlite_url(tmp_path_factory.mktemp("decoder"))))
    try:
        yield served
    finally:
        served.close()


@pytest.fixture(params=sorted(DRIVERS))
async def driver(request: pytest.FixtureRequest, engine: Engine, tmp_path: Path) -> AsyncIterator[Driver]:
    policy = Policy(engine, runs=RunStore(Database(str(engine.settings.database_url))))
    async with DRIVERS[request.param](policy, tmp_path) as chosen:
        yield chosen


def label_like(seen: Seen, pattern: str) -> str:
    found = [label for label in seen.actions if re.fullmatch(pattern, label)]
    assert found, f"no action like {pattern!r} among {list(seen.actions)}"
    return found[0]


async def test_qkv_sends_both_pictures_and_its_buttons_open_the_next_head(driver: Driver):
    answer = await driver.ask("decoder", "/qkv The cat sat on the mat.")
    text = answer.text.replace("*", "")
    assert "equals the model's own map" in text and not answer.private
    assert len(answer.images) == 2 and all(is_png(png) for png in answer.images) and all(answer.alts)
    assert all(len(ident) <= 100 for ident in answer.actions.values())
    head = label_like(answer, r"Head \d+")
    following = await driver.choose("decoder", answer, head)
    assert f"{head.replace('Head', 'head')}**" in following.text or f"{head.replace('Head', 'head')}," in \
        following.text.replace("*", "")
    assert following.images and following.images[0] != answer.images[0]


async def test_attention_offers_a_decoder_head_by_hand_on_the_same_text(driver: Driver):
    """/qkv outside the path: /attention's button computes a head of the pack's decoder on the same sentence."""
    answer = await driver.ask("decoder", "/attention The cat sat on the mat.")
    by_hand = await driver.choose("decoder", answer, label_like(answer, r"A decoder head by hand \(/qkv\)"))
    text = by_hand.text.replace("*", "")
    assert "equals the model's own map" in text and "mat" in text
    assert len(by_hand.images) == 2


async def test_a_part_four_lesson_asks_then_runs_with_its_picture(driver: Driver):
    step = await driver.ask("decoder-learner", "/learn part 4")
    assert "Part IV, Inside a decoder: Causal attention" in step.text.replace("*", "")
    assert "how many weights are exactly 0" in step.text
    revealed = await driver.choose("decoder-learner", step, label_like(step, r"A:.*"))
    assert "Answer:" in revealed.text
    run = await driver.choose("decoder-learner", revealed, "Continue the lesson")
    text = run.text.replace("*", "")
    assert "step 2 of 5: run" in text and "every cell above the diagonal" in text
    assert run.images and is_png(run.images[0]) and "lower-triangular" in run.alts[0]
