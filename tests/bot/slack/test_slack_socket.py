"""End to end over Socket Mode: the real slack-bolt/slack_sdk against tests/support/fake_slack.py.

The small registry of fake commands (FAKE_COMMANDS) keeps these tests about Slack (acks,
threads, retries, errors, rate limits), fast and independent of models;
test_slack_commands.py covers the real registry.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.engine import Engine
from core.settings import Settings

try:
    from tests.support.fake_slack import BOT_ID, BOT_USER, FAKE_COMMANDS, slack_bot, tiny_png
except ImportError:  # tests/ imported as a package
    from tests.support.fake_slack import BOT_ID, BOT_USER, FAKE_COMMANDS, slack_bot, tiny_png

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def engine(tiny_settings: Settings) -> Iterator[Engine]:
    engine = Engine(tiny_settings, registry=FAKE_COMMANDS)
    yield engine
    engine.close()


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log records that carry a traceback: each one is a failure the learner may not have been told about."""
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info]


def mention(text: str, ts: str = "1700000001.000100", **extra: Any) -> dict[str, Any]:
    return {"type": "app_mention", "user": "U2", "text": f"<@{BOT_USER}> {text}", "ts": ts, "channel": "C9", **extra}


def dm(text: str, ts: str = "1700000002.000100", **extra: Any) -> dict[str, Any]:
    return {"type": "message", "channel_type": "im", "user": "U3", "text": text, "ts": ts, "channel": "D1", **extra}


