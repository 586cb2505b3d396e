"""The core markup: a learner's text inside it can never open or close a span early."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.markup import Span, bold, code, plain, spans, split_text, to_plain

HOSTILE = st.text(alphabet=st.sampled_from(list("ab `*\\_~|<>@\n")), max_size=40)


@given(HOSTILE)
@settings(max_examples=500, deadline=None)
def test_code_span_holds_any_text_exactly(text):
    parsed = spans(code(text))
    assert parsed == [Span(text if text else " ", code=True)]


@given(HOSTILE)
@settings(max_examples=500, deadline=None)
def test_plain_text_is_never_markup(text):
    assert to_plain(plain(text)) == text
    assert all(not s.code and not s.bold for s in spans(plain(text)))


@given(HOSTILE, HOSTILE)
@settings(max_examples=300, deadline=None)
def test_a_sentence_of_plain_and_code_parts_keeps_each_part(before, token):
    markup = bold(plain(before)) + " -> " + code(token) + "."
    parsed = spans(markup)
    assert [s for s in parsed if s.code] == [Span(token if token else " ", code=True)]
    assert "".join(s.text for s in parsed if s.bold) == before


def test_the_tokenize_example_from_the_issue_stays_one_code_span_per_token():
    tokens = ["run", "`", "pip", "```", "py"]
    parsed = spans(" ".join(code(t) for t in tokens))
    assert [s.text for s in parsed if s.code] == tokens


def test_unclosed_backticks_and_stars_are_literal():
    assert to_plain("a ` b") == "a ` b"
    assert spans("**bold** and `code`") == [Span("bold", bold=True), Span(" and "), Span("code", code=True)]


def test_split_text_cuts_at_breaks_and_keeps_every_word():
    text = "word " * 100
    chunks = split_text(text, 48)
    assert all(len(c) <= 48 for c in chunks)
    assert " ".join(chunks).split() == text.split()


def test_an_empty_section_is_left_out_heading_and_all() -> None:
    """A cancelled /forget explains nothing and has no snippet: no bare "What happened" heading."""
    from core.markup import CODE, EXPLANATION, sections
    from core.results import Result

    bare = Result(command="forget", answer="Nothing was deleted.", explanation="", code="  ", model="-")
    assert [label for label, _ in sections(bare)] == [""], "no model ran: no \"Model: -\" placeholder"
    full = Result(command="forget", answer="a", explanation="why", code="print(1)", model="tiny/sentiment")
    assert [label for label, _ in sections(full)] == ["", EXPLANATION, CODE, "Model"]
    assert "Model" not in bare.as_text() and "What happened" not in bare.as_text()
