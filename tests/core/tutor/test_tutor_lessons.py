"""/learn: the whole guided path end to end, a learner's own sentence carried through, and a lesson
resumed after a restart (a new engine and policy on the same database)."""
from __future__ import annotations

import io
import re
from pathlib import Path

from bot.console.app import Console
from core.actions import flatten
from core.markup import to_plain
from core.policy import Verdict
from core.tutor import lesson_path as path
from tests.support.tutor import answered, button, rows_of, sealed_here, sqlite_url, study_group, text


def header(outcome) -> str:
    return text(outcome).splitlines()[0]


async def test_a_lesson_resumes_where_the_learner_left_off_after_a_restart(tmp_path: Path):
    url = sqlite_url(tmp_path)
    with study_group(url) as first:
        start = answered(await first.say("ada", "/learn"))
        assert start.show == "private", "in a channel, a lesson is the learner's own"
        assert f"lesson 1 of {len(path.LESSONS)}), step 1 of 5: predict" in start.answer
        run = await first.click("ada", button(await first.say("ada", "/learn"), "Next"))
        assert answered(run).show == "update" and "step 2 of 5: run" in header(run)
        own = await first.click("ada", button(run, "Use my own sentence"), args={"text": "Cats are wonderful pets."})
        assert "Cats are wonderful pets." in text(own) and "step 2 of 5: run" in header(own)
        assert answered(own).table is not None, "the run shows the real numbers"
    with study_group(url) as second:
        resumed = await second.say("ada", "/learn", direct=True)
        assert answered(resumed).show == "reply"
        assert "step 2 of 5: run" in header(resumed) and "Cats are wonderful pets." in text(resumed)
        explain = await second.click("ada", button(resumed, "Next"), direct=True)
        assert "step 3 of 5: explain" in header(explain)
        back = await second.click("ada", button(explain, "Back to the example"), direct=True)
        assert "Cats are" not in text(back), "back to the lesson's own example: the sentence is dropped"
        other = await second.say("bo", "/learn", direct=True)
        assert f"lesson 1 of {len(path.LESSONS)}), step 1 of 5" in header(other), "each learner has their own place"



async def test_learn_after_answering_a_steps_question_moves_on_instead_of_asking_it_again(tmp_path: Path):
    """Typed /learn after a prediction's answer is the next step (the answer was shown); after the check's answer,
    the next lesson, with the one left counted done, as its Continue button would."""
    with study_group(sqlite_url(tmp_path)) as cls:
        predict = await cls.say("ada", "/learn", direct=True)
        assert "step 1 of 5: predict" in header(predict)
        again = await cls.say("ada", "/learn", direct=True)
        assert "step 1 of 5: predict" in header(again), "not answered yet: the same step"
        await cls.click("ada", button(again, "A"), direct=True)
        run = await cls.say("ada", "/learn", direct=True)
        assert "step 2 of 5: run" in header(run) and answered(run).show == "reply"
        check = await cls.say("ada", "/learn 1", direct=True)
        for _ in range(4):
            check = await cls.click("ada", button(check, "Next"), direct=True)
        assert "step 5 of 5: check" in header(check)
        await cls.click("ada", button(check, "A"), direct=True)
        second = await cls.say("ada", "/learn", direct=True)
        assert f"(lesson 2 of {len(path.LESSONS)}), step 1 of 5: predict" in header(second)
        assert len(rows_of(cls.engine.settings.database_url)["tutor_lessons_done"]) == 1
        await cls.say("ada", "/learn restart", direct=True)
        second_pass = await cls.say("ada", "/learn", direct=True)
        assert "(lesson 1 of" in header(second_pass) and "step 1 of 5: predict" in header(second_pass), \
            "a question answered on an earlier pass is asked afresh"
        await cls.click("ada", button(second_pass, "B"), direct=True)
        assert "step 2 of 5: run" in header(await cls.say("ada", "/learn", direct=True))

