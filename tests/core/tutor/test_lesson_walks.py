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
from core.results import Result
from core.tutor import lesson_path as path
from core.tutor.sizing import CHARS, LINES
from tests.support.lesson_walk import Shown, Walk, walk

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
