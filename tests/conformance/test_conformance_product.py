"""The product on every platform: the conformance drivers with the real registry, the real engine on
the tiny pack and the tutor's store, through the same scenarios (issues 12 and 13's "done when").

Each scenario runs once per driver of `DRIVERS` (the fake, the console, discord.py against the fake
Discord, slack-bolt against the fake Slack). One engine serves the whole module (its models load
once); each scenario gets a fresh policy and platform. Learners are named per scenario, and each
platform keys them apart, so the scenarios share the one database without meeting.

Where a platform has no shared channel (the console: each learner's own terminal, `Driver.shared`
False), privacy holds by construction and the channel parts of a scenario say what that platform
does instead (a quiz there is the learner's own and reveals at once; the console is its own board).
"""
from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.actions import decode
from core.engine import Engine
from core.policy import Policy
from core.settings import Settings
from core.store import Database, RunStore
from core.tutor.data import WITHHELD
from core.tutor.questions import LETTERS, Question
from core.tutor.quiz import RIGHT_POINTS, TRY_POINTS
from core.tutor.service import context_of, find
from tests.conformance.scenarios import Driver, Seen
from tests.conformance.test_conformance import DRIVERS, is_png
from tests.support.tutor import rows_of, settings_for, sqlite_url

TEXT = "The cat sat on the mat."
SENTENCE = "Cats are wonderful pets."


@dataclass
class Product:
    settings: Settings
    engine: Engine

    @property
    def url(self) -> str:
        return str(self.settings.database_url)

    def policy(self, engine: Engine | None = None) -> Policy:
        return Policy(engine or self.engine, runs=RunStore(Database(self.url)))

    def key_of(self, round_id: str, engine: Engine | None = None) -> int:
        """The answer key the tutor stored for a quiz round."""
        tutor = find((engine or self.engine).registry)
        assert tutor is not None
        found = tutor.state(context_of(engine or self.engine)).rounds.get(round_id)
        assert found is not None, round_id
        return Question.from_json(found.question).key

    def rows(self) -> dict[str, list[dict[str, Any]]]:
        return rows_of(self.url)


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Product]:
    settings = settings_for(sqlite_url(tmp_path_factory.mktemp("product")))
    engine = Engine(settings)
    try:
        yield Product(settings, engine)
    finally:
        engine.close()


@asynccontextmanager
async def serving(name: str, policy: Policy, tmp_path: Path) -> AsyncIterator[Driver]:
    async with DRIVERS[name](policy, tmp_path) as driver:
        yield driver


@pytest.fixture(params=sorted(DRIVERS))
async def driver(request: pytest.FixtureRequest, product: Product, tmp_path: Path) -> AsyncIterator[Driver]:
    async with serving(request.param, product.policy(), tmp_path) as chosen:
        yield chosen


def plain(seen: Seen) -> str:
    """The text without bold markers (each platform draws bold its own way), as one line of words (`Seen.flat`)."""
    return seen.flat.replace("*", "")


def label_like(seen: Seen, pattern: str) -> str:
    found = [label for label in seen.actions if re.fullmatch(pattern, label)]
    assert found, f"no action like {pattern!r} among {list(seen.actions)}"
    return found[0]


def args_of(seen: Seen, label: str) -> dict[str, str]:
    return decode(seen.actions[label])[1]


def letter_label(seen: Seen, letter: str) -> str:
    return label_like(seen, re.escape(letter) + r":.*")


def one_png(seen: Seen) -> bytes:
    assert seen.images, f"no picture in: {seen.text[:300]}"
    assert is_png(seen.images[0])
    return seen.images[0]


