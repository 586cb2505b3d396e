"""Discord's own ways to pick a value: choices, autocomplete and subcommands, from the one registry.

The real discord.py client against the fake Discord: what the bot uploads (choices typed as
strings or integers, `autocomplete: true`, /board as a group), what it answers to an
autocomplete interaction (type 4, answered with a type-8 callback within the 3 s, at most 25
choices of at most 100 characters: the fake refuses more), and /board's subcommands reaching
the one /board command of the core.
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from transformers import AutoConfig

import bot.discord.tutor as discord_tutor
from bot.discord.app import DiscordAdapter
from core.commands import build_registry
from core.context import TaskContext
from core.engine import Engine
from core.policy import Policy
from core.registry import Choice, Command, Option, Registry
from core.results import Result
from core.settings import Settings
from core.store import Database, RunStore, database_url
from core.tiny import ensure_tiny, tiny_dir, tiny_models
from tests.conformance.discord import MANAGE_GUILD
from tests.support.fake_discord import discord_session
from tests.support.tutor import sqlite_url, study_group

GLOBAL = "/applications/800/commands"


def run(scenario: Callable[[], Awaitable[None]], seconds: float = 60) -> None:
    asyncio.run(asyncio.wait_for(scenario(), seconds))


def adapter_on(engine: Engine, tmp_path: Path) -> DiscordAdapter:
    policy = Policy(engine, runs=RunStore(Database(database_url(tmp_path))))
    return DiscordAdapter(policy, {"DISCORD_TOKEN": "test-token"})


def values(choices: list[dict[str, Any]]) -> list[Any]:
    return [c["value"] for c in choices]


# -- the tiny pack's real registry ------------------------------------------------------------------
@pytest.fixture(scope="module")
def attention_shape(tiny_engine: Engine) -> tuple[int, int]:
    """The tiny attention model's layers and heads, from its own config (the tiny pack built first)."""
    ensure_tiny(tiny_dir(tiny_engine.settings.cache_dir), tiny_models(build_registry()))
    config = AutoConfig.from_pretrained(tiny_engine.pack.spec("attention").source)
    return config.num_hidden_layers, config.num_attention_heads


