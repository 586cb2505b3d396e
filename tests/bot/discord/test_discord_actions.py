"""Actions on Discord, end to end: buttons, a select, a modal and a timer through the fake Discord.

The real discord.py client clicks its way through answers of the toy registry (tests/support/toy_registry.py)
plus a few toy commands with every kind of action. What is checked is what Discord would hold:
the messages the fake keeps (embeds, attachments, components, `interaction_metadata`).

What every platform does with a choice is proved once for all of them in the conformance suite
(tests/conformance/test_conformance_actions.py: the asker's choice changes the answer in place, anyone else's
gets a private copy, a menu's option, a text asked for first, an expired run, an answer from before a restart;
test_conformance_product.py: a quiz's timer and the asker's reveal). This file keeps what only Discord has:
the interaction responses (a deferred update, then an edit of `@original` or an ephemeral follow-up), embeds
and their attachments, custom_ids and Discord's five rows, modals and what discord.py keeps of them, a forged
or foreign custom_id or select value, interaction tokens that run out, a gateway redelivery, permissions, and
the adapter's own timers (cancelled by a reveal or a stop).
"""
from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage

from bot.discord.app import DiscordAdapter
from bot.discord.views import MENU_ID, build_view
from core.actions import SEAL_CHARS, THIS_RUN, Action, Ask, Menu, encode
from core.engine import Engine
from core.policy import FOREIGN, Policy
from core.registry import Command, Option, Registry
from core.results import Image, Result, Timer
from core.settings import Settings
from core.store import Database, RunStore, database_url
from tests.support import Clock
from tests.support.fake_discord import FakeDiscord, Interaction, Posted, components_of, patch_discord
from tests.support.toy_registry import TOY_REGISTRY, png

ASKER, OTHER = "3001", "3002"


def _explore(_ctx: Any, args: dict[str, Any]) -> Result:
    steps = tuple(Action.to(f"Step {i}", "think", run=THIS_RUN, step=i, description=f"Think again at step {i}")
                  for i in range(5))
    return Result("explore", f"Exploring {args['text']}.", "We explored.", "print('explore')", "toy/explore",
                  images=(Image(png(20, 10), "explore.png", "The start of exploring"),),
                  actions=(Action.to("Next step", "think", style="primary", run=THIS_RUN, step=1),
                           Action.to("Slow", "slow", style="danger"),
                           Ask(Action.to("Use my own text", "think", run=THIS_RUN, step=7), "text", "Your own text",
                               placeholder="A sentence of yours", max_length=150),
                           Menu("Jump to a step", steps)))


def _quiz(_ctx: Any, args: dict[str, Any]) -> Result:
    reveal = Action.to("Reveal", "reveal", style="primary", q="1")
    return Result("quiz", "Which letter comes first, A or B?", "A quiz.", "print('quiz')", "toy/quiz",
                  actions=(Action.to("A", "answer", choice="A"), Action.to("B", "answer", choice="B"), reveal),
                  timer=Timer(args["ms"] / 1000, reveal.id))


def _answer(_ctx: Any, args: dict[str, Any]) -> Result:
    return Result("answer", f"You chose {args['choice']}; the reveal comes soon.", "Noted.", "print('answer')",
                  "toy/quiz", show="private")


def _reveal(_ctx: Any, _args: dict[str, Any]) -> Result:
    return Result("reveal", "The answer was A.", "Revealed.", "print('reveal')", "toy/quiz", show="update",
                  images=(Image(png(40, 20), "reveal.png", "The answer, drawn"),))


def _who(_ctx: Any, args: dict[str, Any]) -> Result:
    caller = args["caller"]
    said = (f"platform={caller.platform} user={caller.user} place={caller.place} group={caller.group} "
            f"direct={caller.direct} admin={caller.admin}")
    return Result("who", said, "We looked.", "print('who')", "toy/who", show="private")


def _many(_ctx: Any, _args: dict[str, Any]) -> Result:
    buttons = tuple(Action.to(f"Button {i}", "echo", text=f"b{i}") for i in range(20))
    menu = Menu("Pick one", tuple(Action.to(f"Option {i}", "echo", text=f"o{i}") for i in range(25)))
    return Result("many", "Many choices.", "Lots.", "print('many')", "toy/many", actions=(*buttons, menu))


