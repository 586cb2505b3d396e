"""Every command answers end to end: on the tiny pack all of them, on the offline pack real answers."""
import dataclasses

import pytest

from core.commands import build_registry
from core.engine import Engine
from tests.support.tutor import sqlite_url

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def own_store_engine(tiny_settings, tmp_path_factory):
    """The tiny pack with a tutor database of its own: the examples' quizzes count against no other test's
    learner (one learner may leave only a few questions open)."""
    engine = Engine(dataclasses.replace(tiny_settings, database_url=sqlite_url(tmp_path_factory.mktemp("store"))))
    yield engine
    engine.close()


@pytest.mark.parametrize("command", [c for c in build_registry()], ids=lambda c: c.name)
async def test_every_example_answers_on_the_tiny_pack(own_store_engine, command):
    for example in command.examples:
        result = await own_store_engine.run_text(example)
        assert result.command == command.name
        assert result.answer and result.explanation
        assert result.code or not command.needs_model, "a model command's answer has its snippet"


async def test_tokenize_gives_the_real_wordpiece_ids_offline(offline_engine):
    result = await offline_engine.run_text("/tokenize I'm learning")
    assert [row[2] for row in result.table.rows] == ["101", "1045", "1005", "1049", "4083", "102"]
    assert [row[1] for row in result.table.rows] == ["[CLS]", "i", "'", "m", "learning", "[SEP]"]
    assert result.table.rows[0][-1] == "special"


async def test_tokenize_marks_subword_pieces_and_sentence_pairs(offline_engine):
    result = await offline_engine.run_text("/tokenize Tokenization rocks | Second one")
    notes = {row[1]: row[-1] for row in result.table.rows}
    assert notes["token"].startswith("subword") and notes["##ization"].startswith("subword")
    types = [row[4] for row in result.table.rows]
    assert types[0] == "0" and types[-1] == "1"


async def test_attention_draws_a_png_and_names_links(offline_engine):
    result = await offline_engine.run_text("/attention The cat sat on the mat. layer=2 head=3")
    image = result.images[0]
    assert image.png.startswith(PNG) and "layer 2, head 3" in image.alt
    froms = [row[0] for row in result.table.rows]
    assert froms == ["the", "cat", "sat", "on", "the", "mat", "."]
    assert all(0 < float(row[2]) <= 1 for row in result.table.rows)


async def test_attention_grid_and_mean(offline_engine):
    grid = await offline_engine.run_text("/attention The cat sat. layer=0 head=all")
    assert [row[0] for row in grid.table.rows] == [f"head {h}" for h in range(12)]
    mean = await offline_engine.run_text("/attention The cat sat. layer=5 head=mean")
    assert "mean of all heads" in mean.answer and mean.images[0].png.startswith(PNG)


async def test_zeroshot_by_embedding_ranks_the_obvious_label_first(offline_engine):
    result = await offline_engine.run_text("/zeroshot I love pizza with extra cheese | sports, food, politics")
    assert result.table.rows[0][0] == "food"
    assert abs(sum(float(r[1]) for r in result.table.rows) - 1) < 1e-3
    multi = await offline_engine.run_text("/zeroshot I love pizza | sports, food multi_label=true")
    assert multi.table.rows[0][0] == "food" and "independently" in multi.answer


async def test_generate_continues_the_prompt_offline(offline_engine):
    result = await offline_engine.run_text("/generate The capital of France is max_new_tokens=8")
    assert result.answer.startswith("The capital of France is**")
    assert "Paris" in result.answer
