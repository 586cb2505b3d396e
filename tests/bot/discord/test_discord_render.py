"""Unit tests for the pure Result -> Discord message rendering (limits, splits, fallbacks)."""
from __future__ import annotations

import io
import json
import re

import pytest
from PIL import Image as PILImage

from bot.discord import render as dr
from bot.discord.markup import escape, inline_code
from core.markup import code, plain, spans, to_plain
from core.results import Image, Result, Table
from tests.support.fake_discord import read_markdown

MIB = 1024 * 1024


def png(width: int = 8, height: int = 8) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def result(**changes: object) -> Result:
    base = {"command": "sentiment", "answer": "**POSITIVE** (99.1%)", "explanation": "The model read the text.",
                "code": "from transformers import pipeline\nprint(pipeline('sentiment-analysis')('hi'))",
                "model": "tiny/sentiment"}
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


def test_an_answer_with_nothing_to_explain_has_no_empty_field() -> None:
    reply = dr.render_result(result(explanation="", code=""), 10 * MIB)
    assert reply.embed.fields == [] and reply.embed.description.startswith("**POSITIVE**")


def test_an_attached_document_keeps_the_name_its_result_gives_it() -> None:
    """/mydata's JSON is attached as JSON, not as a Python snippet."""
    document = '{"learner": "k", "rows": [' + ", ".join(["1"] * 3000) + "]}"
    reply = dr.render_result(result(code=document, code_file="mydata.json"), 10 * MIB)
    assert [a.filename for a in reply.attachments] == ["mydata.json"]
    assert "attached as `mydata.json`" in embed_text(reply)


EXAMPLE = "Run `pip install transformers` then ```py import torch```"
"""The learner's text from issue 10 (point 8)."""
EXAMPLE_TOKENS = ["[CLS]", "run", "`", "pip", "install", "transformers", "`", "then", "`", "`", "`", "p", "##y",
                  "import", "torch", "`", "`", "`", "[SEP]"]
EXAMPLE_DECODED = "[CLS] run ` pip install transformers ` then ` ` ` py import torch ` ` ` [SEP]"
HOSTILE = ["`", "``", "```", "````", "`````````", "a`b", "`a", "a`", " `a` ", "x``y", "```py import torch```",
           "`` ``", "\\", "a\\", "\\`", "\\``", "|| `||`", "**`**", "@everyone `@here`", "\u200b`", "  ", "a\nb`"]


def span(text: str) -> str:
    """A CommonMark code span, as the core writes one (core/results.py): a delimiter longer than any run inside."""
    longest = max((len(r) for r in re.findall("`+", text)), default=0)
    pad = " " if text[:1] == "`" or text[-1:] == "`" or (text[:1] == text[-1:] == " " and text.strip()) else ""
    return "`" * (longest + 1) + pad + text + pad + "`" * (longest + 1)


def example_result() -> Result:
    table = Table(("#", "token", "id"), tuple((str(i), t, str(1000 + i)) for i, t in enumerate(EXAMPLE_TOKENS)))
    answer = (f"**{len(EXAMPLE_TOKENS)} tokens**: " + " ".join(span(t) for t in EXAMPLE_TOKENS)
              + f"\ndecoded: {span(EXAMPLE_DECODED)}")
    explanation = f"5. **decode**: the ids turn back into {span(EXAMPLE_DECODED)}; uncased models lowercase."
    code = f"enc = tokenizer({EXAMPLE!r})\nprint(tokenizer.decode(enc['input_ids']))"
    return result(command="tokenize", answer=answer, explanation=explanation, code=code, table=table,
                  notices=(f"Your text {span(EXAMPLE)} has backticks.",))


def test_backticks_in_the_learner_s_text_keep_every_token_and_the_table_intact() -> None:
    reply = dr.render_result(example_result(), 10 * MIB)
    assert_within_limits(reply)
    parts = read_markdown(reply.embed.description)
    assert [text for kind, text in parts if kind == "code"] == [*EXAMPLE_TOKENS, EXAMPLE_DECODED, EXAMPLE]
    (table,) = [text for kind, text in parts if kind == "block"]
    assert table == example_result().table.as_text(), "the table is one code block, whole"
    assert "`" not in "".join(text for kind, text in parts if kind == "text"), "no stray backtick outside code"
    explanation = read_markdown(reply.embed.fields[0].value)
    assert [text for kind, text in explanation if kind == "code"] == [EXAMPLE_DECODED]


def test_a_snippet_with_three_backticks_in_a_row_is_attached_exactly() -> None:
    """In a code block it would need invisible breaks, and the copied code would then print something else."""
    reply = dr.render_result(example_result(), 10 * MIB)
    (snippet,) = reply.attachments
    assert snippet.filename == "snippet.py" and snippet.data.decode() == example_result().code
    value = reply.embed.fields[-1].value
    assert "has three backticks in a row" in value and "attached as `snippet.py`" in value


@pytest.mark.parametrize("text", HOSTILE)
def test_inline_code_shows_exactly_the_text(text: str) -> None:
    assert read_markdown(inline_code(text)) == [("code", text.replace("\u200b", "").replace("\n", " "))]


@pytest.mark.parametrize("text", HOSTILE)
def test_core_code_spans_survive_the_translation(text: str) -> None:
    shown = read_markdown(dr.discord_markup(f"before {span(text)} after"))
    assert shown == [("text", "before "), ("code", text.replace("\u200b", "").replace("\n", " ")), ("text", " after")]


