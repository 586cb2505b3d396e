"""The decoder-side answers (/generate, /summarize, /qa) on real models: inputs longer than the model's
positions are fitted and said so, counts are right, and what the text claims is what happened."""
from __future__ import annotations

import re

import pytest

from core.engine import Engine
from core.settings import Settings
from tests.test_snippets import run_snippet, same_output, split_snippet

LONG_PROMPT = "x " * 250 + "!" * 500  # 1,000 characters, 752 tokens with [CLS] and [SEP]


def assert_snippet_reproduces(result) -> None:
    program, expected = split_snippet(result.code)
    assert same_output(expected, run_snippet(program))


async def test_generate_reads_the_end_of_a_prompt_longer_than_the_models_positions(tiny_engine):
    result = await tiny_engine.run_text(f"/generate {LONG_PROMPT} max_new_tokens=30")
    (notice,) = result.notices
    assert "752 tokens" in notice and "512 positions" in notice and "last 482 tokens" in notice
    assert "Your prompt became 752 tokens, and the model read the last 482 of them." in result.explanation
    assert "30 new tokens (you allowed 30)" in result.explanation
    assert "truncation_side" in result.code and '"max_length": 482' in result.code
    assert_snippet_reproduces(result)


async def test_generate_says_one_new_token_not_one_new_tokens(tiny_engine):
    result = await tiny_engine.run_text("/generate Hi max_new_tokens=1")
    assert "1 new token (you allowed 1)" in result.explanation
    assert not re.search(r"\b1 new tokens\b", result.as_text())
