"""Buttons, selects, modals and timers on Slack, end to end: the real slack-bolt against tests/support/fake_slack.py.

The commands are model-free (tests/support/toy_registry.py, plus a quiz and a picker below), so these tests are
about Slack's own wire.

What every platform does with a choice is proved once for all of them in the conformance suite
(tests/conformance/test_conformance_actions.py: the asker's choice changes the answer in place, anyone else's
gets a private copy, a menu's option, a text asked for first, an expired run, an answer from before a restart;
test_conformance_product.py: a quiz's timer and the asker's reveal). This file keeps what only Slack has: the
ack before the work, which Web API call or response_url carries an answer (chat.update of the same ts, an
ephemeral with its pictures in the learner's DM with the bot, threads), Block Kit shapes and limits, the
modal's view and its empty ack, forged block_actions payloads, a redelivered envelope, users.info for admins,
the HTTP mode, what counts as a direct conversation, and the adapter's own timers (cancelled by a reveal or a stop).
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import io
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from PIL import Image as PILImage

from bot.slack.app import SlackAdapter
from bot.slack.blocks import MENU_ID, action_blocks
from core.actions import THIS_RUN, Action, Ask, Menu, decode
from core.engine import Engine
from core.policy import FOREIGN, Policy
from core.registry import Command, Option, Registry
from core.results import Image, Result, Timer
from core.settings import Settings
from core.store import Database, RunStore
from tests.support import Clock, listening
from tests.support.fake_slack import BOT_USER, FakeSlack, Message, running, slack_env
from tests.support.toy_registry import TOY_REGISTRY, png
from tests.support.tutor import settings_for, sqlite_url


def _quiz(_ctx: Any, args: dict[str, Any]) -> Result:
    reveal = Action.to("Reveal", "reveal", style="primary", topic=args["text"][:20])
    return Result("quiz", f"Quiz about {args['text']}: A or B?", "We asked.", "print('quiz')", "toy/quiz",
                  actions=(Action.to("A", "pick_answer", choice="A"), Action.to("B", "pick_answer", choice="B"),
                           reveal),
                  timer=Timer(args["wait"], reveal.id) if args["wait"] else None)


def _answer(_ctx: Any, args: dict[str, Any]) -> Result:
    return Result("pick_answer", f"You picked {args['choice']}; wait for the reveal.", "Noted.", "-", "toy/quiz",
                  show="private")


def _reveal(_ctx: Any, args: dict[str, Any]) -> Result:
    return Result("reveal", f"The answer about {args['topic']} is A.", "Revealed.", "-", "toy/quiz", show="update",
                  images=(Image(png(40, 20), "reveal.png", "The reveal, drawn"),))


def _picker(_ctx: Any, args: dict[str, Any]) -> Result:
    steps = Menu("Pick a step", tuple(Action.to(f"Step {n}", "think", run=THIS_RUN, step=n) for n in (1, 2, 3)))
    own = Ask(Action.to("Use my own sentence", "think", run=THIS_RUN), "text", "Your sentence", "The cat sat", 200)
    return Result("picker", f"Pick a step for {args['text']}.", "We offered.", "-", "toy/picker",
                  actions=(own, Action.to("Forget it", "echo", style="danger", text="forgotten"), steps))


def _whoami(_ctx: Any, args: dict[str, Any]) -> Result:
    caller = args["caller"]
    return Result("whoami", f"admin: {caller.admin}, direct: {caller.direct}", "-", "-", "toy/whoami")


TEXT = (Option("text", "Some text", "text", required=True, positional="main", max_length=200),)
REGISTRY = Registry([
    *TOY_REGISTRY,
    Command("quiz", "A toy quiz.", (*TEXT, Option("wait", "Seconds to the reveal", "int", min_value=0,
                                                  max_value=5, default=0)), ("/quiz cats",), _quiz, needs_model=False),
    Command("pick_answer", "Answer a toy quiz.", (Option("choice", "A or B", "text", required=True),),
            ("/pick_answer",), _answer, needs_model=False, hidden=True),
    Command("reveal", "Reveal a toy quiz.", (Option("topic", "What about", "text", required=True),),
            ("/reveal",), _reveal, needs_model=False, hidden=True),
    Command("picker", "Offer a select and a modal.", TEXT, ("/picker cats",), _picker, needs_model=False),
    Command("whoami", "Say what the platform says about the caller.", (), ("/whoami",), _whoami,
            needs_model=False, personal=True),
])


@pytest.fixture(scope="module")
def engine(tiny_settings: Settings) -> Iterator[Engine]:
    engine = Engine(tiny_settings, registry=REGISTRY)
    yield engine
    engine.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(1_700_000_000.0)


@pytest.fixture
def runs(tmp_path: Path, clock: Clock) -> RunStore:
    return RunStore(Database(f"sqlite:///{tmp_path / 'runs.db'}"), clock=lambda: clock.now)


@pytest.fixture
async def fake() -> Any:
    fake = await FakeSlack().start()
    yield fake
    await fake.stop()


def adapter_for(engine: Engine, fake: FakeSlack, runs: RunStore) -> SlackAdapter:
    return SlackAdapter(Policy(engine, runs=runs), slack_env(fake))


async def ask(fake: FakeSlack, adapter: SlackAdapter, command: str, text: str, *, user: str = "U1") -> Message:
    """A slash command, answered; the message it posted."""
    before = set(fake.posted)
    await fake.wait_ack(await fake.slash(command, text, user=user))
    await adapter.idle()
    [ts] = [ts for ts in fake.posted if ts not in before and not fake.posted[ts].ephemeral]
    return fake.posted[ts]


async def click(fake: FakeSlack, adapter: SlackAdapter, ts: str, label: str, *, user: str = "U1") -> None:
    await fake.wait_ack(await fake.click(ts, label, user=user))
    await adapter.idle()


def assert_png(data: bytes) -> None:
    with PILImage.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        image.verify()


def labels(message: Message) -> dict[str, str]:
    found = {}
    for block in message.blocks:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if element["type"] == "button":
                found[element["text"]["text"]] = element["action_id"]
            for option in element.get("options", []):
                found[option["text"]["text"]] = option["value"]
    return found


def text_of(message: Message | dict[str, Any]) -> str:
    blocks = message.blocks if isinstance(message, Message) else message.get("blocks") or []
    return "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")


async def test_the_askers_click_is_acked_first_then_a_chat_update_with_the_picture_threaded(engine, fake, runs):
    adapter = adapter_for(engine, fake, runs)
    async with running(adapter, fake):
        first = await ask(fake, adapter, "/think", "the cat sat")
        envelope = await fake.click(first.ts, "Next step")
        assert await fake.wait_ack(envelope) < 3.0
        await adapter.idle()
        [update] = fake.calls_to("chat.update")
        # the adapter calls ack() first; bolt's Socket Mode runner notices it by polling (every 10 ms) and
        # sends it while the listener goes on, so a fast update may land a few milliseconds before it
        assert fake.acks[envelope][0] < update.at + 0.1, "ack() first, then the work"
        assert update.params["channel"] == "C1" and update.params["ts"] == first.ts
        now = fake.posted[first.ts]
        assert "at step 1." in text_of(now)
        assert now.blocks[0]["block_id"] == "tt1:q" and "/think the cat sat" in now.blocks[0]["elements"][0]["text"]
        [picture] = [f for f in fake.files.values() if f.thread_ts == first.ts]
        assert picture.channel == "C1" and picture.alt == "Step 1 of thinking"
        assert_png(fake.uploads[picture.file_id])
        assert fake.calls_to("chat.postEphemeral") == [] and fake.calls_to("views.open") == []


async def test_a_click_by_someone_else_is_an_ephemeral_with_its_pictures_in_their_dm(engine, fake, runs):
    adapter = adapter_for(engine, fake, runs)
    async with running(adapter, fake):
        first = await ask(fake, adapter, "/think", "shared question", user="U1")
        await click(fake, adapter, first.ts, "Next step", user="U2")
        assert fake.calls_to("chat.update") == [], "someone else's click never rewrites the asker's answer"
        [copy] = [m for m in fake.posted.values() if m.user == "U2"]
        assert copy.ephemeral and "at step 1." in text_of(copy)
        assert "direct messages with me" in str(copy.blocks) and "Step 1 of thinking" in str(copy.blocks)
        assert all(b["block_id"].split(":")[2] == "U2" for b in copy.blocks if b["type"] == "actions")
        [opened] = fake.calls_to("conversations.open")
        assert opened.params["users"] == "U2"
        [picture] = fake.shared("DU2")
        assert picture.alt == "Step 1 of thinking"
        assert_png(fake.uploads[picture.file_id])
        assert [f.alt for f in fake.shared("C1")] == ["Step 0 of thinking"], "nothing of the copy is public"

        await click(fake, adapter, copy.ts, "Next step", user="U2")  # exploring the private copy
        assert "at step 2." in text_of(fake.posted[copy.ts]) and copy.updates == 1
        assert len(fake.shared("DU2")) == 2 and fake.calls_to("chat.update") == []


async def test_a_modal_submit_runs_the_action_with_the_typed_text(engine, fake, runs):
    adapter = adapter_for(engine, fake, runs)
    async with running(adapter, fake):
        first = await ask(fake, adapter, "/picker", "mice")
        await click(fake, adapter, first.ts, "Use my own sentence")
        [opened] = fake.calls_to("views.open")
        view = opened.params["view"]
        assert view["title"]["text"] == "Your sentence" and view["type"] == "modal"
        [field] = view["blocks"]
        assert field["element"]["max_length"] == 200 and field["element"]["placeholder"]["text"] == "The cat sat"
        assert fake.calls_to("chat.update") == [], "opening the form runs nothing"
        [view_id] = fake.views
        envelope = await fake.submit(view_id, "a <!channel> sentence of my own")
        await fake.wait_ack(envelope)
        assert "payload" not in fake.acks[envelope][1], "an empty ack: the modal just closes"
        await adapter.idle()
        shown = text_of(fake.posted[first.ts])
        assert "Thought about a &lt;!channel&gt; sentence of my own at step 0." in shown
        assert "<!channel>" not in json.dumps(fake.posted[first.ts].blocks)


async def test_a_timer_reveals_for_everyone_after_private_answers(engine, fake, runs):
    adapter = adapter_for(engine, fake, runs)
    async with running(adapter, fake):
        quiz = await ask(fake, adapter, "/quiz", "cats wait=1")
        await click(fake, adapter, quiz.ts, "B", user="U2")
        [ack] = fake.calls_to("response_url")
        assert ack.params["response_type"] == "ephemeral" and "You picked B" in ack.text
        assert fake.calls_to("chat.update") == []
        await fake.wait_for(lambda: fake.calls_to("chat.update"), 5)
        await adapter.idle()
        revealed = fake.posted[quiz.ts]
        assert "The answer about cats is A." in text_of(revealed)
        assert "/quiz cats wait=1" in revealed.blocks[0]["elements"][0]["text"], "the question stays on top"
        [picture] = fake.shared("C1")
        assert picture.thread_ts == quiz.ts
        assert_png(fake.uploads[picture.file_id])


async def test_the_askers_reveal_replaces_the_timer(engine, fake, runs):
    adapter = adapter_for(engine, fake, runs)
    async with running(adapter, fake):
        quiz = await ask(fake, adapter, "/quiz", "dogs wait=1")
        assert adapter.listeners is not None
        timer = adapter.listeners.timers.task(("C1", quiz.ts))
        assert timer is not None
        await click(fake, adapter, quiz.ts, "Reveal")
        assert len(fake.calls_to("chat.update")) == 1 and adapter.listeners.timers.pending() == 0
        with contextlib.suppress(asyncio.CancelledError):
            await timer  # ends without firing (waited for, not slept past: no race with its second)
        assert timer.cancelled()
        assert len(fake.calls_to("chat.update")) == 1, "the replaced message's timer never fires"


async def test_timers_are_cancelled_on_stop(engine, fake, runs):
    adapter = adapter_for(engine, fake, runs)
    async with running(adapter, fake):
        quiz = await ask(fake, adapter, "/quiz", "owls wait=1")
        assert adapter.listeners is not None and adapter.listeners.timers.pending() == 1
        timer = adapter.listeners.timers.task(("C1", quiz.ts))
        assert timer is not None
    assert adapter.listeners.timers.pending() == 0 and timer.cancelled()  # a cancelled timer never fires
    assert fake.calls_to("chat.update") == []


async def test_a_redelivered_click_is_answered_once(engine, fake, runs):
    adapter = adapter_for(engine, fake, runs)
    async with running(adapter, fake):
        first = await ask(fake, adapter, "/think", "once")
        payload = fake.click_payload(first.ts, "Next step")
        for _ in range(2):
            await fake.wait_ack(await fake.send_envelope("interactive", json.loads(json.dumps(payload))))
            await adapter.idle()
        assert len(fake.calls_to("chat.update")) == 1


async def test_admin_is_asked_of_slack_only_for_personal_commands(engine, fake, runs):
    fake.admins.add("U9")
    adapter = adapter_for(engine, fake, runs)
    async with running(adapter, fake):
        assert "admin: True" in text_of(await ask(fake, adapter, "/whoami", "", user="U9"))
        assert "admin: False" in text_of(await ask(fake, adapter, "/whoami", "", user="U1"))
        await ask(fake, adapter, "/echo", "hello", user="U9")
        assert [c.params["user"] for c in fake.calls_to("users.info")] == ["U9", "U1"]


async def test_a_users_info_answer_that_is_not_json_means_not_an_admin_logged_once(
        engine, fake, runs, caplog: pytest.LogCaptureFixture):
    """A proxy's error page instead of Slack's JSON (text/plain once raised AttributeError inside slack_sdk
    and left every tutor command unanswered): the learner is "not an admin", and the log says so once."""
    fake.admins.update({"U8", "U9"})
    fake.fail("users.info", "", status=200, body="Service Unavailable", content_type="text/plain")
    fake.fail("users.info", "", status=502, body="<html><h1>502 Bad Gateway</h1></html>")
    adapter = adapter_for(engine, fake, runs)
    with caplog.at_level("WARNING", logger="tutor.slack"):
        async with running(adapter, fake):
            assert "admin: False" in text_of(await ask(fake, adapter, "/whoami", "", user="U9"))
            assert "admin: False" in text_of(await ask(fake, adapter, "/whoami", "", user="U8"))
    told = [r.getMessage() for r in caplog.records if "users.info" in r.getMessage()]
    assert len(told) == 1 and "non-admins" in told[0], told


def test_actions_render_within_slacks_limits() -> None:
    many = tuple(Action.to(f"Button {n} " + "x" * 80, "think", text=f"t{n}", step=n % 10) for n in range(20))
    menu = Menu("Pick", tuple(Action.to(f"Option {n}", "think", text=f"t{n}", step=n % 10, description="d" * 90)
                              for n in range(25)))
    danger = Action.to("Forget me", "echo", style="danger", text="bye")
    blocks = action_blocks((*many, danger, many[0], menu), "U1")
    buttons, select = blocks[0]["elements"], blocks[1]["elements"][0]
    assert [b["block_id"] for b in blocks] == ["tt1:b:U1:0", "tt1:b:U1:1"]
    assert select["type"] == "static_select" and select["action_id"] == MENU_ID, "one id: the option's value says which"
    assert len(buttons) == 21, "the repeated action is drawn once: Slack refuses equal action_ids"
    assert all(len(b["text"]["text"]) <= 75 and len(b["action_id"]) <= 255 for b in buttons)
    assert buttons[-1]["style"] == "danger" and buttons[-1]["confirm"]["confirm"]["text"] == "Forget me"
    assert "style" not in buttons[0], "secondary is Slack's default look"
    assert len(select["options"]) == 25 and all(len(o["description"]["text"]) <= 75 for o in select["options"])


# ----- the same clicks over HTTP (the Events API's interactivity requests) -----
SECRET = "actions-http-signing-secret"


async def post_signed(url: str, payload: dict[str, Any]) -> int:
    """What Slack sends to the interactivity request URL: form-encoded `payload=<json>`, signed."""
    return await post_signed_form(url, {"payload": json.dumps(payload)})


async def test_a_click_and_a_modal_over_http_are_answered(engine, fake, runs):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url,
           "SLACK_MODE": "http", "SLACK_PORT": str(port)}
    adapter = SlackAdapter(Policy(engine, runs=runs), env)
    server = asyncio.create_task(adapter.serve())
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        await fake.wait_for(lambda: server.done() or (fake.calls_to("auth.test") and listening("127.0.0.1", port)), 10)
        for text in ("over http", "typed"):
            assert await post_signed_form(url, fake.slash_payload("/picker", text)) == 200
            await fake.wait_for(lambda said=text: said in str([m.blocks for m in fake.posted.values()]))
        await adapter.idle()
        select_on, modal_on = list(fake.posted)
        assert await post_signed(url, fake.click_payload(select_on, "Step 3", user="U1")) == 200
        await fake.wait_for(lambda: fake.calls_to("chat.update"))
        assert "Thought about over http at step 3." in text_of(fake.posted[select_on])
        assert await post_signed(url, fake.click_payload(modal_on, "Use my own sentence", user="U1")) == 200
        [view_id] = await fake.wait_for(lambda: list(fake.views))
        assert await post_signed(url, fake.submit_payload(view_id, "typed over http", user="U1")) == 200
        await fake.wait_for(lambda: len(fake.calls_to("chat.update")) == 2)
        assert "Thought about typed over http at step 0." in text_of(fake.posted[modal_on])
    finally:
        await adapter.stop()
        await asyncio.wait_for(server, 10)


async def post_signed_form(url: str, form: dict[str, str]) -> int:
    body = urlencode(form)
    timestamp = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": timestamp,
               "X-Slack-Signature": signature}
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as response:
        return response.status


# ----- issue 20: a click runs what its message offers; a conversation is the learner's own only with the bot -----
MESSAGES = ("chat.postMessage", "chat.postEphemeral", "chat.update", "response_url")


async def sent_after(fake: FakeSlack, adapter: SlackAdapter, kind: str, payload: dict[str, Any]) -> list[Any]:
    """Send one envelope as Slack would; every message the bot sent or changed in answer."""
    mark = len(fake.calls)
    await fake.wait_ack(await fake.send_envelope(kind, payload))
    await adapter.idle()
    return [c for c in fake.calls[mark:] if c.method in MESSAGES]


async def test_a_click_runs_only_an_action_its_message_offers(engine, fake, runs):
    """An action_id or a select value its message does not hold is refused, even one the tutor sealed for
    this channel (another message's button: here another learner's run)."""
    adapter = adapter_for(engine, fake, runs)
    async with running(adapter, fake):
        first = await ask(fake, adapter, "/think", "public")
        other = await ask(fake, adapter, "/think", "secret plans", user="U2")
        picker = await ask(fake, adapter, "/picker", "birds")
        button = fake.click_payload(first.ts, "Next step")
        button["actions"][0]["action_id"] = labels(other)["Next step"]
        menu = fake.click_payload(picker.ts, "Step 1")
        menu["actions"][0]["selected_option"] = {**menu["actions"][0]["selected_option"],
                                                 "value": labels(other)["Next step"]}
        for payload in (button, menu):
            replies = await sent_after(fake, adapter, "interactive", payload)
            assert [FOREIGN in r.text for r in replies] == [True], [r.text for r in replies]
            assert "secret plans" not in str([r.params for r in replies])
        assert fake.calls_to("chat.update") == [] and "at step 0." in text_of(fake.posted[first.ts])


def slash_in(fake: FakeSlack, command: str, text: str, channel: str, name: str, user: str = "U1") -> dict[str, Any]:
    payload = fake.slash_payload(command, text, user=user, channel=channel)
    payload["channel_name"] = name
    return payload


ELSEWHERE_DMS = (("D77", "directmessage"), ("G55", "directmessage"), ("G56", "mpdm-ada--bo--tutor-1"))
"""A DM between two people, and group DMs (however a slash command names them): not the learner's own."""