def test_uploaded_commands_carry_choices_autocomplete_and_board_verbs(tiny_engine: Engine, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with discord_session(lambda: adapter_on(tiny_engine, tmp_path).client) as (fake, _):
            (_, payload), = fake.synced
            assert fake.commands[GLOBAL], "Discord accepted the list: every limit held"
            by_name = {c["name"]: c for c in payload}
            attention = {o["name"]: o for o in by_name["attention"]["options"]}
            assert attention["noops"]["type"] == 3 and values(attention["noops"]["choices"]) == ["hide", "show"]
            assert "autocomplete" not in attention["noops"], "a menu or suggestions, never both"
            assert attention["layer"]["type"] == 4 and attention["layer"]["autocomplete"] is True
            assert attention["head"]["type"] == 3 and attention["head"]["autocomplete"] is True
            period = by_name["leaderboard"]["options"][0]
            assert values(period["choices"]) == ["week", "all"]
            suggested = (("quiz", "topic"), ("learn", "lesson"), ("compare", "tokenizers"), ("help", "command"))
            for name, option in suggested:
                found = {o["name"]: o for o in by_name[name]["options"]}
                assert found[option]["autocomplete"] is True, name
            verbs = {o["name"]: o for o in by_name["board"]["options"]}
            assert set(verbs) == {"status", "join", "leave", "on", "off"} and {o["type"] for o in verbs.values()} == {1}
            (name,) = verbs["join"]["options"]
            assert name["name"] == "name" and name["type"] == 3 and name["required"] is True

    run(scenario)


def test_every_declared_choice_is_one_its_command_accepts(tiny_engine: Engine, tmp_path: Path) -> None:
    """Each choice Discord's menu offers, sent as Discord sends it, gets an answer and not a correction."""

    async def scenario() -> None:
        async with discord_session(lambda: adapter_on(tiny_engine, tmp_path).client) as (fake, _):
            for value in ("hide", "show"):
                interaction = await fake.send_command("attention", {"text": "The cat sat.", "noops": value})
                reply = await fake.reply_to(interaction)
                assert not reply.ephemeral and reply.payload["embeds"], (value, reply.payload)
            for value in ("week", "all"):
                interaction = await fake.send_command("leaderboard", {"period": value}, guild=True)
                assert "takes `week` or `all`" not in (await fake.reply_to(interaction)).text()

    run(scenario)


def test_layer_and_head_suggest_the_tiny_attention_models_own_range(
    tiny_engine: Engine, tmp_path: Path, attention_shape: tuple[int, int],
) -> None:
    layers, heads = attention_shape

    async def scenario() -> None:
        async with discord_session(lambda: adapter_on(tiny_engine, tmp_path).client) as (fake, _):
            typed = await fake.autocomplete("attention", "layer", "", {"text": "The cat sat."}, option_type=4)
            offered = await fake.suggestions(typed)
            assert values(offered) == list(range(layers)), "integers, for an integer option"
            assert all(tiny_engine.pack.spec("attention").hub_id in c["name"] for c in offered)
            assert typed.callbacks[0].at - typed.sent_at < 3.0
            last = await fake.autocomplete("attention", "layer", str(layers - 1), option_type=4)
            assert values(await fake.suggestions(last)) == [layers - 1]
            head = await fake.autocomplete("attention", "head", "")
            assert values(await fake.suggestions(head)) == ["all", "mean", *map(str, range(heads))]
            mean = await fake.autocomplete("attention", "head", "me")
            assert values(await fake.suggestions(mean)) == ["mean"]

    run(scenario)


def test_quiz_lessons_tokenizers_and_help_suggest_what_their_commands_accept(
    tiny_engine: Engine, tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with discord_session(lambda: adapter_on(tiny_engine, tmp_path).client) as (fake, _):
            async def offered(command: str, option: str, typed: str) -> list[dict[str, Any]]:
                choices = await fake.suggestions(await fake.autocomplete(command, option, typed))
                assert 0 < len(choices) <= 25 and all(len(c["name"]) <= 100 for c in choices), (command, typed)
                return choices

            assert values(await offered("quiz", "topic", "ner"))[0] == "ner-type"
            assert "tokenizers" in values(await offered("quiz", "topic", ""))
            assert values(await offered("learn", "lesson", "Subw"))[0] == "subwords"
            assert values(await offered("learn", "lesson", "7"))[0] == "fillmask", "7. Fill-mask"
            assert {"list", "restart", "part 1"} <= set(values(await offered("learn", "lesson", "")))
            assert values(await offered("help", "command", "att"))[0] == "attention"
            sets = values(await offered("compare", "tokenizers", "bert,"))
            assert sets and all(v.startswith("bert,") for v in sets)
            interaction = await fake.send_command("compare", {"text": "Hello world", "tokenizers": sets[-1]})
            reply = await fake.reply_to(interaction)
            assert not reply.ephemeral and reply.payload["embeds"], reply.payload

    run(scenario)


def test_suggestions_are_ready_from_the_start(tiny_engine: Engine, tmp_path: Path,
                                              attention_shape: tuple[int, int]) -> None:
    """Computed in a thread while the bot connects, so the first learner to type is answered from memory."""

    async def scenario() -> None:
        made = adapter_on(tiny_engine, tmp_path)
        async with discord_session(lambda: made.client) as (fake, _):
            await fake.wait_until(lambda: ("attention", "layer") in made.tutor.suggested)
            layers = made.tutor.suggested["attention", "layer"][1]
            assert [c.value for c in layers] == list(range(attention_shape[0]))

    run(scenario)


# -- a registry of its own: integer choices, many suggestions, a slow and a failing suggester -----------------
def _pick(_ctx: TaskContext, args: dict[str, Any]) -> Result:
    return Result("pick", f"Picked {args['word']} x{args['times']}.", "We picked.", "print('pick')", "toy/pick")


def _many(_ctx: TaskContext, _command: Command) -> list[Choice]:
    return [Choice(f"word-{n:02d}", f"word {n:02d}: " + "x" * 80) for n in range(60)]


def _broken(_ctx: TaskContext, _command: Command) -> list[Choice]:
    raise RuntimeError("a suggester's own bug")


@dataclass
class Picks:
    """An engine on a registry of one command, with the events two of its suggesters wait for."""

    engine: Engine
    release: threading.Event
    """The slow suggester waits for it (set: it answers at once)."""
    ready: threading.Event
    """The late suggester says nothing until it is set."""


@pytest.fixture
def picks(tmp_path: Path) -> Iterator[Picks]:
    release = threading.Event()
    release.set()

    def slow(_ctx: TaskContext, _command: Command) -> list[Choice]:
        release.wait(30)
        return [Choice(2, "two, at last")]

    def late(_ctx: TaskContext, _command: Command) -> list[Choice]:
        return [Choice("ready")] if ready.is_set() else []

    ready = threading.Event()

    command = Command("pick", "Pick a word.", (
        Option("word", "A word", "text", required=True, max_length=20, suggest=_many),
        Option("times", "How many times", "int", default=1, choices=(Choice(1, "once"), Choice(3, "three times"))),
        Option("slow", "A number the pack is slow to suggest", "int", min_value=0, max_value=3, suggest=slow),
        Option("broken", "A text whose suggester fails", "text", max_length=10, suggest=_broken),
        Option("late", "A text whose suggester can say only later", "text", max_length=10, suggest=late),
    ), ("/pick word-01",), _pick, needs_model=False)
    engine = Engine(Settings(pack="tiny", cache_dir=tmp_path, cooldown_s=0.0, workers=1),
                    registry=Registry([command]))
    try:
        yield Picks(engine, release, ready)
    finally:
        release.set()
        engine.close()


def test_integer_choices_are_uploaded_as_integers_and_arrive_as_chosen(
    picks: Picks, tmp_path: Path,
) -> None:
    engine = picks.engine

    async def scenario() -> None:
        async with discord_session(lambda: adapter_on(engine, tmp_path).client) as (fake, _):
            (_, (pick,)), = fake.synced
            times = next(o for o in pick["options"] if o["name"] == "times")
            assert times["type"] == 4 and times["choices"] == [{"name": "once", "value": 1},
                                                               {"name": "three times", "value": 3}]
            interaction = await fake.send_command("pick", {"word": "word-07", "times": 3})
            assert "Picked word-07 x3." in (await fake.reply_to(interaction)).text()

    run(scenario)


def test_an_autocomplete_answers_at_most_25_choices_best_first(
    picks: Picks, tmp_path: Path,
) -> None:
    engine = picks.engine

    async def scenario() -> None:
        async with discord_session(lambda: adapter_on(engine, tmp_path).client) as (fake, _):
            every = await fake.suggestions(await fake.autocomplete("pick", "word", ""))
            assert values(every) == [f"word-{n:02d}" for n in range(25)], "the fake refuses more than 25"
            narrowed = await fake.suggestions(await fake.autocomplete("pick", "word", "WORD-5"))
            assert values(narrowed) == [f"word-{n}" for n in range(50, 60)], "case-insensitive"

    run(scenario)


def test_a_slow_suggester_is_answered_in_time_with_the_declared_range(
    picks: Picks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The suggester blocks until released, so the wait always runs out: the answer is the option's own
    range, and the suggestions once ready are kept for the next keystroke."""
    engine, release = picks.engine, picks.release
    release.clear()
    monkeypatch.setattr(discord_tutor, "SUGGEST_S", 0.2)

    async def scenario() -> None:
        made = adapter_on(engine, tmp_path)
        async with discord_session(lambda: made.client) as (fake, _):
            early = await fake.autocomplete("pick", "slow", "", option_type=4)
            assert values(await fake.suggestions(early)) == [0, 1, 2, 3]
            assert early.callbacks[0].at - early.sent_at < 3.0
            release.set()
            await fake.wait_until(lambda: ("pick", "slow") in made.tutor.suggested)
            later = await fake.autocomplete("pick", "slow", "", option_type=4)
            assert await fake.suggestions(later) == [{"name": "two, at last", "value": 2}]

    run(scenario)
    assert "suggestions for /pick slow took over 0.2 s" in caplog.text


def test_a_failing_suggester_offers_nothing_worse_than_no_suggestions(
    picks: Picks, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    engine = picks.engine

    async def scenario() -> None:
        async with discord_session(lambda: adapter_on(engine, tmp_path).client) as (fake, client):
            typed = await fake.autocomplete("pick", "broken", "x")
            assert await fake.suggestions(typed) == []
            interaction = await fake.send_command("pick", {"word": "word-01"})
            assert "Picked word-01 x1." in (await fake.reply_to(interaction)).text()
            assert not client.is_closed()

    run(scenario)
    assert "suggestions for /pick broken failed" in caplog.text and "a suggester's own bug" in caplog.text


def test_a_suggester_that_cannot_say_yet_is_asked_again(picks: Picks, tmp_path: Path) -> None:
    """What it offered at start was nothing (a tiny pack not built yet): that is not kept for minutes."""
    engine = picks.engine

    async def scenario() -> None:
        async with discord_session(lambda: adapter_on(engine, tmp_path).client) as (fake, _):
            assert await fake.suggestions(await fake.autocomplete("pick", "late", "")) == []
            picks.ready.set()
            assert values(await fake.suggestions(await fake.autocomplete("pick", "late", ""))) == ["ready"]

    run(scenario)


def test_the_fake_refuses_an_autocomplete_answer_past_discords_limits() -> None:
    """So the 25-choice and 100-character checks above can fail."""
    from tests.support.fake_discord import choice_problems

    assert choice_problems([{"name": f"n{i}", "value": i} for i in range(26)]) == ["choices: 26 over 25"]
    assert choice_problems([{"name": "x" * 101, "value": "v"}]) and choice_problems([{"name": "n", "value": "v" * 101}])
    assert choice_problems([{"name": "n", "value": "v"}]) == []


# -- /board's verbs as subcommands --------------------------------------------------------------------------
def test_board_subcommands_reach_the_one_board_command(tmp_path: Path) -> None:
    async def scenario() -> None:
        with study_group(sqlite_url(tmp_path)) as cls:
            made = DiscordAdapter(cls.policy, {"DISCORD_TOKEN": "test-token"})
            async with discord_session(lambda: made.client) as (fake, _):
                async def board(verb: str, user: str, admin: bool = False, **options: Any) -> str:
                    interaction = await fake.send_command("board", options, subcommand=verb, guild=True, user_id=user,
                                                          permissions=MANAGE_GUILD if admin else "0")
                    return "\n".join(posted.text() for posted in await fake.answered(interaction))

                assert "Only someone who can manage" in await board("on", "3001")
                assert "board is **on**" in await board("on", "3009", admin=True)
                assert "as **Ada L.**" in await board("join", "3001", name="Ada L.")
                assert "You are on it as **Ada L.**" in await board("status", "3001")
                assert "You left" in await board("leave", "3001")
                assert "You are not on it" in await board("status", "3001")
                assert "board is **off**" in await board("off", "3009", admin=True)
                stale = await fake.send_command("board", {}, subcommand="promote", guild=True)
                assert "There is no command `/board promote`" in (await fake.reply_to(stale)).text(), "a stale menu"

    run(scenario, 90)
