"""Unit tests of the Slack renderer: escaping, markup, and Slack's size limits."""
from __future__ import annotations

from bot.slack_app import SeenEvents, _line_from
from bot.slack_render import (
    BLOCK_LIMIT,
    FALLBACK_LIMIT,
    SECTION_LIMIT,
    escape,
    fit_blocks,
    render_error,
    render_result,
    split_text,
    to_mrkdwn,
    unescape,
)
from core.results import Result, Table


def result(**changes: object) -> Result:
    base = dict(command="x", answer="**Positive** (99%)", explanation="We ran `pipeline`.",
                code="from transformers import pipeline", model="distilbert")
    base.update(changes)
    return Result(**base)  # type: ignore[arg-type]


def section_texts(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def all_text(blocks: list[dict]) -> str:
    texts = section_texts(blocks)
    texts += [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    return "\n".join(texts)


def test_escape_special_mentions_and_entities() -> None:
    assert escape("<!channel> <!here> <!everyone> <@U1> a&b") == \
        "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;@U1&gt; a&amp;b"
    assert escape("&lt;") == "&amp;lt;", "an ampersand is escaped before anything else"
    assert unescape(escape("<mask> & </s>")) == "<mask> & </s>"


def test_bold_becomes_slack_bold_but_code_spans_stay() -> None:
    assert to_mrkdwn("**NEGATIVE** (50%)") == "*NEGATIVE* (50%)"
    assert to_mrkdwn("use `**kwargs` with **care**") == "use `**kwargs` with *care*"


def test_split_text_respects_the_limit_and_keeps_everything() -> None:
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(200))
    chunks = split_text(text, 1000)
    assert len(chunks) > 1
    assert all(len(escape(c)) <= 1000 for c in chunks)
    assert "\n".join(chunks) == text


def test_split_text_never_cuts_an_entity() -> None:
    chunks = split_text("<" * 2500, 1000)
    assert [len(escape(c)) for c in chunks] == [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]
    assert all(escape(c).endswith("&lt;") for c in chunks)
    assert "".join(chunks) == "<" * 2500


def test_long_answer_is_split_into_sections_within_limits() -> None:
    message = render_result(result(answer="word " * 2000))
    texts = section_texts(message.blocks)
    assert all(len(t) <= SECTION_LIMIT for t in texts)
    assert sum(t.count("word") for t in texts) == 2000
    assert len(message.text) <= FALLBACK_LIMIT and message.text.endswith("…")


def test_huge_table_is_trimmed_with_a_notice_and_stays_under_50_blocks() -> None:
    rows = tuple((f"token{i}", str(i)) for i in range(5000))
    message = render_result(result(table=Table(("token", "id"), rows)))
    assert len(message.blocks) <= BLOCK_LIMIT
    assert all(len(t) <= SECTION_LIMIT for t in section_texts(message.blocks))
    code_blocks = [t for t in section_texts(message.blocks) if t.startswith("```")]
    assert all(t.endswith("```") for t in code_blocks)
    assert "Trimmed" in all_text(message.blocks)
    assert message.blocks[-1]["type"] == "context" and "distilbert" in all_text(message.blocks[-1:])


def test_layout_answer_table_explanation_code_model() -> None:
    message = render_result(result(table=Table(("label", "score"), (("POSITIVE", "0.99"),)),
                                   notices=("Truncated to 512 tokens.",)))
    texts = section_texts(message.blocks)
    assert texts[0] == "*Positive* (99%)"
    assert texts[1].startswith("```\nlabel") and "POSITIVE  0.99" in texts[1]
    assert texts[2:] == ["*What happened*", "We ran `pipeline`.", "*Try it yourself*",
                         "```\nfrom transformers import pipeline\n```"]
    assert "Truncated to 512 tokens." in all_text(message.blocks)
    assert message.blocks[-1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": "Model: `distilbert`"}]}
    assert message.text == "*Positive* (99%)"


def test_everything_echoed_is_escaped() -> None:
    evil = "<!channel> <https://evil.example|click>"
    message = render_result(result(answer=evil, explanation=evil, code=evil, model=evil,
                                   table=Table(("t",), ((evil,),)), notices=(evil,)),
                            question=f"/sentiment {evil}", asker="U1")
    rendered = all_text(message.blocks) + message.text
    assert "<!channel>" not in rendered and "<https" not in rendered
    assert rendered.count("&lt;!channel&gt;") == 8
    assert "(asked by <@U1>)" in all_text(message.blocks[:1])


def test_fit_blocks_keeps_the_last_block() -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": str(i)}} for i in range(80)]
    fitted = fit_blocks(blocks)
    assert len(fitted) == BLOCK_LIMIT and fitted[-1] == blocks[-1] and fitted[-2]["type"] == "context"
    assert fit_blocks(blocks[:3]) == blocks[:3]


def test_error_is_escaped() -> None:
    message = render_error("There is no command `/<!here>`.")
    assert "&lt;!here&gt;" in message.text and "<!here>" not in message.text
    assert message.blocks[0]["text"]["text"] == message.text


def test_mention_is_stripped_and_entities_undone() -> None:
    assert _line_from("<@UBOT> fillmask Paris is the &lt;mask&gt; of France", "UBOT") == \
        "fillmask Paris is the <mask> of France"
    assert _line_from("<@UBOT|tutor>   /sentiment I love it", "UBOT") == "/sentiment I love it"
    assert _line_from("sentiment hi", "UBOT") == "sentiment hi"


def test_seen_events_are_bounded() -> None:
    seen = SeenEvents(capacity=3)
    assert seen.first_time("a") and not seen.first_time("a")
    for key in "bcd":
        assert seen.first_time(key)
    assert seen.first_time("a"), "the oldest id was forgotten"
    assert not seen.first_time("x", "d"), "any known key marks a duplicate"
