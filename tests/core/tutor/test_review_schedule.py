"""/review on FSRS: a missed kind comes back the next day as a new question on a new text, FSRS spaces it
out as it is answered right, /progress and /mydata say when it is due, and the cards live in the store
(SQLite and PostgreSQL, migrated from a database made before them)."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from fsrs import Card, Rating, Scheduler, State

from core.store import Database
from core.store.database import migrate
from core.store.progress import ProgressStore
from core.store.records import Review
from core.store.schema import MIGRATIONS, V5_COLUMNS, meta
from core.tutor.questions import LETTERS, Question
from core.tutor.schedule import SEEN, Seen, fingerprint, next_review
from tests.support.postgres import database_url, postgres_server  # noqa: F401 - the fixtures
from tests.support.tutor import Class, answered, button, rows_of, sqlite_url, state_of, study_group

DAY = 86400.0
NOW = 1_800_000_000.0


def test_a_miss_is_due_the_next_day_and_fsrs_spaces_it_out_while_it_is_answered_right():
    missed = next_review(None, "token-count", "tokenizers", False, NOW, "unbelievably")
    assert missed is not None and missed.due == NOW + DAY and missed.misses == 1 and missed.streak == 0
    card = Card.from_json(missed.card or "")
    assert card.state is State.Review and card.stability is not None, "py-fsrs reads the stored card back"
    gaps, current = [], missed
    for correct in (True, True, True, False, True):
        now = current.due
        current = next_review(current, "token-count", "tokenizers", correct, now, f"word {len(gaps)}")
        assert current is not None
        gaps.append(round((current.due - now) / DAY))
    assert gaps[0] < gaps[1] < gaps[2], f"right answers move it further out each time: {gaps}"
    assert gaps[3] <= 2 < gaps[2] and gaps[4] < gaps[2], f"a miss brings it back soon, and closer after: {gaps}"
    assert current.misses == 2 and current.streak == 1
    assert next_review(None, "token-count", "tokenizers", True, NOW) is None, "a right answer makes no card"


def test_the_schedule_is_py_fsrs_own_with_again_for_a_miss_and_good_for_a_right_answer():
    """The same answers given to py-fsrs directly (no learning steps, no fuzz) give the same due dates."""
    scheduler = Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)
    card = Card(card_id=1, due=datetime.fromtimestamp(NOW, UTC))
    review: Review | None = None
    now = NOW
    for correct in (False, True, True, False, True):
        rating = Rating.Good if correct else Rating.Again
        card, _ = scheduler.review_card(card, rating, datetime.fromtimestamp(now, UTC))
        review = next_review(review, "cls-id", "tokenizers", correct, now)
        assert review is not None and review.due == card.due.timestamp()
        now = review.due


def test_a_review_remembers_only_hashes_of_its_last_texts():
    review = None
    for n in range(SEEN + 2):
        review = next_review(review, "token-split", "tokenizers", n % 2 == 0, NOW + n * DAY, f"text {n}")
    assert review is not None and len(review.seen.split()) == SEEN
    assert "text" not in review.seen and fingerprint("text 6") in review.seen.split()
    seen = Seen(review.seen)
    assert "text 6" in seen and "text 2" in seen and "text 1" not in seen and 3 not in seen


def question_of(cls: Class, outcome) -> Question:
    round_ = state_of(cls).rounds.get(dict(button(outcome, "A").args)["round"])
    assert round_ is not None
    return Question.from_json(round_.question)


async def test_a_missed_kind_comes_back_due_as_a_new_text_and_progress_and_mydata_say_when(tmp_path: Path):
    with study_group(sqlite_url(tmp_path)) as cls:
        asked = await cls.say("ada", "/quiz token-count", direct=True)
        missed = question_of(cls, asked)
        await cls.click("ada", button(asked, LETTERS[(missed.key + 1) % 4]), direct=True)
        progress = answered(await cls.say("ada", "/progress", direct=True))
        assert "0 review items due" in progress.answer.replace("*", "")
        assert "Coming back later: 1 item; the next in 24 h." in progress.explanation
        assert "FSRS" in progress.explanation
        nothing = answered(await cls.say("ada", "/review", direct=True))
        assert "Nothing to review right now" in nothing.answer and "24 h" in nothing.answer

        cls.clock.now += DAY
        due = answered(await cls.say("ada", "/progress", direct=True))
        assert "1 review item due" in due.answer.replace("*", "") and "how many tokens a word becomes" in \
            due.explanation
        subjects = [missed.subject]
        for _ in range(3):  # each review is a new text of the same kind, none of those met lately
            review = await cls.say("ada", "/review", direct=True)
            fresh = question_of(cls, review)
            assert fresh.kind == "token-count" and fresh.subject not in subjects, (fresh.subject, subjects)
            subjects.append(fresh.subject)
            assert answered(review).answer.startswith("**Review**")
            await cls.click("ada", button(review, LETTERS[fresh.key]), direct=True)
            cls.clock.now += 30 * DAY
        rows = rows_of(cls.engine.settings.database_url)["tutor_reviews"]
        assert len(rows) == 1 and rows[0]["streak"] == 3 and rows[0]["misses"] == 1
        stored = Card.from_json(rows[0]["card"])
        assert stored.due.timestamp() == rows[0]["due"], "the due date /progress shows is the card's"
        mydata = answered(await cls.say("ada", "/mydata", direct=True))
        exported = json.loads(mydata.code)["tables"]["tutor_reviews"][0]
        assert exported["due"] == rows[0]["due"] and json.loads(exported["card"])["stability"] > 1


def test_migration_v5_brings_a_v4_database_its_cards_and_lesson_steps_keeping_its_rows(database_url: str):  # noqa: F811
    db = Database(database_url)
    engine = db.engine  # migrated to the latest version; now taken back to v4, as an older tutor left it
    with engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX tutor_answers_step_once"))
        for table, column in V5_COLUMNS:
            conn.execute(sa.text(f"ALTER TABLE {table.name} DROP COLUMN {column}"))
        conn.execute(sa.update(meta).values(value="4"))
        conn.execute(sa.text("INSERT INTO tutor_reviews (learner, kind, topic, due, streak, misses, updated) "
                             "VALUES (:l, 'cls-id', 'tokenizers', :due, 0, 1, :due)"), {"l": "a" * 64, "due": NOW})
    assert migrate(engine) == len(MIGRATIONS) == 5
    with engine.begin() as conn:
        inspector = sa.inspect(conn)
        for table, column in V5_COLUMNS:
            assert column in {c["name"] for c in inspector.get_columns(table.name)}, (table.name, column)
        assert "tutor_answers_step_once" in {i["name"] for i in inspector.get_indexes("tutor_answers")}
    store = ProgressStore(db)
    kept = store.review("a" * 64, "cls-id")
    assert kept == Review("cls-id", "tokenizers", NOW, 0, 1, None, ""), "the old row, without a card yet"
    after = next_review(kept, "cls-id", "tokenizers", True, NOW, "My name is Ada.")
    assert after is not None and after.card and after.due > NOW + DAY
    store.put_review("a" * 64, after, NOW)
    assert store.review("a" * 64, "cls-id") == after
    db.close()


async def test_a_missed_lesson_check_comes_back_as_a_new_item_of_that_lesson(tmp_path: Path):
    """Not the same check reshuffled: the lesson's own kind of question on a text, whose answer moves
    the check's card."""
    with study_group(sqlite_url(tmp_path)) as cls:
        step = await cls.say("ada", "/learn", direct=True)
        for _ in range(4):
            step = await cls.click("ada", button(step, "Next"), direct=True)
        check = question_of(cls, step)
        assert check.kind == "lesson:sentiment", check.kind
        await cls.click("ada", button(step, LETTERS[(check.key + 1) % 4]), direct=True)
        cls.clock.now += DAY
        review = await cls.say("ada", "/review", direct=True)
        fresh = question_of(cls, review)
        assert fresh.kind == "lesson:sentiment" and "/sentiment" in fresh.prompt and fresh.inputs.get("text")
        await cls.click("ada", button(review, LETTERS[fresh.key]), direct=True)
        rows = rows_of(cls.engine.settings.database_url)["tutor_reviews"]
        assert [(r["kind"], r["misses"], r["streak"]) for r in rows] == [("lesson:sentiment", 1, 1)]