# ----- issue 12: every answer is a starting point --------------------------------------------------------------
async def test_attention_next_layer_and_mask_a_token_answer_through_the_buttons(driver: Driver):
    first = await driver.ask("explorer", f"/attention {TEXT}")
    assert not first.private and "layer 0" in first.text
    before = one_png(first)
    assert all(len(ident) <= 100 for ident in first.actions.values())

    deeper = await driver.choose("explorer", first, label_like(first, r"Layer 1 ▶"))
    assert re.search(r"\blayer 1\b", deeper.text) and "layer 0" not in deeper.text.split("\n")[0]
    assert one_png(deeper) != before

    cat = label_like(deeper, r"\d+: cat")
    masked = await driver.choose("explorer", deeper, cat)
    position = args_of(deeper, cat)["mask"]
    assert f"Masking `cat` (token {position})".replace("`", "") in masked.text.replace("`", "")
    assert "[MASK]" in masked.text and re.search(r"\blayer 1\b", masked.text), "the same layer, rerun with cat masked"
    assert one_png(masked) != one_png(deeper)


async def test_overview_opens_the_chosen_layer_and_head_as_attention(driver: Driver):
    overview = await driver.ask("overviewer", f"/overview {TEXT}")
    assert not overview.private and one_png(overview)
    picked = await driver.choose("overviewer", overview, label_like(overview, r"Layer 1, head 2"))
    assert "layer 1, head 2" in plain(picked) and "over 9 tokens" in picked.text
    assert one_png(picked) != one_png(overview)


async def test_tokenize_answers_without_special_tokens(driver: Driver):
    tokens = await driver.ask("tokenizer", "/tokenize I'm learning")
    assert "[CLS]" in tokens.text and "6 tokens" in plain(tokens)
    bare = await driver.choose("tokenizer", tokens, "Without special tokens")
    assert "4 tokens" in plain(bare) and "[CLS]" not in bare.text.split("What happened")[0]
    assert "added no special tokens" in bare.text


async def test_tokenize_opens_compare_with_the_other_tokenizers(driver: Driver):
    tokens = await driver.ask("comparer", "/tokenize I'm learning")
    compared = await driver.choose("comparer", tokens, "Compare with other tokenizers")
    assert not compared.private and all(name in compared.text.lower() for name in ("bert", "gpt2", "roberta"))


async def test_fillmask_more_guesses_and_sentiment_which_words_mattered(driver: Driver):
    guesses = await driver.ask("guesser", "/fillmask Paris is the [MASK] of France.")
    shown = args_of(guesses, label_like(guesses, r"More guesses \(\d+\)"))
    more = await driver.choose("guesser", guesses, label_like(guesses, r"More guesses \(\d+\)"))
    assert f"these are the top {shown['top_k']}" in more.text
    assert "top 5" in guesses.text and f"top {shown['top_k']}" not in guesses.text

    feeling = await driver.ask("feeler", "/sentiment I love this")
    why = await driver.choose("feeler", feeling, "Which words mattered?")
    assert "Which words mattered, by occlusion" in why.text and "love" in why.text
    assert one_png(why) and any("shaded" in alt for alt in why.alts)


async def test_generate_shows_the_top_five_candidates_at_each_step(driver: Driver):
    story = await driver.ask("writer", "/generate Once upon a time max_new_tokens=3")
    assert "top 5 candidates" not in story.text
    steps = await driver.choose("writer", story, "Top 5 at each step")
    assert "top 5 candidates" in steps.text and one_png(steps)
    assert len(re.findall(r"^\s*[1-3]\s+\S", steps.text, flags=re.M)) >= 3, "one row per generated token"