async def test_the_whole_path_runs_end_to_end_on_the_tiny_pack(tmp_path: Path):
    """Every lesson, five steps each, every one answered: predictions and checks answered, runs shown,
    snippets given; at the end every lesson is done and the learner's sentence is gone."""
    with study_group(sqlite_url(tmp_path)) as cls:
        outcome = await cls.say("ada", "/learn restart", direct=True)
        outcome = await cls.click("ada", button(outcome, "Use my own sentence"), args={"text": "The dog slept."},
                                  direct=True)
        seen: list[str] = []
        while "You finished the path" not in text(outcome):
            assert outcome.verdict is Verdict.ANSWER, (seen[-1:], outcome.message)
            seen.append(header(outcome))
            labels = [a.label for a in flatten(answered(outcome).actions)]
            if "A" in {label[:1] for label in labels if label[1:2] == ":"}:
                revealed = await cls.click("ada", button(outcome, "A"), direct=True)
                assert "Answer:" in text(revealed) and answered(revealed).show == "update"
                outcome = await cls.click("ada", button(revealed, "Continue the lesson"), direct=True)
            else:
                outcome = await cls.click("ada", button(outcome, "Next"), direct=True)
            assert len(seen) <= path.STEPS, "the path ends"
        parts = {line.split(":")[0] for line in seen}
        assert {"Part I, Pipelines", "Part II, Behind the pipeline", "Part III, Attention"} <= parts
        assert len(seen) == len(set(seen)) == path.STEPS, "every step shown once, in order"
        tables = rows_of(cls.engine.settings.database_url)
        assert len(tables["tutor_lessons_done"]) == len(path.LESSONS)
        assert tables["tutor_lessons"][0]["sentence"] is None, "a finished lesson keeps no sentence"
        progress = answered(await cls.say("ada", "/progress", direct=True))
        assert f"{len(path.LESSONS)} of {len(path.LESSONS)} lessons done" in progress.answer.replace("*", "")
        assert "You finished the path" in progress.explanation and "Start or resume" not in progress.explanation


# --- /learn's grammar, the way back from "Open as", "Show code", the checks (issue 19, §3 and §5) ----------

def lesson_of(outcome) -> int:
    found = re.search(r"\(lesson (\d+) of \d+\), step 1 of 5", header(outcome))
    assert found, header(outcome)
    return int(found.group(1))


async def test_learn_opens_any_lesson_by_number_name_or_title_and_a_part_by_the_word_part(tmp_path: Path):
    fillmask = next(n for n, x in enumerate(path.LESSONS, start=1) if x.id == "fillmask")
    subwords = next(n for n, x in enumerate(path.LESSONS, start=1) if x.id == "subwords")
    part2 = next(n for n, x in enumerate(path.LESSONS, start=1) if x.part == 2)
    part3 = next(n for n, x in enumerate(path.LESSONS, start=1) if x.part == 3)
    with study_group(sqlite_url(tmp_path)) as cls:
        for line, number in ((f"/learn {fillmask}", fillmask), ("/learn fillmask", fillmask),
                             ('/learn "Subwords"', subwords), ("/learn subwords", subwords),
                             ("/learn Fill-mask", fillmask), ("/learn part 2", part2), ("/learn part II", part2),
                             ("/learn part attention", part3), ("/learn restart", 1)):
            assert lesson_of(await cls.say("ada", line, direct=True)) == number, line
        for line, says in (("/learn 99", "There is no lesson 99"), ("/learn part 9", "There is no part `9`: the"),
                           ("/learn part", "Which part? The path has parts 1 (Pipelines)"),
                           ("/learn cooking", "No lesson is called")):
            refused = await cls.say("ada", line, direct=True)
            assert refused.verdict is Verdict.USER_ERROR
            assert says in refused.message and "/learn part 2" in refused.message
        listed = text(await cls.say("ada", "/learn list", direct=True))
        assert all(f"{n}. Part" in listed for n in range(1, len(path.LESSONS) + 1)) and "(fillmask)" in listed