async def test_only_the_learners_dm_with_the_bot_is_direct(engine, fake, runs):
    adapter = adapter_for(engine, fake, runs)
    async with running(adapter, fake):
        for channel, name, direct in (("DU1", "directmessage", True), *((c, n, False) for c, n in ELSEWHERE_DMS)):
            replies = await sent_after(fake, adapter, "slash_commands", slash_in(fake, "/whoami", "", channel, name))
            assert any(f"direct: {direct}" in r.text for r in replies), (channel, [r.text for r in replies])


async def test_a_lesson_in_a_dm_between_people_or_a_group_dm_answers_privately(fake, tmp_path):
    url = sqlite_url(tmp_path)
    tutor = Engine(settings_for(url))
    adapter = SlackAdapter(Policy(tutor, runs=RunStore(Database(url))), slack_env(fake))
    try:
        async with running(adapter, fake):
            for channel, name in ELSEWHERE_DMS:
                replies = await sent_after(fake, adapter, "slash_commands",
                                           slash_in(fake, "/learn", "restart", channel, name))
                assert [r.method for r in replies] == ["response_url"], (channel, [r.method for r in replies])
                assert replies[0].params["response_type"] == "ephemeral" and "step 1 of 5" in replies[0].text
            own = await sent_after(fake, adapter, "slash_commands",
                                   slash_in(fake, "/learn", "", "DU1", "directmessage"))
            assert [r.method for r in own] == ["chat.postMessage"], "in their DM with the bot it is their own"
    finally:
        tutor.close()