# ----- issue 13: a tutor, not only an answer machine ----------------------------------------------------------
async def test_a_channel_quiz_counts_each_learner_once_and_the_askers_reveal_shows_the_key(
        driver: Driver, product: Product):
    asked = await driver.ask("quiz-ada", "/quiz tokenizers")
    assert not asked.private and "Quiz: tokenizers." in plain(asked)
    round_id = args_of(asked, letter_label(asked, "A"))["round"]
    key = product.key_of(round_id)
    right, wrong = letter_label(asked, LETTERS[key]), letter_label(asked, LETTERS[(key + 1) % 4])
    if not driver.shared:  # the console: the learner's own terminal, so the round is theirs and reveals at once
        revealed = await driver.choose("quiz-ada", asked, right)
        assert f"Answer: {LETTERS[key]}." in plain(revealed)
        assert not any(label[:2] in ("A:", "B:", "C:", "D:") for label in revealed.actions), "no second answer"
        counted = [r for r in product.rows()["tutor_answers"] if r["round_id"] == round_id]
        assert [r["points"] for r in counted] == [RIGHT_POINTS]
        return

    assert "Reveal" in asked.actions
    for user, label in (("quiz-ada", right), ("quiz-bo", wrong), ("quiz-cy", right)):
        ack = await driver.choose(user, asked, label)
        assert ack.private and f"You chose {label[0]}" in plain(ack), (user, ack.text)
    again = await driver.choose("quiz-bo", asked, right)
    assert again.private and "already answered" in again.text and LETTERS[(key + 1) % 4] in again.text
    early = await driver.choose("quiz-bo", asked, "Reveal")
    assert early.private and "Only the learner who asked" in early.text

    revealed = await driver.choose("quiz-ada", asked, "Reveal")
    assert not revealed.private and f"Answer: {LETTERS[key]}." in plain(revealed)
    assert "3 answers, 2 right" in plain(revealed)
    counted = [r for r in product.rows()["tutor_answers"] if r["round_id"] == round_id]
    assert sorted(r["points"] for r in counted) == sorted([RIGHT_POINTS, RIGHT_POINTS, TRY_POINTS])
    assert len({r["learner"] for r in counted}) == 3


async def test_a_lesson_moves_on_and_resumes_after_a_restart(product: Product, tmp_path: Path,
                                                              driver_name: str):
    async with serving(driver_name, product.policy(), tmp_path / "before") as driver:
        start = await driver.ask("lesson-ada", "/learn restart")
        assert "step 1 of 5: predict" in start.text and (start.private or not driver.shared)
        run = await driver.choose("lesson-ada", start, "Next")
        assert "step 2 of 5: run" in run.text and "step 1 of 5" not in run.text
        own = await driver.fill("lesson-ada", run, "Use my own sentence", SENTENCE)
        assert SENTENCE in own.text and "step 2 of 5: run" in own.text
        assert own.private or not driver.shared
    restarted = Engine(product.settings)
    try:
        async with serving(driver_name, product.policy(restarted), tmp_path / "after") as driver:
            resumed = await driver.ask("lesson-ada", "/learn")
            assert "step 2 of 5: run" in resumed.text and SENTENCE in resumed.text, resumed.text[:300]
            explain = await driver.choose("lesson-ada", resumed, "Next")
            assert "step 3 of 5: explain" in explain.text
            other = await driver.ask("lesson-bo", "/learn")
            assert "step 1 of 5: predict" in other.text, "each learner has their own place"
    finally:
        restarted.close()


@pytest.fixture(params=sorted(DRIVERS))
def driver_name(request: pytest.FixtureRequest) -> str:
    return request.param


def learner_in(seen: Seen) -> str:
    """The learner's key, as /mydata exports it."""
    found = re.search(r'"learner": "([0-9a-f]{16,})"', seen.everything)
    assert found, seen.everything[:500]
    return found.group(1)


def rows_with(product: Product, key: str) -> dict[str, int]:
    return {table: n for table, rows in product.rows().items() if (n := sum(key in repr(r) for r in rows))}


