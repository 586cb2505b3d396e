"""Each command's "try it yourself" snippet, run on its own, prints what the bot answered."""
from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest

from core.commands import build_registry

MARK = "\n# It prints:\n"
TINY_LINES = {
    "sentiment": "/sentiment I love this",
    "ner": "/ner My name is Ada and I live in London.",
    "zeroshot": "/zeroshot I love pizza | food, sports, politics",
    "qa": "/qa Where do I live? | My name is Ada and I live in London.",
    "generate": "/generate Once upon a time max_new_tokens=8",
    "summarize": "/summarize The Eiffel Tower is 330 metres tall. It is in Paris.",
    "fillmask": "/fillmask Paris is the <mask> of France. top_k=3",
    "tokenize": "/tokenize The cat sat. | It was tired.",
    "attention": "/attention The cat sat on the mat. layer=1 head=2",
    "overview": "/overview The cat sat on the mat.",
}


def split_snippet(code: str) -> tuple[str, list[str]]:
    program, _, printed = code.partition(MARK)
    assert printed, "every model-backed snippet says what it prints"
    return program, [line[2:] if line.startswith("# ") else line[1:] for line in printed.splitlines()]


def run_snippet(program: str) -> list[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.rstrip("\n").splitlines()


def same_output(expected: list[str], actual: list[str]) -> bool:
    """Equal words, numbers equal to 3 decimals (a fresh process may round the 4th differently)."""
    want, got = " ".join(expected).split(), " ".join(actual).split()
    if len(want) != len(got):
        return False
    return all(w == g or _close(w, g) for w, g in zip(want, got))


def _close(a: str, b: str) -> bool:
    try:
        return math.isclose(float(a), float(b), abs_tol=2e-3)
    except ValueError:
        return False


def test_every_model_command_has_a_snippet_case():
    assert set(TINY_LINES) == {c.name for c in build_registry() if c.needs_model}


@pytest.mark.parametrize("command", sorted(TINY_LINES))
async def test_tiny_snippet_prints_what_the_bot_answered(tiny_engine, command):
    result = await tiny_engine.run_text(TINY_LINES[command])
    program, expected = split_snippet(result.code)
    assert same_output(expected, run_snippet(program))


@pytest.mark.parametrize("line", [
    "/tokenize I'm learning",
    "/zeroshot I love pizza | food, sports, politics",
    "/attention The cat sat on the mat. layer=2 head=all",
    "/overview The cat sat on the mat.",
    "/generate The capital of France is max_new_tokens=12",
    "/summarize The Eiffel Tower is 330 metres tall. It was the tallest structure in the world for 41 years.",
])
async def test_offline_snippet_prints_what_the_bot_answered(offline_engine, line):
    result = await offline_engine.run_text(line)
    program, expected = split_snippet(result.code)
    assert same_output(expected, run_snippet(program))


def test_same_output_can_fail():
    assert not same_output(["POSITIVE 0.5013"], ["NEGATIVE 0.5013"])
    assert not same_output(["a 0.5013"], ["a 0.5113"])
    assert same_output(["a  0.5013"], ["a 0.5012"])