ACTION_REGISTRY = Registry([
    *TOY_REGISTRY,
    Command("explore", "Explore a text with every kind of action.",
            (Option("text", "What to explore", "text", required=True, positional="main", max_length=200),),
            ("/explore cats",), _explore, needs_model=False),
    Command("quiz", "A toy quiz with a timed reveal.",
            (Option("ms", "Milliseconds to the reveal", "int", min_value=50, max_value=60000, default=300),),
            ("/quiz",), _quiz, needs_model=False),
    Command("answer", "A quiz answer.", (Option("choice", "A or B", "text", required=True, max_length=1),),
            ("/answer A",), _answer, needs_model=False, hidden=True),
    Command("reveal", "A quiz reveal.", (Option("q", "Which question", "text", max_length=4),), ("/reveal",),
            _reveal, needs_model=False, hidden=True),
    Command("many", "As many choices as Discord shows.", (), ("/many",), _many, needs_model=False),
    Command("who", "Who asked, and where (a private answer).", (), ("/who",), _who, needs_model=False,
            personal=True),
])


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    settings = Settings(pack="tiny", cache_dir=Path(tmp_path_factory.mktemp("actions")), cooldown_s=0.0,
                        request_timeout_s=30.0, workers=2)
    made = Engine(settings, registry=ACTION_REGISTRY)
    yield made
    made.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


MakeAdapter = Callable[[], DiscordAdapter]


@pytest.fixture
def make(engine: Engine, tmp_path: Path, clock: Clock) -> MakeAdapter:
    """An adapter whose runs live in this test's database: two adapters made here share it, as a bot
    before and after a restart does."""

    def build() -> DiscordAdapter:
        runs = RunStore(Database(database_url(tmp_path)), clock=clock)
        return DiscordAdapter(Policy(engine, runs=runs), {"DISCORD_TOKEN": "test-token"})

    return build


@asynccontextmanager
async def connected(fake: FakeDiscord, adapter: DiscordAdapter) -> AsyncIterator[DiscordAdapter]:
    """The adapter serving against an already started fake, stopped (code 1000) afterwards."""
    fake.ready.clear()
    serving = asyncio.create_task(adapter.serve())
    await fake.wait_until(lambda: fake.ready.is_set() or serving.done(), 10)
    if serving.done():
        serving.result()
    try:
        yield adapter
    finally:
        await adapter.stop()
        await asyncio.wait_for(serving, 10)


@asynccontextmanager
async def faked(**options: Any) -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(**options)
    await fake.start()
    try:
        with patch_discord(fake):
            yield fake
    finally:
        await fake.stop()


def run(scenario: Callable[[], Awaitable[None]], timeout: float = 45) -> None:
    asyncio.run(asyncio.wait_for(scenario(), timeout))


def button(message: Posted, label: str) -> str:
    return next(c["custom_id"] for c in message.components if c.get("label") == label)


def only(messages: list[Posted]) -> Posted:
    assert len(messages) == 1, [m.text() for m in messages]
    return messages[0]


def assert_png(data: bytes) -> None:
    with PILImage.open(io.BytesIO(data)) as image:
        image.verify()
        assert image.format == "PNG"


def acknowledged_as_update(click: Interaction) -> None:
    (ack,) = click.callbacks
    assert ack.payload == {"type": 6}, "a deferred update, not a new message"
    assert ack.at - click.sent_at < 3.0


async def ask(fake: FakeDiscord, name: str, options: dict[str, Any] | None = None, *, guild: bool = True,
              user_id: str = ASKER) -> Posted:
    interaction = await fake.send_command(name, options or {}, guild=guild, user_id=user_id)
    return only(await fake.answered(interaction))


# ----- buttons -----
def test_the_asker_s_click_is_a_deferred_update_then_an_edit_of_the_original_embed(make: MakeAdapter) -> None:
    async def scenario() -> None:
        async with faked() as fake, connected(fake, make()):
            first = await ask(fake, "think", {"text": "cats"})
            assert first.images()[0][0] == "think-0.png"
            ids = [c["custom_id"] for c in first.components]
            assert len(ids) == 2 and all(len(i) <= 100 for i in ids) and all(i.startswith("tt1:think:") for i in ids)

            click = await fake.click(first, button(first, "Next step"), user_id=ASKER)
            changed = only(await fake.answered(click))
            acknowledged_as_update(click)
            assert changed.id == first.id and "at step 1." in changed.text()
            ((name, data, _alt),) = changed.images()
            assert name == "think-1.png"
            assert_png(data)
            assert changed.data["embeds"][0]["image"]["url"] == "attachment://think-1.png"
            assert [e.path for e in click.edits] == [f"/webhooks/800/{click.token}/messages/@original"]
            assert not click.followups
            assert changed.data["allowed_mentions"] == {"parse": []}

    run(scenario)