async def test_progress_mydata_forget_and_the_board_keep_each_learner_to_themselves(
        driver: Driver, product: Product):
    asked = await driver.ask("priv-ada", "/quiz cls-id")
    round_id = args_of(asked, letter_label(asked, "A"))["round"]
    key = product.key_of(round_id)
    await driver.choose("priv-ada", asked, letter_label(asked, LETTERS[key]))
    if driver.shared:
        await driver.choose("priv-bo", asked, letter_label(asked, LETTERS[key]))
        await driver.choose("priv-ada", asked, "Reveal")

    progress = await driver.ask("priv-ada", "/progress")
    assert "Your progress" in plain(progress) and "1 answer, 100% right" in plain(progress)
    assert progress.private or not driver.shared

    if driver.shared:
        refused = await driver.ask("priv-bo", "/board on")
        assert refused.private and "Only someone who can manage" in refused.text
        switched = await driver.ask("priv-boss", "/board on", admin=True)
        assert switched.private and "board is on" in plain(switched)
        for user, name in (("priv-ada", "Ada Lovelace"), ("priv-bo", "Bo Jones")):
            joined = await driver.ask(user, f"/board join {name}")
            assert joined.private and f"as {name}" in plain(joined)
        board = await driver.ask("priv-cy", "/leaderboard all")
        assert not board.private and not board.pings
        assert "Ada Lovelace" in board.text and "Bo Jones" in board.text
    else:  # the console is its own study group, and the person at the keyboard its admin
        assert "board is on" in plain(await driver.ask("priv-ada", "/board on"))
        assert "as Ada Lovelace" in plain(await driver.ask("priv-ada", "/board join Ada Lovelace"))
        assert "Ada Lovelace" in (await driver.ask("priv-ada", "/leaderboard all")).text

    mine = await driver.ask("priv-ada", "/mydata")
    assert mine.private or not driver.shared
    ada = learner_in(mine)
    kept = rows_with(product, ada)
    claimed = re.search(r"(\d+) rows? in (\d+) tables?", plain(mine))
    assert claimed and (int(claimed.group(1)), int(claimed.group(2))) == (sum(kept.values()), len(kept))
    assert kept.get("tutor_answers") == 1

    asked_first = await driver.ask("priv-ada", "/forget")
    assert asked_first.private or not driver.shared
    assert rows_with(product, ada) == kept, "nothing is deleted before the confirmation"
    done = await driver.choose("priv-ada", asked_first, "Yes, forget me")
    assert "deleted" in done.text and (done.private or not driver.shared)
    assert rows_with(product, ada) == {}, "no row of the learner is left"
    if not driver.shared:
        assert "Ada Lovelace" not in (await driver.ask("priv-ada", "/leaderboard all")).text
    if driver.shared:
        bo = learner_in(await driver.ask("priv-bo", "/mydata"))
        assert rows_with(product, bo).get("tutor_answers") == 1, "everyone else's rows stay"
        board = await driver.ask("priv-cy", "/leaderboard all")
        assert "Bo Jones" in board.text and "Ada Lovelace" not in board.text and not board.pings


async def test_a_channel_quiz_is_revealed_by_its_timer_with_the_answers_counted(driver: Driver, product: Product):
    """The adapter's own timer reveals the round (its time let pass by `Driver.after`, no real wait): not a
    second before TUTOR_QUIZ_SECONDS, then with the other learner's answer counted."""
    seconds = product.settings.quiz_seconds
    asked = await driver.ask("timer-ada", "/quiz cls-id")
    round_id = args_of(asked, letter_label(asked, "A"))["round"]
    key = product.key_of(round_id)
    if not driver.shared:
        assert "Reveal" not in asked.actions
        assert not (await driver.after("timer-ada", seconds + 2.0)).texts, "a learner's own round has no timer"
        return
    assert f"revealed in {seconds:.0f} s" in asked.text
    ack = await driver.choose("timer-bo", asked, letter_label(asked, LETTERS[(key + 1) % 4]))
    assert ack.private and not ack.replaced, "an answer is the learner's own; the question stays as it was"
    assert not (await driver.after("timer-bo", seconds - 1.0)).texts, "nothing is revealed before its time"
    revealed = await driver.after("timer-bo", 2.0)
    assert not revealed.private and f"Answer: {LETTERS[key]}." in plain(revealed), revealed.text[:300]
    assert not any(label[:2] in ("A:", "B:", "C:", "D:") for label in revealed.actions), "no answer is left"
    assert "1 answer, 0 right" in plain(revealed)
    counted = [r for r in product.rows()["tutor_answers"] if r["round_id"] == round_id]
    assert [r["points"] for r in counted] == [TRY_POINTS]


