"""Part IV's question kinds: keys equal a fresh run of the model (another engine), options are fair (the
key's place is uniform, no near-ties, no repeated option), and each snippet prints its key."""
from __future__ import annotations

from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest

from core.engine import Engine
from core.markup import to_plain
from core.tasks.shared.common import load
from core.tutor import decoder_lessons
from core.tutor.kinds import all_kinds, servable
from core.tutor.kinds.decoder import (
    KINDS,
    LADDER,
    LESSON_TEMPERATURE,
    apart,
    masked_rungs,
    probability,
    temperature_rungs,
    zeros_rungs,
)
from core.tutor.options import Draw, ranked
from core.tutor.questions import OPTIONS, Question
from core.tutor.service import context_of
from tests.core.tasks.test_snippets import same_output, split_snippet
from tests.core.tutor.test_tutor_keys import questions
from tests.support import snippet_outputs
from tests.support.decoder import decoder_key
from tests.support.tutor import sqlite_url, study_group

NAMES = [k.name for k in KINDS]
DRAWS = 200


def places(draw) -> Counter[int]:
    return Counter(draw(Draw(seed)) for seed in range(DRAWS))


def assert_uniform(counts: Counter[int]) -> None:
    total = sum(counts.values())
    shares = [counts[p] / total for p in range(OPTIONS)]
    assert all(0.18 <= s <= 0.32 for s in shares), shares


def test_the_numeric_kinds_offer_numbers_on_both_sides_so_the_key_takes_any_place():
    """Sorted numbers leak nothing only when the key can stand at each rank: the mistakes' counts lie on
    both sides of it, for the sentence lengths the lessons' sentences give (6 to 20 tokens)."""
    for n in range(6, 21):
        for rungs in (zeros_rungs(n, n * (n - 1) // 2), masked_rungs(n, max(1, n // 3))):
            for place in range(OPTIONS):
                options, key, why = ranked(*rungs, Draw(n, place=place, strict=True))
                assert key == place and why[key].startswith("Right"), (n, rungs[0], options)
                assert [int(o) for o in options] == sorted(int(o) for o in options)


def test_temperature_options_are_sorted_distinct_and_never_near_ties():
    at = {0.5: 0.97, 0.7: 0.90, 1.0: 0.69, 1.5: 0.24, 2.0: 0.057, 3.0: 0.0069, 5.0: 0.0008}
    right, others = temperature_rungs(at, "`to`")
    for seed in range(50):
        options, key, why = ranked(right, apart(right, others), Draw(seed))
        values = [float(o) for o in options]
        assert values == sorted(values) and len(set(options)) == OPTIONS
        assert options[key] == probability(at[LESSON_TEMPERATURE]) and why[key].startswith("Right")
        assert all(b - a > 0.05 * b for a, b in pairwise(values))


@pytest.mark.parametrize("engine_name", ["tiny_engine", "offline_engine"])
def test_temperature_key_places_are_uniform_on_the_packs_own_distributions(request, engine_name):
    from core.tasks.sampling import Settings, next_of, prompt_ids, top_probability
    from core.tutor.kinds.decoder import PROMPTS

    loaded = load(context_of(request.getfixturevalue(engine_name)), "generate", "causal-lm", "chat")
    made = []
    for item in PROMPTS:
        logits = next_of(loaded, prompt_ids(loaded, item.text, 1)[0], Settings(1.0, 0, 1.0)).logits
        right, others = temperature_rungs({t: top_probability(logits, t) for t in (*LADDER, LESSON_TEMPERATURE)}, "x")
        made.append((right, apart(right, others)))
    assert_uniform(places(lambda draw: ranked(*made[draw.randrange(len(made))], draw)[1]))


def test_every_pack_serves_part_fours_kinds(tiny_engine, offline_engine):
    for engine in (tiny_engine, offline_engine):
        assert set(NAMES) <= {k.name for k in servable(all_kinds(), engine.pack)}


async def check(made: list[Question], engine: Engine) -> None:
    for q in made:
        assert q.answer == decoder_key(engine, q), (q.kind, q.inputs, q.options)
        assert len(set(q.options)) == OPTIONS and q.options.count(q.answer) == 1


async def test_tiny_decoder_keys_equal_a_fresh_run(tmp_path: Path, tiny_engine: Engine):
    with study_group(sqlite_url(tmp_path)) as cls:
        await check(questions(cls.engine, NAMES), tiny_engine)


async def test_offline_decoder_keys_equal_a_fresh_run(tmp_path: Path, offline_engine: Engine):
    with study_group(sqlite_url(tmp_path), pack="offline") as cls:
        made = questions(cls.engine, NAMES, per_kind=1)
    assert {q.kind: q.literal for q in made} == {"causal-zeros": False, "qkv-mask": True, "temperature-top": False,
                                                 "template-first": True}, "the offline pack asks the real questions"
    await check(made, offline_engine)


async def test_a_moved_key_is_caught(tmp_path: Path, tiny_engine: Engine):
    import dataclasses

    with study_group(sqlite_url(tmp_path)) as cls:
        made = questions(cls.engine, NAMES, per_kind=1)
    for q in made:
        with pytest.raises(AssertionError):
            await check([dataclasses.replace(q, key=(q.key + 1) % OPTIONS)], tiny_engine)


def test_tiny_decoder_snippets_print_their_keys(tmp_path: Path):
    with study_group(sqlite_url(tmp_path)) as cls:
        made = questions(cls.engine, NAMES, per_kind=1)
    programs, expected = zip(*(split_snippet(q.code) for q in made), strict=True)
    for q, want, got in zip(made, expected, snippet_outputs(programs), strict=True):
        assert same_output(want, got.rstrip("\n").splitlines()), (q.kind, want, got)
        if q.kind != "template-first":  # what a model reads is shown by the template it prints, not named
            assert to_plain(q.answer) in got, (q.kind, q.answer, got)


def test_part_fours_checks_do_not_give_the_answer_away():
    """The right answer is not the longest option more than a third of the time, and no two options read
    alike in a 40-character button."""
    longest = 0
    for spec in decoder_lessons.LESSONS:
        _, right, wrong = spec.check
        options = [right[0], *(w[0] for w in wrong)]
        assert len(options) == OPTIONS and len({o[:38] for o in options}) == OPTIONS, options
        longest += max(options, key=len) == right[0]
    assert longest <= len(decoder_lessons.LESSONS) / 3


@pytest.mark.parametrize("engine_name", ["tiny_engine", "offline_engine"])
def test_a_masked_count_reveal_draws_the_row_it_counted(request, engine_name):
    """The count form (a row with no later token out-scoring the visible ones) reveals the head's map and the
    keys either side of the mask: the blank cells of its row are the key, and the table shows them at weight 0."""
    import dataclasses
    import random

    from core.tutor.kinds.decoder import Item, measure_row, qkv_mask

    ctx = context_of(request.getfixturevalue(engine_name))
    row = measure_row(ctx, Item("The cat sat on the mat because it was tired."))
    q = qkv_mask(dataclasses.replace(row, pick=dataclasses.replace(row.pick, trap=None)), random.Random(3))
    i = row.pick.token
    assert not q.literal and q.picture is not None and q.table is not None
    later = q.picture.weights[i][i + 1:]
    assert str(len(later)) == q.answer and all(w == 0 for w in later) and q.picture.weights[i][i] > 0
    positions = [int(r[0].split()[0]) for r in q.table.rows]
    assert i in positions and i + 1 in positions, positions
    assert all(float(r[2]) == 0 for r, at in zip(q.table.rows, positions, strict=True) if at > i)