async def test_help_documents_the_learn_grammar(tiny_engine):
    result = await tiny_engine.run_text("/help learn")
    shown = to_plain(result.answer) + " ".join(" ".join(row) for row in result.table.rows)
    assert "/learn 7" in shown and "/learn part 2" in shown and "fillmask" in shown


async def test_a_number_typed_after_open_as_answers_the_lesson(tmp_path: Path):
    """The console numbers an "Open as /zeroshot" answer's way back; a number never becomes a command."""
    with study_group(sqlite_url(tmp_path)) as cls:
        stream = io.StringIO()
        console = Console(cls.policy, tmp_path / "out", stream)
        zeroshot = next(n for n, x in enumerate(path.LESSONS, start=1) if x.id == "zeroshot")
        await console.send(f"/learn {zeroshot}")
        run = await console.send(str(number_of(console, "Next")))
        assert "step 2 of 5: run" in answered(run).answer
        opened = answered(await console.send(str(number_of(console, "Open as /zeroshot"))))
        assert opened.command == "zeroshot" and opened.code.strip(), "the ordinary command's whole answer"
        assert "Back to the lesson" in [a.label for a in flatten(opened.actions)]
        explain = await console.send(str(number_of(console, "Next")))
        assert "step 3 of 5: explain" in answered(explain).answer
        back = await console.send(str(number_of(console, "Back")))
        assert "step 2 of 5: run" in answered(back).answer
        await console.send(str(number_of(console, "Open as /zeroshot")))
        returned = await console.send(str(number_of(console, "Back to the lesson")))
        assert "step 2 of 5: run" in answered(returned).answer
        await console.send("/help")
        before = stream.getvalue()
        odd = await console.send("2")
        assert odd.verdict is Verdict.USER_ERROR and "no numbered choices" in odd.message
        assert "There is no command" not in stream.getvalue()[len(before):]


def number_of(console: Console, label: str) -> int:
    labels = [c.label for c in console.choices]
    assert label in labels, (label, labels)
    return labels.index(label) + 1


async def test_show_code_sends_the_snippet_with_the_way_on(tmp_path: Path):
    with study_group(sqlite_url(tmp_path)) as cls:
        qa = next(n for n, x in enumerate(path.LESSONS) if x.id == "qa")
        tried = await cls.click("ada", sealed_here(cls, "dm-ada", "lesson", at=str(qa * len(path.PHASES) + 3)),
                                direct=True)
        assert "step 4 of 5: try it" in header(tried) and not answered(tried).code.strip()
        shown = answered(await cls.click("ada", button(tried, "Show code"), direct=True))
        assert "AutoModelForQuestionAnswering" in shown.code and "# It prints:" in shown.code
        assert [a.label for a in flatten(shown.actions)] == ["Next", "Back to the lesson"]


def test_checks_test_the_idea_with_no_giveaway_in_the_options():
    """The right answer is the longest option in at most a third of the lessons; options are distinct and none
    names the tutor's own commands (a check asks about the idea, not the tool)."""
    longest = shortest = 0
    for lesson in path.LESSONS:
        options = [lesson.check.right[0], *(w[0] for w in lesson.check.wrong)]
        assert len(options) == len(set(options)) == 4, lesson.id
        right = len(lesson.check.right[0])
        longest += all(right > len(w[0]) for w in lesson.check.wrong)
        shortest += all(right < len(w[0]) for w in lesson.check.wrong)
        assert not re.search(r"(^|\s)/[a-z]+", lesson.check.question + " ".join(options)), lesson.id
        assert "the tutor" not in lesson.check.question.lower(), lesson.id
    assert longest <= len(path.LESSONS) / 3, f"the right answer is the longest in {longest} of {len(path.LESSONS)}"
    assert shortest <= len(path.LESSONS) / 3, f"the right answer is the shortest in {shortest} of {len(path.LESSONS)}"