async def test_a_click_on_someone_elses_answer_gets_a_private_copy(driver: Driver):
    first = await driver.ask("owner", f"/attention {TEXT} layer=0 head=0")
    copy = await driver.choose("visitor", first, label_like(first, r"Layer 1 ▶"))
    assert "layer 1, head 0" in plain(copy) and one_png(copy)
    assert copy.private or not driver.shared, "exploring never rewrites someone else's answer"
    mine = await driver.choose("owner", first, label_like(first, r"Layer 1 ▶"))
    assert "layer 1, head 0" in plain(mine) and not mine.private


# ----- issue 20: nobody reads a key before the reveal --------------------------------------------------------
def question_of(product: Product, round_id: str) -> Question:
    tutor = find(product.engine.registry)
    assert tutor is not None
    found = tutor.state(context_of(product.engine)).rounds.get(round_id)
    assert found is not None, round_id
    return Question.from_json(found.question)


def refused_as_unknown(seen: Seen) -> bool:
    """The core's "There is no command", or Discord's own words for a name its command list lacks."""
    return seen.private and ("There is no command" in seen.text or "is not a command I know here" in seen.text)


async def test_a_hidden_step_typed_is_an_unknown_command_and_runs_nothing(driver: Driver, product: Product):
    asked = await driver.ask("keys-ada", "/quiz cls-id")
    round_id = args_of(asked, letter_label(asked, "A"))["round"]
    before = product.rows()
    for line in (f"/explore round={round_id} n=0", f"/answer round={round_id} choice=A", f"/reveal round={round_id}",
                 "/forgetme confirm=yes", "/lesson at=3"):
        seen = await driver.ask("keys-bo" if "forgetme" not in line else "keys-ada", line)
        assert refused_as_unknown(seen), (line, seen.text[:300])
        assert "What happened" not in seen.text and not seen.images, "no run was shown"
    after = product.rows()
    for table in ("tutor_rounds", "tutor_answers", "tutor_learners", "tutor_lessons"):
        assert after[table] == before[table], f"{table}: nothing typed answered, revealed, moved or forgot"
    if driver.shared:  # the channel's next question may start
        await driver.choose("keys-ada", asked, "Reveal")


async def test_mydata_shows_no_key_before_the_reveal(driver: Driver, product: Product):
    asked = await driver.ask("keys-cy", "/quiz cls-id")
    round_id = args_of(asked, letter_label(asked, "A"))["round"]
    question = question_of(product, round_id)
    if driver.shared:  # the asker answers their own channel round, like everyone (core/tutor/quiz.py)
        await driver.choose("keys-cy", asked, letter_label(asked, LETTERS[question.key]))
    early = (await driver.ask("keys-cy", "/mydata")).everything
    assert WITHHELD in early and '"why' not in early, early[:500]
    if driver.shared:
        await driver.choose("keys-cy", asked, "Reveal")
    else:  # the console's rounds are the learner's own, revealed by answering (its choices went with /mydata)
        asked = await driver.ask("keys-cy", "/quiz cls-id")
        key = question_of(product, args_of(asked, letter_label(asked, "A"))["round"]).key
        await driver.choose("keys-cy", asked, letter_label(asked, LETTERS[key]))
    late = (await driver.ask("keys-cy", "/mydata")).everything
    assert '"why' in late and (WITHHELD not in late or not driver.shared), late[:500]


async def test_a_tutor_step_that_runs_a_model_shares_the_learners_cooldown(product: Product, tmp_path: Path,
                                                                           driver_name: str):
    policy = Policy(product.engine, runs=RunStore(Database(product.url)), cooldown_s=600.0)
    async with serving(driver_name, policy, tmp_path) as driver:
        assert not (await driver.ask("budget-ada", "/tokenize hello")).private or not driver.shared
        for line in ("/learn restart", "/tokenize again"):
            refused = await driver.ask("budget-ada", line)
            assert re.search(r"You're asking quickly! Try again in \d+ s\.", refused.text), (line, refused.text[:300])
            assert refused.private or not driver.shared
        other = await driver.ask("budget-bo", "/learn restart")
        assert "step 1 of 5: predict" in other.text, "the budget is each learner's own"