@pytest.mark.parametrize("source", [
    "it costs ` 5 and `` more ``` then ```` four",  # runs of different lengths never pair
    "Run `pip install transformers then",
    "a path C:\\ ` and C:\\\\`` twice \\",
    "ends with a backslash \\",
    "```py import torch",
])
def test_backticks_outside_code_are_shown_as_typed(source: str) -> None:
    """A backtick with no partner in the core's text is literal; Discord must not pair it with a later one."""
    assert not any(s.code for s in spans(source)), "precondition: nothing here pairs up"
    assert read_markdown(dr.discord_markup(source)) == [("text", to_plain(source))]


@pytest.mark.parametrize("before, shown", [(plain("C:\\"), "C:\\"), (plain("two \\\\"), "two \\\\"),
                                           ("**bold**", "**bold**")])
def test_a_backslash_before_a_span_does_not_escape_its_backtick(before: str, shown: str) -> None:
    assert read_markdown(dr.discord_markup(before + span("x`y"))) == [("text", shown), ("code", "x`y")]


FORMATTING = ["__init__", "snake_case_name", "# not a heading", "> not a quote", "- not a list", "  - indented",
              "-# not subtext", "||not a spoiler||", "~~not struck~~", "*not italic*", "**not bold**",
              "[click me](https://example.com)", "a \\ backslash", "ends with \\", "line\n# second"]


def unescaped_formatting(shown: str) -> list[str]:
    """What Discord would still read as formatting in `shown`: a mark without a backslash before it."""
    bare = re.sub(r"\\.", "x", shown)  # an escaped mark is plain text where it stands
    marks = re.findall(r"[*_~|`\\]", bare)
    starts = re.findall(r"(?m)^[ \t]*([#>-])", bare)
    links = re.findall(r"\[[^\]]*\]\(", bare)
    return marks + starts + links


@pytest.mark.parametrize("text", FORMATTING)
def test_a_learner_s_text_shows_as_typed_not_as_discord_formatting(text: str) -> None:
    shown = dr.discord_markup(plain(text))
    assert unescaped_formatting(shown) == [], shown
    assert read_markdown(shown) == [("text", text)], "every escape is read back as the character itself"
    assert unescaped_formatting(escape(text)) == []


def test_formatting_check_is_not_vacuous() -> None:
    """Control for the test above: unescaped text does show formatting marks."""
    assert all(unescaped_formatting(text) for text in FORMATTING if "\\" not in text)


def test_links_and_the_core_s_own_bold_survive() -> None:
    url = "https://huggingface.co/docs/transformers/main_classes/pipelines"
    shown = dr.discord_markup(f"**Read** {plain('the docs: ' + url)} and {code('a_b')}")
    assert shown == f"**Read** the docs: {url} and `a_b`"
    assert dr.discord_markup(f"**bold {code('x')} still bold**") == "**bold `x` still bold**", "one pair of **"


@pytest.mark.parametrize("text", HOSTILE)
def test_code_blocks_hold_any_run_of_backticks(text: str) -> None:
    body = f"{text}\n```\nrow ``` {text}````"
    assert read_markdown(dr.code_block(body, 1000) + " after `x`") == [
        ("block", body.replace("\u200b", "")), ("text", " after "), ("code", "x")]


def test_a_cut_never_leaves_a_span_open_over_the_table() -> None:
    tokens = [f"`t{i}`" for i in range(1500)]  # a long answer of code spans, each holding backticks
    table = Table(("token",), tuple((t,) for t in tokens[:50]))
    reply = dr.render_result(result(answer=" ".join(span(t) for t in tokens), table=table), 10 * MIB)
    assert_within_limits(reply)
    parts = read_markdown(reply.embed.description)
    assert "cut to fit Discord's limit" in reply.embed.description
    assert [text for kind, text in parts if kind == "block"] == [table.as_text()]
    codes = [text for kind, text in parts if kind == "code"]
    assert codes and codes == tokens[:len(codes)], "every span shown is whole"


def test_error_text_keeps_the_learner_s_value_in_one_span() -> None:
    shown = read_markdown(dr.error_text(f"`times` must be a whole number, not {span('3`` or ```4')}."))
    assert shown == [("code", "times"), ("text", " must be a whole number, not "), ("code", "3`` or ```4"),
                     ("text", ".")]


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


def test_no_lone_surrogate_reaches_anything_sent() -> None:
    """A JSON "\\ud800" in an option can come back in any part; none may hold it (UTF-8, orjson, files)."""
    bad = "caf\ud800e `\udfff`"
    picture = Image(png(), f"pic{bad}.png", f"alt {bad}")
    long_code = f"print('{bad}')\n" * 400  # over the field budget: attached as snippet.py
    reply = dr.render_result(result(command="sentiment", answer=bad, explanation=bad, code=long_code, model=bad,
                                    table=Table(("token",), ((bad,),)), notices=(bad,), images=(picture,)), 10 * MIB)
    sent = json.dumps(reply.embed.to_dict(), ensure_ascii=False)
    sent.encode("utf-8")  # raises UnicodeEncodeError on a lone surrogate
    assert "\ufffd" in sent and "caf\ufffde" in sent
    for attachment in reply.attachments:
        (attachment.filename + attachment.description).encode("utf-8")
    snippet = next(a for a in reply.attachments if a.filename == "snippet.py")
    assert "caf\ufffde" in snippet.data.decode("utf-8")
    dr.error_text(f"`text` {bad}").encode("utf-8")
