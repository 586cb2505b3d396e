"""Unit tests of the Slack renderer: escaping, markup, and Slack's size limits."""
from __future__ import annotations

import random
import re

from bot.slack.listeners import _line_from
from bot.slack.render import (
    BACKTICK_NOTE,
    BLOCK_LIMIT,
    FALLBACK_LIMIT,
    LOOKALIKE,
    SECTION_LIMIT,
    Echo,
    as_seen,
    code_fits,
    escape,
    fit_blocks,
    render_error,
    render_note,
    render_result,
    split_text,
    to_mrkdwn,
    unescape,
)
from core.markup import bold, code, plain
from core.results import Result, Table


def result(**changes: object) -> Result:
    base = {"command": "x", "answer": "**Positive** (99%)", "explanation": "We ran `pipeline`.",
            "code": "from transformers import pipeline", "model": "distilbert"}
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
    answer = texts[: texts.index("*What happened*")]
    assert "".join(answer) == "word " * 2000, "cut anywhere, nothing lost"
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
                            echo=Echo(f"/sentiment {evil}", "ada<!here>"))
    rendered = all_text(message.blocks) + message.text
    assert "<!channel>" not in rendered and "<https" not in rendered and "<!here>" not in rendered
    assert rendered.count("&lt;!channel&gt;") == 8
    assert "(asked by @ada&lt;!here&gt;)" in all_text(message.blocks[:1])
    assert "<@" not in rendered, "the asker is named, never mentioned: a mention would notify them"


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


def test_mention_reads_links_channels_and_mentions_as_the_learner_saw_them() -> None:
    assert _line_from("<@UBOT> sentiment I love <https://x.y|this> <#C1|general> <@U999> <!here>", "UBOT") == \
        "sentiment I love this #general @U999 @here"


def test_link_reads_as_its_label_or_its_url() -> None:
    assert as_seen("see <https://x.y|this>") == "see this"
    assert as_seen("see <https://x.y/a?b=1&amp;c=2>") == "see https://x.y/a?b=1&c=2"
    assert as_seen("see <https://x.y|>") == "see https://x.y", "an empty label: the URL"
    assert as_seen("<https://x.y|R&amp;D>") == "R&D", "a label's entities are undone too"
    assert as_seen("mail <mailto:a@b.c|a@b.c> or <mailto:d@e.f>") == "mail a@b.c or d@e.f"


def test_channel_reads_as_hash_name_or_hash_id() -> None:
    assert as_seen("in <#C123|general> and <#C456>") == "in #general and #C456"


def test_user_reads_as_at_name_or_at_id_and_the_bots_own_mention_is_removed() -> None:
    assert as_seen("ask <@U999|ada> or <@W42>") == "ask @ada or @W42"
    assert _line_from("<@UBOT|tutor> echo <@U9|ada> and <@U8>", "UBOT") == "echo @ada and @U8"


def test_here_channel_and_everyone_read_as_at_words() -> None:
    assert as_seen("<!here> <!channel> <!everyone>") == "@here @channel @everyone"


def test_user_group_and_date_read_as_their_labels() -> None:
    assert as_seen("ping <!subteam^S123|@team> or <!subteam^S456>") == "ping @team or @S456"
    assert as_seen("due <!date^1392734382^{date_short}|Feb 18, 2014> ok") == "due Feb 18, 2014 ok"


def test_typed_angle_brackets_stay_text_and_are_never_read_as_syntax() -> None:
    assert _line_from("<@UBOT> echo &lt;https://x.y|this&gt; &lt;!here&gt; &amp;lt; <https://x.y|this>", "UBOT") == \
        "echo <https://x.y|this> <!here> &lt; this"
    assert as_seen("fillmask Paris is the <mask> of France, <https://x.y|really>") == \
        "fillmask Paris is the <mask> of France, really", "brackets of no Slack form are left as they are"


