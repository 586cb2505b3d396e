"""Every command of the real registry, asked as a Slack slash command, on the tiny pack.

The tiny models have random weights, so the checks are about content that does not depend
on them: token ids, labels, echoed prompts, the model line and the heatmap upload.
"""
from __future__ import annotations

import io
import struct
import zlib

import pytest

from bot.slack.render import BLOCK_LIMIT, LOOKALIKE, SECTION_LIMIT
from core.commands import build_registry
from core.engine import Engine
from core.settings import Settings
from core.tutor.lesson_path import LESSONS

try:
    from tests.support.fake_slack import BOT_USER, Call, FakeSlack, slack_bot
except ImportError:  # tests/ imported as a package
    from tests.support.fake_slack import BOT_USER, Call, FakeSlack, slack_bot

# command -> (text after the slash command, strings the answer must contain), where a test checks more
EXPECTED: dict[str, tuple[str, tuple[str, ...]]] = {
    "sentiment": ("I love this", ("POSITIVE", "NEGATIVE", "probability")),
    "ner": ("My name is Ada and I live in London.", ("entit", "type")),
    "zeroshot": ("I love pizza | food, sports, politics", ("food", "sports", "politics")),
    "qa": ("Where do I live? | My name is Ada and I live in London.", ("score",)),
    "generate": ("Once upon a time max_new_tokens=5", ("Once upon a time",)),
    "summarize": ("The Eiffel Tower is 330 metres tall. It was the tallest structure in the world for 41 years.",
                  ("*Summary:*",)),
    "fillmask": ("Paris is the [MASK] of France. top_k=3", ("Best guess",)),
    "tokenize": ("I'm learning", ("ids: 101 1045 1005 1049 4083 102", "`[CLS]`")),
    "attention": ("The cat sat on the mat. layer=0 head=0", ("layer 0, head 0",)),
    "overview": ("The cat sat on the mat.", ("2 rows (layers) x 4 columns (heads)", "layer 1")),
    "help": ("", ("/sentiment", "/attention", "/tokenize", "/models")),
    "models": ("", ("*tiny*",)),
    "compare": ("I'm learning", ("the same text", "WordPiece")),
    "causal": ("The cat sat on the mat.", ("two models", "exactly 0")),
    "qkv": ("The cat sat on the mat. layer=0 head=0 token=2", ("Layer 0, head 0", "By hand")),
    "nexttoken": ("Once upon a time max_new_tokens=3", ("at T = 1", "3 beams")),
    "template": ("Tell me a joke. max_new_tokens=3", ("chat template",)),
    "quiz": ("tokenizers", ("Quiz", "tokenizers")),
    "learn": ("", (f"lesson 1 of {len(LESSONS)}",)),
    "progress": ("", (f"of {len(LESSONS)} lessons done",)),
    "review": ("", ("review",)),
    "mydata": ("", ("Everything the tutor keeps about you",)),
    "forget": ("", ("Delete everything the tutor keeps about you?",)),
    "board": ("", ("board",)),
    "leaderboard": ("", ("board",)),
}


def slash_case(name: str) -> tuple[str, tuple[str, ...]]:
    """The text typed after `/name` and what the answer must contain: EXPECTED's, else the registry's first
    example (a new command needs no line here; it is answered, within Slack's limits, with its model named)."""
    if name in EXPECTED:
        return EXPECTED[name]
    example = build_registry().get(name).examples[0]
    return example.removeprefix(f"/{name}").strip(), ()


SLASH_COMMANDS = sorted(c.name for c in build_registry().visible())
"""Every command a learner can type; hidden ones (steps behind buttons) have no slash command."""


def test_expectations_name_only_commands_a_learner_can_type() -> None:
    assert set(EXPECTED) <= set(SLASH_COMMANDS)


