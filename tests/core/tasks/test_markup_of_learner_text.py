"""A learner's text, and what a model or tokenizer makes of it, can never open or close a span of the answer.

Every model command runs on a text full of markup characters (`**`, backticks, a lone backtick, a backslash).
The answer, each notice and the explanation must parse (core/markup.py `spans`) into what the task meant:
no backtick run left without its closing run, no bold left open, and the learner's `**hi**` and `` `Bob` ``
shown as typed wherever the answer shows that part of the text.
"""
from __future__ import annotations

import re

import pytest

from core.commands import build_registry
from core.errors import UserError
from core.markup import code, spans, to_plain
from core.results import Result
from core.tasks.zeroshot import same_tokens_notice

TEXT = "Ada said **hi** to `Bob` in Paris \\ today, 2*3 ` x"
"""Bold and a code span that must stay literal, a lone backtick, a lone `*` and a backslash."""
MASKED = TEXT.replace("in Paris", "in [MASK]")
LABELS = "**a**, `b`, c\\"
"""Every label has markup in it, so whichever ranks first is the answer's headline."""
QUESTION = "Who said **hi** to `Bob`?"
_RUN = re.compile(r"`+")


def lines() -> dict[str, str]:
    """One line per model command of the registry, on TEXT (with what the command needs beside it)."""
    out = {}
    for command in build_registry():
        if not command.needs_model or command.personal:
            continue
        short = " max_new_tokens=3" if any(o.name == "max_new_tokens" for o in command.options) else ""
        if command.name == "fillmask":
            text = MASKED
        elif command.name == "zeroshot":
            text = f"{TEXT} | {LABELS}"
        elif command.name == "qa":
            text = f"{QUESTION} | {TEXT}"
        else:
            text = TEXT
        out[command.name] = f"/{command.name} {text}{short}"
    return out


def broken(markup: str) -> list[str]:
    """What is wrong with `markup` as the tasks write it: a backtick run that no run of the same length closes
    (only an unescaped learner's backtick leaves one: `plain` escapes them, `code` always closes), or bold
    still open at the end (a learner's `**`, or a backslash that escaped the closing one)."""
    problems, bold, i = [], False, 0
    while i < len(markup):
        if markup[i] == "\\" and i + 1 < len(markup) and markup[i + 1] in "\\`*":
            i += 2
        elif markup[i] == "`":
            run = _RUN.match(markup, i)
            assert run is not None
            closing = next((m for m in _RUN.finditer(markup, run.end()) if len(m.group()) == len(run.group())), None)
            if closing is None:
                problems.append(f"unclosed backtick run at {i}: {markup[max(0, i - 20):i + 20]!r}")
                i = run.end()
            else:
                i = closing.end()
        elif markup.startswith("**", i):
            bold = not bold
            i += 2
        else:
            i += 1
    if bold:
        problems.append("bold left open")
    return problems


def fields(result: Result) -> dict[str, str]:
    """Every part of a result that adapters parse as markup (not the table, not the code snippet)."""
    return {"answer": result.answer, "explanation": result.explanation,
            **{f"notice {n}": notice for n, notice in enumerate(result.notices)}}


def assert_well_formed(name: str, result: Result) -> None:
    for part, markup in fields(result).items():
        assert not broken(markup), (name, part, broken(markup), markup)


def assert_shows_text_as_typed(name: str, result: Result) -> None:
    """Where the answer shows the learner's text, it shows it exactly (the marks around a part are added)."""
    answer = result.answer
    shown = to_plain(answer)
    if name == "ner":  # the text, each entity bold and followed by its [TYPE]
        marked = answer.split("\n")[0]
        if result.table is not None:
            marked = marked.split(": ", 1)[1]
            assert re.sub(r" \[[A-Z]+\]", "", to_plain(marked)) == TEXT, marked
    elif name == "fillmask":  # "Best guess: **word** (p): the sentence with the word in the mask"
        first = spans(answer.split("\n")[0])
        assert first[1].bold and first[1].text == result.table.rows[0][0], first
        assert "**hi** to `Bob`" in shown and ", 2*3 ` x" in shown, answer
    elif name == "zeroshot":  # the best label, bold, as typed
        first = spans(answer)[0]
        assert first.bold and not first.code and first.text == result.table.rows[0][0], answer
    elif name == "qa":  # the question as a code span; the context with the answer span bold
        assert spans(answer)[1] == spans(code(QUESTION))[0]
        if result.table is not None:  # extractive: the last line is the context itself
            assert to_plain(answer.split("\n")[-1]) == TEXT, answer
            assert [s.text for s in spans(answer.split("\n")[1]) if s.bold] == [result.table.rows[0][0]]
    elif name == "generate":  # the prompt as typed, then the new text in bold
        assert shown.startswith(TEXT), answer
    elif name == "tokenize":  # one code span per token, each exactly the token the table shows
        head = answer.split("\n")[0]
        assert [s.text for s in spans(head) if s.code] == [row[1] for row in result.table.rows], head
        assert "`" in [s.text for s in spans(head) if s.code]
        decoded = spans(answer.split("\n")[-1])
        assert decoded[0].text == "decoded: " and len(decoded) == 2 and decoded[1].code, decoded
        assert "` bob `" in decoded[1].text and "*" in decoded[1].text


LINES = lines()


@pytest.mark.parametrize("name", sorted(LINES))
async def test_markup_in_a_learners_text_never_breaks_the_answer_of_a_model_command(tiny_engine, name):
    try:
        result = await tiny_engine.run_text(LINES[name])
    except UserError as exc:  # a refusal is markup too
        assert not broken(exc.message), (name, exc.message)
        return
    assert_well_formed(name, result)
    assert_shows_text_as_typed(name, result)


@pytest.mark.parametrize("name", ["ner", "fillmask", "sentiment"])
async def test_markup_in_a_learners_text_never_breaks_a_stand_in_answer(offline_engine, name):
    result = await offline_engine.run_text(LINES[name])
    assert_well_formed(name, result)
    if name == "ner":  # the stand-in proposes capitalised runs: Ada, Bob, Paris
        assert_shows_text_as_typed(name, result)
    if name == "fillmask":
        shown = to_plain(result.answer)
        first = spans(result.answer.split("\n")[0])
        assert first[1].bold and first[1].text == result.table.rows[0][0], first
        assert "**hi** to `Bob`" in shown and ", 2*3 ` x" in shown, result.answer


def test_labels_that_become_the_same_tokens_are_named_exactly_in_the_notice():
    class Same:
        """A tokenizer that makes every label the one token "`"."""

        def __call__(self, text, add_special_tokens=True):
            return {"input_ids": [7]}

        def convert_ids_to_tokens(self, ids):
            return ["`"]

    notice = same_tokens_notice(Same(), ["`b`", "**b**"])
    assert notice is not None and not broken(notice)
    assert [s.text for s in spans(notice) if s.code] == ["`b`", "**b**", "`"]
