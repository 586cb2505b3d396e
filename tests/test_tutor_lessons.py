"""/learn: the whole guided path end to end, a learner's own sentence carried through, and a lesson
resumed after a restart (a new engine and policy on the same database)."""
from __future__ import annotations

from pathlib import Path

from core.actions import flatten
from core.policy import Kind
from core.tutor import lesson_path as path
from tests.tutor_support import answered, button, rows_of, sqlite_url, study_group, text


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


async def test_the_whole_path_runs_end_to_end_on_the_tiny_pack(tmp_path: Path):
    """Every lesson, five steps each, every one answered: predictions and checks answered, runs shown,
    snippets given; at the end every lesson is done and the learner's sentence is gone."""
    with study_group(sqlite_url(tmp_path)) as cls:
        outcome = await cls.say("ada", "/learn restart", direct=True)
        outcome = await cls.click("ada", button(outcome, "Use my own sentence"), args={"text": "The dog slept."},
                                  direct=True)
        seen: list[str] = []
        while "You finished the path" not in text(outcome):
            assert outcome.kind is Kind.ANSWER, (seen[-1:], outcome.message)
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