def test_a_click_by_someone_else_is_a_deferred_update_then_an_ephemeral_follow_up(make: MakeAdapter) -> None:
    async def scenario() -> None:
        async with faked() as fake, connected(fake, make()):
            first = await ask(fake, "think", {"text": "dogs"})
            click = await fake.click(first, button(first, "Next step"), user_id=OTHER)
            copy = only(await fake.answered(click))
            acknowledged_as_update(click)
            assert copy.id != first.id and copy.ephemeral and len(click.followups) == 1
            assert not click.edits, "the asker's answer is never edited"
            assert copy.components and copy.data["embeds"][0]["image"]["url"] == "attachment://think-1.png"

            again = await fake.click(copy, button(copy, "Next step"), user_id=OTHER)
            mine = only(await fake.answered(again))
            acknowledged_as_update(again)
            assert mine.id == copy.id and mine.ephemeral and again.edits, "their ephemeral copy is edited in place"

    run(scenario)


# ----- a select and a modal -----
def test_a_select_runs_only_one_of_its_own_options(make: MakeAdapter) -> None:
    """A select's value is what the clicker's client sends: one its message does not offer is refused,
    even an id the tutor sealed for this channel (another message's button, here another learner's run)."""

    async def scenario() -> None:
        async with faked() as fake, connected(fake, make()):
            first = await ask(fake, "explore", {"text": "birds"})
            other = await ask(fake, "explore", {"text": "secret plans"}, user_id=OTHER)
            before = first.text()
            for value in (button(other, "Next step"), "tt1:think:step=4", f"{button(other, 'Next step')}x"):
                click = await fake.click(first, MENU_ID, user_id=ASKER, values=[value])
                note = only(await fake.answered(click))
                assert note.ephemeral and note.data["content"] == FOREIGN, value
                assert "secret plans" not in note.text() and first.text() == before and not click.edits

    run(scenario)


def test_a_modal_asks_for_a_text_then_runs_the_action_with_it(make: MakeAdapter) -> None:
    async def scenario() -> None:
        async with faked() as fake:
            async with connected(fake, make()) as adapter:
                spare = await ask(fake, "explore", {"text": "kept for after the restart"})
                first = await ask(fake, "explore", {"text": "fish"})
                custom_id = button(first, "Use my own text")
                opened = await fake.click(first, custom_id, user_id=ASKER)
                await fake.answered(opened)
                modal = opened.modal
                assert modal is not None and opened.callbacks[0].payload["type"] == 9, "the modal is the first answer"
                assert modal["title"] == "Your own text" and len(modal["custom_id"]) <= 100
                assert modal["custom_id"] == custom_id.split(":", 1)[1], "the modal's id is the action's id"
                ((text_input,),) = [[c["component"]] for c in modal["components"] if c.get("component")]
                assert text_input["custom_id"] == "text" and text_input["placeholder"] == "A sentence of yours"
                assert text_input["max_length"] == 150
                store = adapter.client._connection._view_store
                assert store._modals == {} and store._views == {}, "discord.py keeps nothing per modal or message"

                submitted = await fake.submit(opened, {"text": "my own words"})
                changed = only(await fake.answered(submitted))
                assert changed.id == first.id and "Thought about my own words at step 7." in changed.text()
            async with connected(fake, make()):  # after a restart: the same kind of button, rebuilt from its id
                late = await fake.click(spare, button(spare, "Use my own text"), user_id=ASKER)
                await fake.answered(late)
                assert late.modal is not None and late.modal["title"] == "Use my own text", "the button's label"
                ((text_input,),) = [[c["component"]] for c in late.modal["components"] if c.get("component")]
                assert text_input["max_length"] == 200, "the option's own limit, from the registry"
                submitted = await fake.submit(late, {"text": "after the restart"})
                changed = only(await fake.answered(submitted))
                assert changed.id == spare.id and "after the restart at step 7." in changed.text()

    run(scenario)