async def test_hidden_steps_typed_in_a_mention_a_dm_or_a_slash_command_are_unknown(fake, tmp_path):
    """The issue's attack: `@Tutor explore round=<id> n=0` ran the question's /ner and showed its key."""
    url = sqlite_url(tmp_path)
    tutor = Engine(settings_for(url))
    adapter = SlackAdapter(Policy(tutor, runs=RunStore(Database(url))), slack_env(fake))
    try:
        async with running(adapter, fake):
            asked = await ask(fake, adapter, "/quiz", "ner-type")
            round_id = decode(next(i for label, i in labels(asked).items() if label.startswith("A")))[1]["round"]
            typed = f"explore round={round_id} n=0"
            attacks = [
                ("events_api", {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                                "event_id": "EvMention", "event_time": 1, "authorizations": [],
                                "event": {"type": "app_mention", "user": "U2", "ts": "1700000100.000100",
                                          "channel": "C1", "text": f"<@{BOT_USER}> {typed}"}}),
                ("events_api", {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                                "event_id": "EvDM", "event_time": 1, "authorizations": [],
                                "event": {"type": "message", "channel_type": "im", "user": "U2",
                                          "ts": "1700000101.000100", "channel": "DU2", "text": typed}}),
                ("slash_commands", fake.slash_payload("/explore", f"round={round_id} n=0", user="U2")),
                ("slash_commands", fake.slash_payload("/answer", f"round={round_id} choice=A", user="U2")),
            ]
            for kind, payload in attacks:
                replies = await sent_after(fake, adapter, kind, payload)
                assert replies and all("There is no command" in r.text for r in replies), [r.text for r in replies]
                assert not any("What happened" in r.text or "entit" in r.text for r in replies)
    finally:
        tutor.close()
