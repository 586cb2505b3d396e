"""The whole path walked as a learner on the tiny and the offline pack (issue 19, §3 and §5).

Every step of every lesson is one message a learner reads on a phone: at most 1,800 characters and 30
lines as the console, Discord and Slack render it, with no placeholder text and no dead end; the run's
table and snippet are each shown once per lesson; each prediction asks about the run the next step
shows (the same text, layer and head; its key in that run); the end of the path counts honestly.

The path is walked once per pack (tests/support/lesson_walk.py): every step, and every question's reveal.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from bot.console.app import number_choices, render_text
from bot.discord import render as discord_render
from bot.slack import render as slack_render
from core.results import Result, Table
from core.tasks.shared.common import load
from core.tutor import lesson_path as path
from core.tutor.kinds.tokenizers import PAD_PARTNER
from core.tutor.service import context_of
from core.tutor.sizing import CHARS, LINES, _rows, fit
from tests.support.lesson_walk import Shown, Walk, answered, walk
from tests.support.tutor import button, sqlite_url, study_group

MIB = 1024 * 1024
PLACEHOLDERS = ("Model: -", "# Press Next", "# The snippet comes with the answer", "# This check is about the idea",
                "(no answer)")


@pytest.fixture(scope="module", params=["tiny", "offline"])
def walked(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walk]:
    yield walk(request.param, tmp_path_factory.mktemp(f"walk-{request.param}"))


def console_text(result: Result) -> str:
    _, lines = number_choices(result)
    return render_text(result) + ("\n\n" + "\n".join(lines) if lines else "")


def discord_text(result: Result) -> str:
    embed = discord_render.render_result(result, 8 * MIB).embed
    parts = [embed.title or "", embed.description or ""]
    parts += [f"{field.name}\n{field.value}" for field in embed.fields]
    parts += [embed.footer.text] if embed.footer and embed.footer.text else []
    return "\n".join(parts)


def slack_text(result: Result) -> str:
    texts = []
    for block in slack_render.render_result(result).blocks:
        if block.get("type") == "section":
            texts.append(block["text"]["text"])
        elif block.get("type") == "context":
            texts.extend(element["text"] for element in block["elements"])
    return "\n".join(texts)


RENDERINGS = {"console": console_text, "discord": discord_text, "slack": slack_text}


def test_every_step_fits_a_phone_on_every_adapter(walked: Walk):
    assert len([s for s in walked.shown if not s.reveal]) == path.STEPS
    for shown in walked.shown:
        where = f"{walked.pack} {shown.lesson.id} step {shown.phase + 1}{' (reveal)' if shown.reveal else ''}"
        for adapter, render in RENDERINGS.items():
            text = render(shown.result)
            lines = text.count("\n") + 1
            assert len(text) <= CHARS and lines <= LINES, f"{where} on {adapter}: {len(text)} chars, {lines} lines"


def test_no_step_shows_placeholder_text_or_an_empty_section(walked: Walk):
    for shown in [*walked.shown]:
        text = console_text(shown.result)
        where = f"{walked.pack} {shown.lesson.id} step {shown.phase + 1}"
        for placeholder in PLACEHOLDERS:
            assert placeholder not in text, f"{where}: {placeholder!r}"
        assert not re.search(r"(What happened|Try it yourself)\n\s*(\n|$)", text), f"{where}: an empty section"
        assert shown.result.actions, f"{where}: a step always offers a way on"


def test_no_step_is_a_dead_end(walked: Walk):
    """Nothing says it cannot ask, cannot run or has no model: on the offline pack the stand-ins run the
    lessons of /sentiment, /ner and /fillmask (core/tasks/standins/)."""
    for shown in walked.shown:
        text = shown.text
        for dead_end in ("cannot run here", "No prediction here", "No snippet here", "has no model for", "cannot ask"):
            assert dead_end not in text, f"{walked.pack} {shown.lesson.id} step {shown.phase + 1}: {text[:300]}"


def test_the_table_and_the_snippet_are_shown_once_per_lesson(walked: Walk):
    for lesson in path.LESSONS:
        steps = walked.steps(lesson.id)
        with_code = [s.phase for s in steps if s.result.code.strip()]
        with_table = [s.phase for s in steps if s.result.table is not None]
        assert len(with_code) <= 1 and set(with_code) <= {3}, (walked.pack, lesson.id, with_code)
        assert len(with_table) <= 1 and set(with_table) <= {1}, (walked.pack, lesson.id, with_table)
        reveals = [s for s in walked.shown if s.lesson is lesson and s.reveal]
        assert all(r.result.table is None and not r.result.code.strip() for r in reveals), (walked.pack, lesson.id)
        snippet = steps[3].result
        if not snippet.code.strip():
            assert "Show code" in [a.label for a in snippet.actions], (walked.pack, lesson.id, "no way to the code")


def test_the_path_ends_counting_every_lesson_honestly(walked: Walk):
    done = {r["lesson"] for r in walked.rows["tutor_lessons_done"]}
    assert done == {lesson.id for lesson in path.LESSONS}, "every lesson's steps ran, so every lesson is done"
    end = walked.end.answer.replace("*", "")
    assert f"all {len(path.LESSONS)} lessons done" in end
    assert "still to do" not in end


MAIN_INPUTS = ("text", "context", "prompt", "word", "texts")
KEY_IN_RUN = ("zeroshot-label", "qa-span", "fillmask-top", "next-word", "ner-type", "lesson:summarize", "lesson:qa")
"""Kinds whose key is a token, label, span or first word the run step shows (a lesson's own question is
kept under the lesson's kind, so a miss brings back the lesson's check in /review)."""


def running_text(step: Shown) -> str:
    found = re.search(r"The running example: `(.+?)`\.", step.result.answer)
    assert found, step.result.answer[:200]
    return found.group(1)


def asked_about(question_input: str, running: str) -> bool:
    """The question read the running text itself, one of its words, or the text with one word masked."""
    if question_input == running or question_input in re.findall(r"[^\W\d_]+", running):
        return True
    pattern = re.escape(question_input).replace(re.escape("[MASK]"), r"[^\W\d_]+")
    return re.fullmatch(pattern, running) is not None


def test_each_prediction_asks_about_the_run_that_follows(walked: Walk):
    for lesson in path.LESSONS:
        predict, run = walked.step(lesson.id, 0), walked.step(lesson.id, 1)
        assert predict.question is not None, (walked.pack, lesson.id, predict.text[:200])
        inputs = predict.question.inputs
        main = next(inputs[k] for k in MAIN_INPUTS if k in inputs)
        main = main[0] if isinstance(main, list) else main
        assert asked_about(main, running_text(run)), (walked.pack, lesson.id, main, running_text(run))
        shown = run.text + (run.result.table.as_text() if run.result.table else "")
        if "layer" in inputs:
            where = f"of layer {inputs['layer']}" if inputs["head"] == "all" else \
                f"layer {inputs['layer']}, head {inputs['head']}"
            assert where in shown.lower(), (walked.pack, lesson.id, where, shown[:300])  # "**Layer 0, head 0**" (/qkv)
        if predict.question.kind in KEY_IN_RUN:
            key = predict.question.answer.replace("␣", " ").strip()  # a token's space, as the options mark it
            assert key in shown, (walked.pack, lesson.id, predict.question.answer)


# --- cutting a step to fit (core/tutor/sizing.py) -----------------------------------------------------------

def test_a_cut_table_counts_the_rows_left_out_in_the_right_number():
    table = Table(("n", "word"), tuple((str(i), f"word number {i}") for i in range(6)))
    assert _rows(table, 5).rows[-1] == ("…", "… 1 more row")
    assert _rows(table, 4).rows[-1] == ("…", "… 2 more rows")


WIDE = Table(("a", "b"), (("x" * 900, "y"), ("z" * 900, "w")))
"""A table too wide for a step that no cut of rows can shrink (two rows)."""


def test_an_answer_is_never_cut_mid_sentence():
    short = Result(command="learn", answer="Two texts, one batch: both rows are 30 tokens long after padding.",
                   table=WIDE, explanation="1. One.\n2. Two.", code="", model="")
    assert fit(short, "more").answer == short.answer, "cutting words off a short answer saves nothing"
    sentences = [f"Sentence {i} has `code. with a stop` and ends here." for i in range(20)]
    long = Result(command="learn", answer=" ".join(sentences), table=WIDE, explanation="1. One.", code="", model="")
    cut = fit(long, "more").answer
    kept, tail = cut.rsplit(" (… ", 1)
    assert tail == "more.)" and kept.endswith("ends here.") and long.answer.startswith(kept)
    assert kept.count("`") % 2 == 0 and len(kept) < len(long.answer)


LONG_SENTENCE = ("The Great Wall of China is over 21,000 kilometres long. Its construction spanned many dynasties, and "
                 "millions of workers built it over centuries.")


async def test_the_padding_step_with_a_long_own_sentence_fits_and_says_which_row_was_padded(tmp_path):
    """The learner's sentence has more tokens than the built-in one: the step fits a phone, its headline is
    whole, and it names the built-in sentence as the padded row with the tokenizer's own count."""
    number = next(n for n, lesson in enumerate(path.LESSONS, start=1) if lesson.id == "padding")
    with study_group(sqlite_url(tmp_path), pack="offline") as cls:
        predict = await cls.say("ada", f"/learn {number}", direct=True)
        own = await cls.click("ada", button(predict, "Use my own sentence"), args={"text": LONG_SENTENCE},
                              direct=True)
        run = answered(await cls.click("ada", button(own, "Next"), direct=True))
        tok = load(context_of(cls.engine), "attention", "encoder").tokenizer
        masks = tok([LONG_SENTENCE, PAD_PARTNER], padding=True, truncation=True)["attention_mask"]
    assert "step 2 of 5: run" in run.answer
    for adapter, render in RENDERINGS.items():
        text = render(run)
        assert len(text) <= CHARS and text.count("\n") + 1 <= LINES, (adapter, len(text), text.count("\n") + 1)
    lengths, width = [sum(m) for m in masks], len(masks[0])
    pads = width - lengths[1]
    assert lengths[1] < lengths[0] and masks[1].count(0) == pads
    assert run.answer.split("\n")[-1] == (
        f"Two texts, one batch: the built-in sentence is the shorter here ({lengths[1]} real tokens against "
        f"{lengths[0]}), so `padding=True` added {pads} `{tok.pad_token}` tokens to its row; both rows are {width} "
        "tokens long.")
    assert f"padded the shorter row, the built-in sentence's, with {pads} `{tok.pad_token}` tokens" in run.explanation
    assert run.table.rows[1][2] == f"1 ({lengths[1]} times), 0 ({pads} times)"