def assert_valid_png(data: bytes) -> None:
    """PNG signature, a well-formed IHDR chunk (CRC checked) and, when Pillow is there, a decodable image."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    assert struct.unpack(">I", data[29:33])[0] == zlib.crc32(data[12:29])
    width, height = struct.unpack(">II", data[16:24])
    assert width > 10 and height > 10
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        return
    with Image.open(io.BytesIO(data)) as image:
        image.verify()


ANSWERS = ("chat.postMessage", "chat.postEphemeral", "response_url")
"""The calls that carry an answer to a slash command."""


def assert_within_slack_limits(post: Call) -> None:
    blocks = post.params["blocks"]
    assert 0 < len(blocks) <= BLOCK_LIMIT
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= SECTION_LIMIT


@pytest.mark.asyncio
@pytest.mark.parametrize("name", SLASH_COMMANDS)
async def test_slash_command_answers(name: str, tiny_engine: Engine, tiny_settings: Settings) -> None:
    text, expected = slash_case(name)
    async with slack_bot(tiny_engine, tiny_settings) as fake:
        envelope = await fake.slash(f"/{name}", text, channel="C42")
        assert await fake.wait_ack(envelope) < 3.0
        # a personal answer (/progress, /mydata...) is shown to the learner alone, through the slash
        # command's response_url (ephemeral); every other answer is posted in the channel
        [post] = await fake.wait_for(lambda: [c for c in fake.calls if c.method in ANSWERS], timeout=60)
        assert post.method == "chat.postMessage" or post.params.get("response_type") != "in_channel"
        assert post.method == "response_url" or post.params["channel"] == "C42"
        for snippet in expected:
            assert snippet in post.text, f"{snippet!r} missing from /{name}'s answer:\n{post.text}"
        assert "**" not in post.params["text"], "core bold markup must become Slack's *bold*"
        assert_within_slack_limits(post)
        model_line = post.params["blocks"][-1]
        command = build_registry().get(name)
        if command.model is not None or command.model_command:  # a model answered: the footer names it
            assert model_line["type"] == "context" and model_line["elements"][0]["text"].startswith("Model: `")
        else:  # no placeholder where no model ran
            assert "Model: -" not in post.text and "Model: `-`" not in post.text


@pytest.mark.asyncio
async def test_attention_heatmap_is_uploaded_as_png(tiny_engine: Engine, tiny_settings: Settings) -> None:
    async with slack_bot(tiny_engine, tiny_settings) as fake:
        await fake.slash("/attention", "The cat sat on the mat. layer=0 head=0", channel="C43")
        await fake.wait_for(lambda: fake.calls_to("files.completeUploadExternal"), timeout=60)
        assert_upload(fake, channel="C43", thread_ts=None)


@pytest.mark.asyncio
async def test_attention_grid_in_a_mention_goes_to_the_thread(tiny_engine: Engine, tiny_settings: Settings) -> None:
    async with slack_bot(tiny_engine, tiny_settings) as fake:
        event = {"type": "app_mention", "user": "U2", "ts": "1700000009.000100", "channel": "C44",
                 "text": f"<@{BOT_USER}> attention The cat sat on the mat. layer=0 head=all"}
        await fake.event(event, event_id="EvAttention")
        await fake.wait_for(lambda: fake.calls_to("files.completeUploadExternal"), timeout=60)
        [post] = fake.calls_to("chat.postMessage")
        assert post.params["thread_ts"] == "1700000009.000100" and "layer 0" in post.text
        assert_upload(fake, channel="C44", thread_ts="1700000009.000100")


def assert_upload(fake: FakeSlack, *, channel: str, thread_ts: str | None) -> None:
    """The three files.upload v2 steps happened, in order, with a valid PNG and its alt text."""
    steps = [c.method for c in fake.calls if c.method in ("files.getUploadURLExternal", "upload",
                                                         "files.completeUploadExternal")]
    assert steps == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    [get_url] = fake.calls_to("files.getUploadURLExternal")
    [upload] = fake.calls_to("upload")
    [complete] = fake.calls_to("files.completeUploadExternal")
    assert get_url.params["filename"].endswith(".png")
    assert int(get_url.params["length"]) == len(upload.body)
    assert get_url.params["alt_txt"].strip()
    assert_valid_png(upload.body)
    assert complete.params["channel_id"] == channel
    assert complete.params.get("thread_ts") == thread_ts
    assert complete.params["files"][0]["id"] in fake.uploads, "completes the file that was uploaded"
    assert complete.params["files"][0]["title"]


@pytest.mark.asyncio
async def test_backticks_in_the_text_leave_every_code_span_and_block_intact(tiny_engine: Engine,
                                                                            tiny_settings: Settings) -> None:
    """Slack pairs any two backticks and ends a block at any ```: what the learner typed must not do either."""
    text = "Run `pip install transformers` then ```py import torch```"
    async with slack_bot(tiny_engine, tiny_settings) as fake:
        await fake.slash("/tokenize", text)
        [post] = await fake.wait_for(lambda: fake.calls_to("chat.postMessage"), timeout=60)
    texts = [post.params["text"]] + [t for b in post.params["blocks"] for t in block_texts(b)]
    for mrkdwn in texts:
        if mrkdwn.startswith("```"):
            assert mrkdwn.endswith("\n```") and mrkdwn.count("```") == 2, mrkdwn
        else:
            spans = mrkdwn.split("`")[1::2]
            assert mrkdwn.count("`") % 2 == 0 and all(s and s.strip() == s for s in spans), mrkdwn
    assert f"then {LOOKALIKE * 3}py import torch{LOOKALIKE * 3}" in post.params["blocks"][0]["elements"][0]["text"]


def block_texts(block: dict) -> list[str]:
    """The block's mrkdwn, where Slack reads backticks (buttons' plain_text labels do not)."""
    if block["type"] == "section":
        return [block["text"]["text"]] if block["text"]["type"] == "mrkdwn" else []
    return [e["text"] for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