async def test_slash_command_is_acked_at_once_then_answered_in_channel(engine: Engine, tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        envelope = await fake.slash("/slow", "")
        assert await fake.wait_ack(envelope) < 3.0
        [post] = await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
        assert fake.acks[envelope][0] < post.at, "the ack must come before the (slow) answer"
        assert post.params["channel"] == "C1"
        assert "done slowly" in post.text
        assert post.headers["Authorization"] == "Bearer xoxb-test"


async def test_slash_answer_has_blocks_table_code_and_model(engine: Engine, tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        await fake.slash("/echo", "hello brave world")
        [post] = await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
        blocks = post.params["blocks"]
        assert post.params["text"] == "You said: *hello brave world*"
        assert any(b["type"] == "section" and "```" in b["text"]["text"] and "brave  5" in b["text"]["text"]
                   for b in blocks)
        assert any(b["type"] == "section" and b["text"]["text"] == "```\nprint(text)\n```" for b in blocks)
        assert blocks[-1]["type"] == "context" and "echo-model" in blocks[-1]["elements"][0]["text"]
        assert "/echo hello brave world" in blocks[0]["elements"][0]["text"]


async def test_channel_ping_is_escaped(engine: Engine, tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        # What Slack sends when the learner types them (a real `<!here>` mention reads as `@here`)
        await fake.slash("/echo", "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &amp; more")
        [post] = await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
        assert "&lt;!channel&gt;" in post.text and "&lt;!here&gt;" in post.text
        assert "&lt;!everyone&gt; &amp; more" in post.text
        for raw in ("<!channel>", "<!here>", "<!everyone>"):
            assert raw not in post.body.decode()


async def test_picture_is_uploaded_with_files_upload_v2(engine: Engine, tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        await fake.slash("/picture", "", channel="C7")
        await fake.wait_for(lambda: fake.calls_to("files.completeUploadExternal"))
        [get_url] = fake.calls_to("files.getUploadURLExternal")
        [upload] = fake.calls_to("upload")
        [complete] = fake.calls_to("files.completeUploadExternal")
        assert get_url.params["filename"] == "picture.png"
        assert get_url.params["alt_txt"] == "A one-pixel picture"
        assert int(get_url.params["length"]) == len(tiny_png())
        assert upload.body == tiny_png() and upload.body.startswith(b"\x89PNG\r\n\x1a\n")
        assert complete.params["channel_id"] == "C7"
        assert complete.params["files"][0]["title"] == "A one-pixel picture"


async def test_mention_is_answered_in_its_thread(engine: Engine, tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        envelope = await fake.event(mention("echo hi there", ts="1700000005.000300"), event_id="Ev1")
        assert await fake.wait_ack(envelope) < 3.0
        [post] = await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
        assert post.params["channel"] == "C9"
        assert post.params["thread_ts"] == "1700000005.000300"
        assert "You said: *hi there*" in post.text


async def test_mention_and_slash_text_reach_the_core_as_the_learner_saw_them(engine: Engine,
                                                                             tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        await fake.event(mention("echo I love <https://x.y|this> in <#C1|general>, <@U9|ada>"), event_id="EvSeen")
        [post] = await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
        assert "You said: *I love this in #general, @ada*" in post.text
        await fake.slash("/echo", "<https://x.y|that> &lt;mask&gt; <!here>")
        await fake.wait_for(lambda: len(fake.calls_to("chat.postMessage")) == 2)
        slash = fake.calls_to("chat.postMessage")[1]
        assert "You said: *that &lt;mask&gt; @here*" in slash.text
        assert "/echo that &lt;mask&gt; @here" in slash.params["blocks"][0]["elements"][0]["text"]


async def test_mention_picture_goes_to_the_same_thread(engine: Engine, tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        await fake.event(mention("/picture", ts="1700000006.000100"), event_id="Ev2")
        [complete] = await fake.wait_for(lambda: fake.calls_to("files.completeUploadExternal"))
        assert complete.params["channel_id"] == "C9"
        assert complete.params["thread_ts"] == "1700000006.000100"


async def test_dm_is_answered_in_the_dm(engine: Engine, tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        await fake.event(dm("echo &lt;mask&gt; tokens"), event_id="Ev3")
        [post] = await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
        assert post.params["channel"] == "D1"
        assert "thread_ts" not in post.params
        assert "You said: *&lt;mask&gt; tokens*" in post.text


async def test_retried_event_is_answered_once(engine: Engine, tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        first = await fake.event(mention("echo once"), event_id="Ev4")
        await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
        retry = await fake.event(mention("echo once"), event_id="Ev4", retry_attempt=1)
        await fake.wait_ack(retry)
        await fake.settle()
        assert first in fake.acks
        assert len(fake.calls_to("chat.postMessage")) == 1


async def test_own_and_other_bots_messages_are_ignored(engine: Engine, tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        own = dm("echo from me", user=BOT_USER, bot_id=BOT_ID, ts="1.1")
        other = dm("echo from a bot", user="U7", bot_id="B7", subtype="bot_message", ts="1.2")
        other_mention = mention("echo loop", bot_id="B7", ts="1.3")
        for i, event in enumerate((own, other, other_mention)):
            await fake.wait_ack(await fake.event(event, event_id=f"EvBot{i}"))
        await fake.settle()
        assert fake.messages() == []
        await fake.event(dm("echo a human"), event_id="EvHuman")
        await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))


async def test_empty_text_gets_an_ephemeral_error(engine: Engine, tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        await fake.slash("/echo", "   ")
        [reply] = await fake.wait_for(lambda: fake.calls_to("response_url"))
        assert reply.params["response_type"] == "ephemeral"
        assert "/echo needs `text`" in reply.text
        assert fake.calls_to("chat.postMessage") == []


async def test_unknown_command_in_mention_suggests_and_is_ephemeral(engine: Engine, tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        await fake.event(mention("ecko hi", ts="1700000007.000100"), event_id="Ev5")
        [reply] = await fake.wait_for(lambda: fake.calls_to("chat.postEphemeral"))
        assert reply.params["user"] == "U2" and reply.params["channel"] == "C9"
        assert reply.params["thread_ts"] == "1700000007.000100"
        assert "There is no command `/ecko`. Did you mean `/echo`?" in reply.text
        assert fake.calls_to("chat.postMessage") == []


async def test_internal_error_is_an_apology_without_details(engine: Engine, tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        await fake.slash("/boom", "")
        [reply] = await fake.wait_for(lambda: fake.calls_to("response_url"))
        assert reply.params["response_type"] == "ephemeral"
        assert "Sorry, something went wrong" in reply.text
        assert "secret internal detail" not in reply.text and "Traceback" not in reply.text


async def test_second_request_inside_the_cooldown_is_told_to_wait(engine: Engine, tiny_settings: Settings,
                                                                   caplog: pytest.LogCaptureFixture):
    async with slack_bot(engine, tiny_settings, cooldown_s=30.0) as fake:
        await fake.slash("/echo", "first", user="U5")
        await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
        await fake.slash("/echo", "second", user="U5")
        [reply] = await fake.wait_for(lambda: fake.calls_to("response_url"))
        assert reply.params["response_type"] == "ephemeral"
        assert "Try again in" in reply.text and " s." in reply.text
        await fake.slash("/echo", "someone else", user="U6")
        await fake.wait_for(lambda: len(fake.calls_to("chat.postMessage")) == 2)
        assert len(fake.calls_to("chat.postMessage")) == 2
        assert tracebacks(caplog) == []


async def test_bad_input_does_not_use_up_the_cooldown(engine: Engine, tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings, cooldown_s=30.0) as fake:
        await fake.slash("/echo", "", user="U8")
        await fake.wait_for(lambda: fake.calls_to("response_url"))
        await fake.slash("/echo", "now with text", user="U8")
        [post] = await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
        assert "now with text" in post.text


async def test_rate_limited_post_is_waited_out(engine: Engine, tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        fake.fail("chat.postMessage", "ratelimited", status=429, headers={"Retry-After": "1"})
        await fake.event(mention("echo patience"), event_id="Ev6")
        posts = await fake.wait_for(lambda: len(fake.calls_to("chat.postMessage")) == 2 and
                                    fake.calls_to("chat.postMessage"))
        assert posts[1].at - posts[0].at >= 0.9, "Retry-After: 1 must be respected"
        assert "You said: *patience*" in posts[1].text


async def test_not_in_channel_falls_back_to_response_url(engine: Engine, tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        fake.fail("chat.postMessage", "not_in_channel")
        await fake.slash("/echo", "private channel")
        [reply] = await fake.wait_for(lambda: fake.calls_to("response_url"))
        assert reply.params["response_type"] == "in_channel"
        assert "You said: *private channel*" in reply.text
        assert any(b["type"] == "section" for b in reply.params["blocks"])


async def test_picture_in_a_channel_without_the_bot_keeps_the_invite_note(engine: Engine, tiny_settings: Settings,
                                                                          caplog: pytest.LogCaptureFixture):
    async with slack_bot(engine, tiny_settings) as fake:
        fake.fail("chat.postMessage", "not_in_channel")
        fake.fail("files.completeUploadExternal", "not_in_channel")
        await fake.slash("/picture", "", channel="CPRIVATE")
        answer, note = await fake.wait_for(lambda: len(fake.calls_to("response_url")) == 2 and
                                           fake.calls_to("response_url"))
        assert answer.params["response_type"] == "in_channel" and "Here is a picture." in answer.text
        assert note.params["response_type"] == "ephemeral"
        assert "couldn't attach the picture (not_in_channel)" in note.text and "/invite @Tutor" in note.text
        await fake.settle()
        assert tracebacks(caplog) == []


async def test_a_refused_response_url_is_one_warning(engine: Engine, tiny_settings: Settings,
                                                     caplog: pytest.LogCaptureFixture):
    async with slack_bot(engine, tiny_settings) as fake:
        fake.fail("response_url", "expired_url", status=404)
        await fake.slash("/echo", "")
        await fake.wait_for(lambda: fake.calls_to("response_url"))
        await fake.settle()
        assert tracebacks(caplog) == []
        assert any("response_url answered 404" in r.getMessage() for r in caplog.records)


async def test_an_unreachable_response_url_is_one_warning(engine: Engine, tiny_settings: Settings,
                                                          caplog: pytest.LogCaptureFixture):
    async with slack_bot(engine, tiny_settings) as fake:
        payload = {**fake.slash_payload("/echo", ""), "response_url": "http://127.0.0.1:9/response/gone"}
        await fake.wait_ack(await fake.send_envelope("slash_commands", payload))
        await fake.wait_for(lambda: any("could not reach the response_url" in r.getMessage()
                                        for r in caplog.records))
        assert tracebacks(caplog) == []
        await fake.slash("/echo", "still serving")
        await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))


async def test_failing_upload_still_gives_text_and_a_clear_error(engine: Engine, tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        fake.fail("upload", "boom", status=500)
        await fake.slash("/picture", "")
        [reply] = await fake.wait_for(lambda: fake.calls_to("response_url"))
        [post] = fake.calls_to("chat.postMessage")
        assert "Here is a picture." in post.text
        assert reply.params["response_type"] == "ephemeral"
        assert "couldn't attach the picture" in reply.text
        assert fake.calls_to("files.completeUploadExternal") == []


async def test_uploads_disabled_is_explained_in_the_thread(engine: Engine, tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        fake.fail("files.getUploadURLExternal", "file_uploads_disabled")
        await fake.event(mention("picture"), event_id="Ev7")
        [reply] = await fake.wait_for(lambda: fake.calls_to("chat.postEphemeral"))
        assert "file_uploads_disabled" in reply.text and "disabled in this workspace" in reply.text
        assert len(fake.calls_to("chat.postMessage")) == 1


async def test_other_post_failure_is_a_clear_ephemeral_error(engine: Engine, tiny_settings: Settings,
                                                             caplog: pytest.LogCaptureFixture):
    async with slack_bot(engine, tiny_settings) as fake:
        fake.fail("chat.postMessage", "msg_too_long")
        await fake.slash("/echo", "too long")
        [reply] = await fake.wait_for(lambda: fake.calls_to("response_url"))
        assert reply.params["response_type"] == "ephemeral"
        assert "couldn't post the answer here (msg_too_long)" in reply.text
        await fake.settle()
        assert tracebacks(caplog) == []


async def test_dm_mentioning_the_bot_twice_as_events_is_answered_once(engine: Engine, tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        text = f"<@{BOT_USER}> echo both"
        await fake.event(dm(text, ts="1700000010.000100"), event_id="EvDm")
        await fake.event(mention("echo both", ts="1700000010.000100", channel="D1"), event_id="EvMention")
        [post] = await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
        await fake.settle()
        assert len(fake.calls_to("chat.postMessage")) == 1 and "You said: *both*" in post.text


async def test_redelivered_slash_command_is_answered_once(engine: Engine, tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        payload = fake.slash_payload("/echo", "only once")
        first = await fake.send_envelope("slash_commands", payload)
        await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
        again = await fake.send_envelope("slash_commands", dict(payload))
        await fake.wait_ack(again)
        await fake.settle()
        assert first in fake.acks and len(fake.calls_to("chat.postMessage")) == 1
        await fake.slash("/echo", "a new question")
        await fake.wait_for(lambda: len(fake.calls_to("chat.postMessage")) == 2)


async def test_slash_command_without_trigger_id_is_deduplicated_on_its_payload(engine: Engine,
                                                                               tiny_settings: Settings):
    async with slack_bot(engine, tiny_settings) as fake:
        payload = fake.slash_payload("/echo", "no trigger")
        del payload["trigger_id"]
        for _ in range(2):
            await fake.wait_ack(await fake.send_envelope("slash_commands", dict(payload)))
        await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
        await fake.settle()
        assert len(fake.calls_to("chat.postMessage")) == 1
        other = {**payload, "response_url": payload["response_url"] + "x"}
        await fake.send_envelope("slash_commands", other)
        await fake.wait_for(lambda: len(fake.calls_to("chat.postMessage")) == 2)


async def test_lone_surrogate_in_a_slash_command_is_answered_cleanly(engine: Engine, tiny_settings: Settings,
                                                                    caplog: pytest.LogCaptureFixture):
    """json.dumps writes "\\ud800" escapes, so the bot receives a lone surrogate, as from Slack."""
    async with slack_bot(engine, tiny_settings) as fake:
        await fake.slash("/echo", "caf\ud800 au lait")
        [post] = await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
        assert "caf\ufffd au lait" in post.text and "/echo caf\ufffd au lait" in post.text
        assert "\\ud800" not in post.body.decode()
        await fake.settle()
        assert tracebacks(caplog) == []


async def test_lone_surrogates_in_a_mention_and_its_ids_are_answered_cleanly(engine: Engine,
                                                                            tiny_settings: Settings,
                                                                            caplog: pytest.LogCaptureFixture):
    async with slack_bot(engine, tiny_settings) as fake:
        await fake.event(mention("echo \udc80\ud800!", user="U2\ud800", ts="1700000011.000100"), event_id="EvSur")
        [post] = await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
        assert "\ufffd\ufffd!" in post.text
        await fake.settle()
        assert tracebacks(caplog) == []


async def test_slash_command_the_registry_does_not_know_gets_the_core_suggestion(engine: Engine,
                                                                                tiny_settings: Settings):
    """A command the app's manifest still lists but the bot no longer serves: not Slack's dispatch_failed."""
    async with slack_bot(engine, tiny_settings) as fake:
        envelope = await fake.slash("/ecko", "hi")
        assert await fake.wait_ack(envelope) < 3.0
        [reply] = await fake.wait_for(lambda: fake.calls_to("response_url"))
        assert reply.params["response_type"] == "ephemeral"
        assert "There is no command" in reply.text and "/echo" in reply.text