# ----- a timer, and Discord's 15 minutes -----
def test_a_timer_s_reveal_edits_the_question_with_its_picture_and_no_components(make: MakeAdapter) -> None:
    """Fired outside any interaction: the edit goes through the command's own token, attachments and all."""

    async def scenario() -> None:
        async with faked() as fake, connected(fake, make()):
            question = await ask(fake, "quiz", {"ms": 300})
            click = await fake.click(question, button(question, "A"), user_id=OTHER)
            assert only(await fake.answered(click)).ephemeral
            await fake.wait_until(lambda: "The answer was A." in question.text(), 5)
            assert question.data["components"] == [], "the reveal replaced the buttons"
            assert question.data["embeds"][0]["image"]["url"] == "attachment://reveal.png"
            assert_png(question.images()[0][1])

    run(scenario)


def test_the_asker_s_reveal_replaces_the_question_and_cancels_the_timer(make: MakeAdapter) -> None:
    async def scenario() -> None:
        async with faked() as fake, connected(fake, make()) as adapter:
            question = await ask(fake, "quiz", {"ms": 600})
            assert adapter.tutor.timers.pending() == 1
            timer = adapter.tutor.timers.task(str(question.id))
            assert timer is not None
            click = await fake.click(question, button(question, "Reveal"), user_id=OTHER)
            revealed = only(await fake.answered(click))
            assert revealed.id == question.id, "`update` replaces the message whoever clicks"
            assert adapter.tutor.timers.pending() == 0, "the replaced message's timer is gone"
            edits = len([r for r in fake.requests if r.method == "PATCH"])
            with contextlib.suppress(asyncio.CancelledError):
                await timer  # ends without firing (waited for, not slept past: no race with its 600 ms)
            assert timer.cancelled()
            assert len([r for r in fake.requests if r.method == "PATCH"]) == edits, "no second reveal"

    run(scenario)


def test_a_timer_after_the_token_ran_out_reveals_in_a_new_message(make: MakeAdapter) -> None:
    async def scenario() -> None:
        async with faked(token_life_s=0.3) as fake, connected(fake, make()):
            question = await ask(fake, "quiz", {"ms": 600})
            await fake.wait_until(lambda: bool(fake.channel_messages()), 5)
            (new,) = fake.channel_messages()
            assert "The answer was A." in new.text() and new.data["channel_id"] == question.data["channel_id"]
            assert "Which letter" in question.text(), "the old message could not be changed any more"
            rejected = [r for r in fake.requests if r.method == "PATCH" and r.status == 401]
            assert rejected, "the edit was tried with the expired token first"

    run(scenario)


def test_a_click_answered_after_its_token_ran_out_comes_as_a_new_message(make: MakeAdapter) -> None:
    async def scenario() -> None:
        async with faked(token_life_s=1.0) as fake, connected(fake, make()):
            first = await ask(fake, "explore", {"text": "patience"})
            click = await fake.click(first, button(first, "Slow"), user_id=ASKER)  # 3 s in a worker thread
            await fake.wait_until(lambda: bool(fake.channel_messages()), 10)
            (new,) = fake.channel_messages()
            assert "Done after a long think." in new.text() and not new.ephemeral
            assert "Exploring patience." in first.text() and click.callbacks[0].payload == {"type": 6}

    run(scenario, timeout=60)


# ----- Discord's limits -----
def test_twenty_buttons_and_a_select_of_25_fit_discord_s_five_rows(make: MakeAdapter) -> None:
    async def scenario() -> None:
        async with faked() as fake, connected(fake, make()):
            message = await ask(fake, "many")
            rows = message.data["components"]
            assert len(rows) == 5 and all(row["type"] == 1 for row in rows)
            assert [len(row["components"]) for row in rows] == [5, 5, 5, 5, 1]
            (select,) = rows[4]["components"]
            assert select["type"] == 3 and len(select["options"]) == 25
            assert select["custom_id"] == MENU_ID and select["placeholder"] == "Pick one", "the value says which"
            ids = [c["custom_id"] for c in components_of(message.data)] + [o["value"] for o in select["options"]]
            assert all(len(i) <= 100 for i in ids) and len(set(ids)) == len(ids)
            click = await fake.click(message, MENU_ID, user_id=ASKER, values=[select["options"][24]["value"]])
            assert "You said: o24" in only(await fake.answered(click)).text()
            acknowledged_as_update(click)

    run(scenario)


