"""Unit tests for the pure Result -> Discord message rendering (limits, splits, fallbacks)."""
from __future__ import annotations

import io

from PIL import Image as PILImage

from bot import discord_render as dr
from core.results import Image, Result, Table

MIB = 1024 * 1024


def png(width: int = 8, height: int = 8) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def result(**changes: object) -> Result:
    base = dict(command="sentiment", answer="**POSITIVE** (99.1%)", explanation="The model read the text.",
                code="from transformers import pipeline\nprint(pipeline('sentiment-analysis')('hi'))",
                model="tiny/sentiment")
    base.update(changes)
    return Result(**base)  # type: ignore[arg-type]


def embed_text(reply: dr.Reply) -> str:
    embed = reply.embed
    parts = [embed.title or "", embed.description or "", embed.footer.text or ""]
    parts += [f"{f.name}\n{f.value}" for f in embed.fields]
    return "\n".join(parts)


def assert_within_limits(reply: dr.Reply) -> None:
    embed = reply.embed
    assert len(embed.title or "") <= dr.TITLE_LIMIT
    assert len(embed.description or "") <= dr.DESCRIPTION_LIMIT
    assert len(embed.fields) <= 25
    for f in embed.fields:
        assert 0 < len(f.value or "") <= dr.FIELD_VALUE_LIMIT, (f.name, len(f.value or ""))
        assert f.value.count("```") % 2 == 0, "every code fence is closed"
    assert len(embed) <= dr.EMBED_TOTAL_LIMIT, len(embed)
    assert len(reply.attachments) <= dr.MAX_FILES
    assert (embed.description or "").count("```") % 2 == 0


def test_short_result_has_every_part_in_one_embed() -> None:
    reply = dr.render_result(result(table=Table(("label", "score"), (("POSITIVE", "0.99"), ("NEGATIVE", "0.01")))),
                             10 * MIB)
    embed = reply.embed
    assert embed.title == "/sentiment"
    assert embed.description.startswith("**POSITIVE** (99.1%)")
    assert "```\nlabel     score\n--------  -----\nPOSITIVE  0.99" in embed.description
    assert [f.name for f in embed.fields] == ["What happened", "Try it yourself"]
    assert embed.fields[1].value.startswith("```py\nfrom transformers import pipeline")
    assert embed.fields[1].value.endswith("\n```")
    assert embed.footer.text == "Model: tiny/sentiment"
    assert reply.attachments == ()
    assert_within_limits(reply)


def test_notices_are_shown() -> None:
    reply = dr.render_result(result(notices=("Text was cut to 512 tokens.",)), 10 * MIB)
    assert "**Note:** Text was cut to 512 tokens." in reply.embed.description


def test_long_parts_are_split_or_trimmed_with_a_visible_notice() -> None:
    long_answer = "word " * 3000  # 15,000 characters
    long_table = Table(("token", "id"), tuple((f"tok{i}", str(i)) for i in range(2000)))
    long_explanation = ("A sentence that explains a step. " * 40 + "\n\n") * 6  # ~8,000 characters
    reply = dr.render_result(result(answer=long_answer, table=long_table, explanation=long_explanation), 10 * MIB)
    assert_within_limits(reply)
    text = embed_text(reply)
    assert "cut to fit Discord's limit" in text
    assert "more lines not shown" in reply.embed.description  # the table kept its fence and said so
    assert reply.embed.fields[0].name == "What happened"
    assert reply.embed.fields[1].name == "What happened (continued)"
    assert reply.embed.footer.text == "Model: tiny/sentiment"  # the model survives any amount of trimming


def test_long_snippet_is_split_over_fields_each_a_closed_code_block() -> None:
    code = "\n".join(f"print('line {i}')  # some comment to make it longer" for i in range(35))  # ~1,900 chars
    reply = dr.render_result(result(code=code), 10 * MIB)
    assert_within_limits(reply)
    code_fields = [f for f in reply.embed.fields if f.name.startswith("Try it yourself")]
    assert len(code_fields) == 2
    assert all(f.value.startswith("```py\n") and f.value.endswith("\n```") for f in code_fields)
    joined = "\n".join(f.value[len("```py\n"):-len("\n```")] for f in code_fields)
    assert joined == code  # nothing lost in the split


def test_huge_snippet_becomes_an_attached_file_with_a_notice() -> None:
    code = "x = 1\n" * 2000
    reply = dr.render_result(result(code=code), 10 * MIB)
    assert_within_limits(reply)
    assert [a.filename for a in reply.attachments] == ["snippet.py"]
    assert reply.attachments[0].data == code.encode()
    assert "attached as `snippet.py`" in embed_text(reply)


def test_code_fences_in_user_text_cannot_break_the_block() -> None:
    reply = dr.render_result(result(code="print('```@everyone')"), 10 * MIB)
    value = reply.embed.fields[-1].value
    assert value.count("```") == 2


def test_image_is_attached_with_alt_text_and_shown_in_the_embed() -> None:
    picture = Image(png(), "attention layer0.png", "Heatmap: each row is a token")
    reply = dr.render_result(result(command="attention", images=(picture,)), 10 * MIB)
    (attachment,) = reply.attachments
    assert attachment.filename == "attention_layer0.png"
    assert attachment.data == picture.png
    assert attachment.description == "Heatmap: each row is a token"
    assert reply.embed.image.url == "attachment://attention_layer0.png"
    files = reply.files()
    assert files[0].filename == "attention_layer0.png" and files[0].description == picture.alt


def test_image_over_the_upload_limit_falls_back_to_its_alt_text() -> None:
    picture = Image(png(64, 64), "grid.png", "A grid of 4 heatmaps, one per head")
    reply = dr.render_result(result(command="attention", images=(picture,)), file_limit=100)
    assert reply.attachments == ()
    assert reply.embed.image.url is None
    description = reply.embed.description
    assert "is over this chat's upload limit (100 B)" in description
    assert "A grid of 4 heatmaps, one per head" in description
    assert_within_limits(reply)


def test_error_text_is_trimmed_to_message_limit() -> None:
    assert dr.error_text("`text` is empty.") == "`text` is empty."
    long = dr.error_text("x" * 5000)
    assert len(long) <= dr.CONTENT_LIMIT and long.endswith("(cut to fit Discord's limit)")


def test_split_text_prefers_line_breaks() -> None:
    chunks = dr.split_text("a" * 600 + "\n" + "b" * 600, 1024)
    assert chunks == ["a" * 600, "b" * 600]
    assert all(len(c) <= 100 for c in dr.split_text("z" * 1000, 100))