def md_code(text: str) -> str:
    """Inline code the CommonMark way (how the core marks it): a fence longer than any run inside."""
    fence = "`" * (max((len(r) for r in re.findall("`+", text)), default=0) + 1)
    edges = text[:1] + text[-1:]
    pad = " " if "`" in edges or (edges == "  " and text.strip(" ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def slack_spans(mrkdwn: str) -> list[str]:
    """How Slack reads inline code: every backtick opens or closes a span; there is no escape."""
    assert mrkdwn.count("`") % 2 == 0, f"a backtick is left unpaired: {mrkdwn!r}"
    spans = mrkdwn.split("`")[1::2]
    assert all(span.strip() == span and span for span in spans), f"Slack would not format these: {spans}"
    return spans


def shown(text: str) -> str:
    return text.replace("`", LOOKALIKE)


TOKENS = ("Run", "`", "pip", "``", "```py", "import", "torch```", "a`b", " `x` ")


def test_code_spans_follow_the_core_markup() -> None:
    assert to_mrkdwn("a `b` c") == "a `b` c"
    assert to_mrkdwn("`` a`b ``") == f"`a{LOOKALIKE}b`"
    assert to_mrkdwn("` `` `") == f"`{LOOKALIKE * 2}`"
    assert to_mrkdwn("lone ` and ``` runs") == f"lone {LOOKALIKE} and {LOOKALIKE * 3} runs"
    assert to_mrkdwn("```x``` `y`") == "`x` `y`"
    assert to_mrkdwn("`a\nb`") == "`a b`"


def test_a_learners_text_written_with_plain_shows_literally() -> None:
    """The core escapes `*`, backticks and backslashes in a learner's text; Slack shows them as typed
    (a backtick as its look-alike), never a stray backslash and never a span."""
    said = "2*3*4 `x` \\ d\\"
    assert to_mrkdwn("You said: " + plain(said)) == f"You said: 2*3*4 {LOOKALIKE}x{LOOKALIKE} \\ d\\"
    assert to_mrkdwn(bold(plain("x`y"))) == f"*x{LOOKALIKE}y*"
    assert to_mrkdwn(code(said)) == f"`2*3*4 {LOOKALIKE}x{LOOKALIKE} \\ d\\`"


def test_learner_backticks_in_inline_code_cannot_break_it() -> None:
    answer = f"**{len(TOKENS)} tokens**: " + " ".join(md_code(t) for t in TOKENS)
    decoded = "Run `pip install transformers` then ```py import torch```"
    message = render_result(result(answer=answer, explanation=f"It decodes to {md_code(decoded)}."))
    texts = section_texts(message.blocks)
    assert texts[0].startswith(f"*{len(TOKENS)} tokens*: ")
    assert slack_spans(texts[0]) == [shown(t).strip() for t in TOKENS]
    explanation = texts[texts.index("*What happened*") + 1]
    assert slack_spans(explanation) == [shown(decoded)]
    assert BACKTICK_NOTE in all_text(message.blocks)
    assert slack_spans(message.text) == [shown(t).strip() for t in TOKENS], "the notification text too"


def test_a_backtick_outside_code_is_never_paired() -> None:
    assert to_mrkdwn("You said: **Run `pip` then ` alone**") == f"You said: *Run `pip` then {LOOKALIKE} alone*"
    assert to_mrkdwn("odd ``` fence") == f"odd {LOOKALIKE * 3} fence"
    message = render_result(result(answer="a ` b", notices=("x ` y",)))
    prose = [t for t in section_texts(message.blocks) if not t.startswith("```")]
    notes = [e["text"] for b in message.blocks if b["type"] == "context" for e in b["elements"]]
    assert prose[0] == f"a {LOOKALIKE} b" and any(f"x {LOOKALIKE} y" in n for n in notes)
    for text in prose + notes:
        slack_spans(text)


def test_triple_backticks_cannot_close_a_code_block_early() -> None:
    code = 'text = "Run `pip install transformers` then ```py import torch```"\nprint(text)'
    table = Table(("token", "id"), (("```py", "1"), ("`", "2"), ("torch````", "3")))
    message = render_result(result(code=code, table=table))
    fenced = [t for t in section_texts(message.blocks) if t.startswith("```")]
    assert len(fenced) == 2
    assert all(t.endswith("\n```") and t.count("```") == 2 for t in fenced)
    assert f"{LOOKALIKE * 3}py" in fenced[0] and f"torch{LOOKALIKE * 4}" in fenced[0]
    assert re.search(r"\n` +2\n", fenced[0]), "one backtick cannot end a block: shown as typed"
    assert f"`pip install transformers` then {LOOKALIKE * 3}py import torch{LOOKALIKE * 3}" in fenced[1]
    assert BACKTICK_NOTE in all_text(message.blocks)


def test_no_backtick_note_when_no_text_backtick_was_replaced() -> None:
    message = render_result(result(answer=f"ids for {md_code('[CLS]')}", code="print('`')"))
    assert BACKTICK_NOTE not in all_text(message.blocks)


def test_echoed_question_and_model_are_unbreakable_code() -> None:
    message = render_result(result(model="my`model"), echo=Echo("/tokenize Run `pip` ```py", "ada"))
    echo = message.blocks[0]["elements"][0]["text"]
    assert slack_spans(echo) == [shown("/tokenize Run `pip` ```py")]
    assert slack_spans(message.blocks[-1]["elements"][0]["text"]) == [shown("my`model")]


def test_a_code_span_cut_by_a_section_boundary_is_closed_and_reopened() -> None:
    answer = "x" * (SECTION_LIMIT - 10) + md_code("y" * 40) + " after"
    texts = section_texts(render_result(result(answer=answer)).blocks)
    first, second = texts[0], texts[1]
    assert len(first) <= SECTION_LIMIT and len(second) <= SECTION_LIMIT
    assert "".join(slack_spans(first) + slack_spans(second)) == "y" * 40


def test_lone_surrogates_never_reach_slack() -> None:
    evil = "caf\ud800 \udcff"
    message = render_result(result(answer=evil, explanation=evil, code=evil, model=evil,
                                   table=Table(("t",), ((evil,),)), notices=(evil,)), echo=Echo(evil))
    rendered = all_text(message.blocks) + message.text
    rendered.encode("utf-8")
    assert rendered.count("caf\ufffd \ufffd") == 8
    render_error(evil).text.encode("utf-8")


def test_any_mix_of_backticks_bold_and_odd_unicode_renders_valid_slack_markup() -> None:
    """Seeded random texts: every section fits, encodes, and pairs its backticks the way Slack will."""
    rng = random.Random(10)
    alphabet = ["`", "``", "```", "**", "*", "a", "b c", " ", "\n", "<!here>", "&", "\ud800", "\x00", "ˋ", "🤗"]  # noqa: RUF001
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        table = Table(("token",), tuple((text[i:i + 9],) for i in range(0, len(text), 9)))
        message = render_result(result(answer=text, explanation=text, code=text, model=text, table=table,
                                       notices=(text,)), echo=Echo(text, "U1"))
        for block in message.blocks:
            texts = [block["text"]["text"]] if block["type"] == "section" else [e["text"] for e in block["elements"]]
            for mrkdwn in texts:
                mrkdwn.encode("utf-8")
                assert len(mrkdwn) <= SECTION_LIMIT and "<!here>" not in mrkdwn
                if mrkdwn.startswith("```"):
                    assert mrkdwn.endswith("\n```") and mrkdwn.count("```") == 2, mrkdwn
                else:
                    slack_spans(mrkdwn)
        slack_spans(message.text)


def test_context_lines_fit_even_when_escaping_grows_the_text() -> None:
    """`<` becomes `&lt;`: a cut by characters before escaping could still pass Slack's 3,000."""
    evil = "<" * 2000
    message = render_result(result(model=evil), echo=Echo(evil, evil))
    contexts = [e["text"] for b in message.blocks if b["type"] == "context" for e in b["elements"]]
    assert contexts and all(len(t) <= SECTION_LIMIT for t in contexts)
    assert all(not t.endswith(("&", "&l", "&lt")) for t in contexts), "no entity cut in half"
    assert len(render_note(evil * 2)["elements"][0]["text"]) <= SECTION_LIMIT


def test_code_too_long_for_a_message_is_named_as_a_file_instead_of_cut() -> None:
    """/mydata's JSON of a busy learner: more than five sections of code. The adapter uploads it whole;
    the message says where it is instead of showing a cut copy."""
    long = Result("mydata", "Everything", "Kept.", "\n".join(f'{{"row": {n}, "pad": "{"x" * 90}"}}'
                                                          for n in range(400)), "-", code_file="mydata.json")
    assert not code_fits(long) and code_fits(Result("a", "b", "c", "print(1)", "-"))
    cut = render_result(long)
    assert "Trimmed" in str(cut.blocks)
    noted = render_result(long, code_note="It is attached whole as mydata.json in your direct messages with me.")
    text = str(noted.blocks)
    assert "Trimmed" not in text and '"row": 1' not in text and "attached whole as mydata.json" in text