def test_choices_past_discord_s_limits_are_left_out_not_sent() -> None:
    async def scenario() -> None:
        too_many = tuple(Action.to(f"B{i}", "echo", text=str(i)) for i in range(23))
        menu = Menu("m", tuple(Action.to(f"O{i}", "echo", text=f"o{i}") for i in range(30)))
        long_ask = Ask(Action.to("Long", "echo", text="x" * 74), "text", "Title").sealed(lambda _: "s" * SEAL_CHARS)
        assert len(long_ask.action.id) <= 100, "the sealed action fits; its ask button's marker does not"
        view = build_view((long_ask, *too_many, menu, Menu("second", menu.options[:2])))
        assert view is not None
        buttons = [c for c in view.children if c.type.value == 2]
        selects = [c for c in view.children if c.type.value == 3]
        assert [b.item.label for b in buttons] == [f"B{i}" for i in range(19)], "the ask was left out, then 20 cut"
        assert len(selects) == 1 and len(selects[0].item.options) == 25
        assert all(len(c.custom_id) <= 100 for c in view.children)
        assert len(view.to_components()) == 5

    asyncio.run(scenario())


def test_a_forged_or_unknown_action_id_gets_the_policy_s_words(make: MakeAdapter) -> None:
    """A message that carries ids this version never made (an older version's, or forged)."""

    async def scenario() -> None:
        async with faked() as fake, connected(fake, make()):
            first = await ask(fake, "echo", {"text": "base"})
            for forged in ("tt1:nosuch:x=1", "tt9:think:step=1", encode("think", {"run": "nothere", "step": "1"})):
                first.data["components"] = [{"type": 1, "components": [
                    {"type": 2, "style": 2, "label": "Forged", "custom_id": forged}]}]
                click = await fake.click(first, forged, user_id=ASKER)
                note = only(await fake.answered(click))
                assert note.ephemeral and note.text(), forged
                assert "Traceback" not in note.text()

    run(scenario)


# ----- who asked, where, and once -----
MANAGE_GUILD = str(1 << 5)


def test_a_request_says_who_asked_where_and_a_private_answer_stays_private(make: MakeAdapter) -> None:
    async def scenario() -> None:
        async with faked() as fake, connected(fake, make()):
            dm = only(await fake.answered(await fake.send_command("who", user_id=ASKER)))
            assert dm.ephemeral and dm.data["embeds"], "a `private` answer, with its embed, for the asker alone"
            assert "platform=discord user=3001 place=2001 group= direct=True admin=False" in dm.text()
            server = await fake.send_command("who", guild=True, user_id=OTHER, permissions=MANAGE_GUILD)
            seen = only(await fake.answered(server))
            assert seen.ephemeral and "user=3002 place=2002 group=7001 direct=False admin=True" in seen.text()
            plain = await fake.send_command("who", guild=True, user_id=OTHER)
            assert "admin=False" in only(await fake.answered(plain)).text(), "only Manage Server makes an admin"

    run(scenario)


def test_a_replayed_interaction_is_answered_once(make: MakeAdapter) -> None:
    async def scenario() -> None:
        async with faked() as fake, connected(fake, make()):
            interaction = await fake.send_command("echo", {"text": "once"}, guild=True)
            await fake.answered(interaction)
            await fake.redeliver(interaction)
            after = await fake.send_command("echo", {"text": "after"}, guild=True)
            await fake.answered(after)  # the gateway delivers in order: the replay was handled before this
            assert len(interaction.callbacks) == 1 and len(interaction.followups) == 1

    run(scenario)


def test_stopping_cancels_a_pending_timer(make: MakeAdapter) -> None:
    async def scenario() -> None:
        async with faked() as fake:
            adapter = make()
            async with connected(fake, adapter):
                question = await ask(fake, "quiz", {"ms": 700})
                timer = adapter.tutor.timers.task(str(question.id))
                assert timer is not None
            assert timer.cancelled() and adapter.tutor.timers.pending() == 0  # a cancelled timer never fires
            assert "Which letter" in question.text() and not [r for r in fake.requests if r.method == "PATCH"]

    run(scenario)
