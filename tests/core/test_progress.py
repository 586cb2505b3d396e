"""Progress on the long first-time jobs (core/progress.py, shown by bot/console/progress.py): a line when each
starts and ends where stderr is piped (logs, Docker), a bar on a terminal, never a word on stdout."""
from __future__ import annotations

import contextlib
import io
import logging
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.console.progress import ProgressHandler
from core import progress
from core.commands import build_registry
from core.tiny import ensure_tiny, tiny_dir, tiny_models
from tests.bot.ops.test_ops_failures import environment
from tests.support.fake_hub import fake_hub
from tests.support.paths import TEST_CACHE
from tests.support.terminal import on_terminal

DONE = r"done in \d+\.\d s"
HUB_TOKENIZER = "google-bert/bert-base-uncased"
"""The hub pack's /tokenize model."""


def tutor(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=environment(**env),
                          capture_output=True, text=True, timeout=600)


# ----- piped: one line as each job starts, one as it ends -----
def test_a_first_tiny_pack_build_shows_its_start_and_end_lines_on_stderr(tmp_path: Path) -> None:
    done = tutor("--pack", "tiny", "ask", "/tokenize Hello world", cwd=tmp_path, TUTOR_CACHE_DIR=str(tmp_path / "c"))
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["Building the tiny pack (first use, a few seconds)...",
                                        done.stderr.splitlines()[1]]
    assert re.fullmatch(rf"Building the tiny pack\.\.\. {DONE}", done.stderr.splitlines()[1]), done.stderr
    assert done.stdout.startswith("4 tokens: `[CLS]` `hello` `world` `[SEP]`"), "stdout holds the answer alone"


def test_a_built_pack_shows_no_progress(tmp_path: Path) -> None:
    cache = tmp_path / "c"
    tutor("--pack", "tiny", "models", "pull", cwd=tmp_path, TUTOR_CACHE_DIR=str(cache))
    done = tutor("--pack", "tiny", "ask", "/tokenize Hello world", cwd=tmp_path, TUTOR_CACHE_DIR=str(cache))
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_models_pull_tiny_shows_its_stages_on_stderr_and_its_report_on_stdout(tmp_path: Path) -> None:
    cache = tmp_path / "c"
    done = tutor("--pack", "tiny", "models", "pull", cwd=tmp_path, TUTOR_CACHE_DIR=str(cache))
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    twins = len(tiny_models(build_registry()))  # one per model the registry declares
    assert lines[:2] == [f"Pulling the tiny pack's {twins} model(s)...",
                         "Building the tiny pack (first use, a few seconds)..."]
    assert re.fullmatch(rf"Building the tiny pack\.\.\. {DONE}", lines[2]), lines
    assert re.fullmatch(rf"Pulling the tiny pack's {twins} model\(s\)\.\.\. {DONE}", lines[3]), lines
    assert len(lines) == 4 and "\r" not in done.stderr, "no bar's redraws down a pipe"
    assert done.stdout.splitlines()[0] == "Preparing tiny/sentiment (for /sentiment) ..."
    assert done.stdout.splitlines()[-1] == f"Pack tiny: {twins} model(s) ready."
    assert (tiny_dir(cache) / "DONE").is_file()


def test_the_first_offline_answer_says_it_is_de_quantising(tmp_path: Path) -> None:
    """The issue's case: the first /generate on the offline pack de-quantises SmolLM2 (about 10 s, real)."""
    done = tutor("--pack", "offline", "ask", "/generate Hello max_new_tokens=2", cwd=tmp_path,
                 TUTOR_CACHE_DIR=str(tmp_path / "c"))
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == "De-quantising SmolLM2-135M-Instruct (first use, about 10 s)...", done.stderr
    assert re.fullmatch(rf"De-quantising SmolLM2-135M-Instruct\.\.\. {DONE}", lines[1]), done.stderr
    assert len(lines) == 2, "and transformers' own tensor bar stays off the log"
    assert done.stdout.startswith("Hello"), done.stdout


@pytest.fixture
def hub() -> Iterator[str]:
    """The hub pack's /tokenize model on a local fake Hub (its tiny twin's files under the Hub's name)."""
    ensure_tiny(tiny_dir(TEST_CACHE), tiny_models(build_registry()))
    with fake_hub(HUB_TOKENIZER, tiny_dir(TEST_CACHE) / "tokenize") as endpoint:
        yield endpoint


def from_hub(hub: str, tmp_path: Path) -> dict[str, str]:
    return {"HF_ENDPOINT": hub, "HF_HUB_OFFLINE": "0", "HF_HOME": str(tmp_path / "hf"),
            "TUTOR_CACHE_DIR": str(tmp_path / "c"), "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}


def test_a_first_hub_download_is_a_start_and_end_line_without_the_hubs_bars(tmp_path: Path, hub: str) -> None:
    done = tutor("--pack", "hub", "ask", "/tokenize Hello world", cwd=tmp_path, **from_hub(hub, tmp_path))
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == f"Downloading {HUB_TOKENIZER} from the Hugging Face Hub (first use)...", done.stderr
    assert re.fullmatch(rf"Downloading {HUB_TOKENIZER} from the Hugging Face Hub\.\.\. {DONE}", lines[1])
    assert len(lines) == 2 and "\r" not in done.stderr, "huggingface_hub's bars stay out of a log"
    assert done.stdout.startswith("4 tokens: `[CLS]` `hello` `world` `[SEP]`")


# ----- a terminal: a bar -----
def test_a_terminal_shows_a_bar_that_stays_with_its_final_state(tmp_path: Path) -> None:
    run = on_terminal("--pack", "tiny", "models", "pull", cwd=tmp_path, columns=100,
                      TUTOR_CACHE_DIR=str(tmp_path / "c"))
    assert run.code == 0, run.terminal
    final = [line.rsplit("\r", 1)[-1] for line in run.terminal.splitlines() if "Building the tiny pack" in line]
    twins = len(tiny_models(build_registry()))  # a step per twin, and the vocabularies first
    assert final and re.match(rf"Building the tiny pack: 100%\|█+\| {twins + 1}/{twins + 1} \[\d\d:\d\d, done\]",
                              final[-1]), final
    assert f"Pack tiny: {twins} model(s) ready." in run.terminal


# ----- the interface -----
@contextmanager
def shown(*, verbose: bool = False) -> Iterator[list[str]]:
    """The lines the console's handler writes down a pipe while the block runs (times as `N s`)."""
    stream, lines = io.StringIO(), []
    handler = ProgressHandler(stream, bars=False)
    if verbose:
        handler.setLevel(logging.DEBUG)
    progress.log.addHandler(handler)
    level = progress.log.level
    progress.log.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        progress.log.removeHandler(handler)
        progress.log.setLevel(level)
        lines += [re.sub(r"\d+\.\d s", "N s", line) for line in stream.getvalue().splitlines()]


def lines_of(*jobs: tuple[str, str, list[str]], fail: bool = False, verbose: bool = False) -> list[str]:
    with shown(verbose=verbose) as lines, contextlib.suppress(RuntimeError):
        for title, note, steps in jobs:
            with progress.job(title, note=note, steps=len(steps)) as running:
                for step in steps:
                    running.step(step)
                if fail:
                    raise RuntimeError("broken")
    return lines


def test_a_job_is_a_start_line_and_an_end_line() -> None:
    assert lines_of(("Building", "first use", ["a", "b"])) == ["Building (first use)...", "Building... done in N s"]


def test_a_failed_job_says_so_and_the_error_goes_on() -> None:
    assert lines_of(("Building", "", ["a"]), fail=True) == ["Building...", "Building... failed after N s"]
    with pytest.raises(RuntimeError), progress.job("x"):
        raise RuntimeError("the caller still sees it")


def test_verbose_adds_a_line_per_step() -> None:
    assert lines_of(("Building", "", ["a", "b"]), verbose=True) == [
        "Building...", "Building: a (1 of 2)", "Building: b (2 of 2)", "Building... done in N s"]


def test_a_server_logs_the_jobs_as_ordinary_lines(caplog: pytest.LogCaptureFixture) -> None:
    """No handler of the console's: the records go up to the root logger, as `tutor run`'s log lines."""
    with caplog.at_level(logging.INFO, logger="tutor.progress"), progress.job("Downloading m", note="first use"):
        pass
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "Downloading m (first use)..." and re.fullmatch(rf"Downloading m\.\.\. {DONE}", messages[1])


def test_each_benchmark_part_is_a_line_as_it_starts_and_as_it_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's loop around its parts (bench/suite.py); two parts that measure nothing stand in for the
    real ones, which take minutes (and a real run would overwrite bench/results/suite.json)."""
    from bench import suite

    ran: list[str] = []

    def part(name: str) -> Callable[..., dict[str, Any]]:
        def run(quick: bool) -> dict[str, Any]:
            ran.append(name)
            return {"rows": []}
        return run

    monkeypatch.setattr(suite, "PARTS", {"a": part("a"), "b": part("b")})
    with shown() as lines:
        suite.run(quick=True, only=["a", "b"])
    assert ran == ["a", "b"]
    assert lines == ["Benchmark part 1 of 2: a...", "Benchmark part 1 of 2: a... done in N s",
                     "Benchmark part 2 of 2: b...", "Benchmark part 2 of 2: b... done in N s"]


def test_a_terminal_shows_the_hubs_own_download_bars(tmp_path: Path, hub: str) -> None:
    """transformers turns the Hub's bars off with its own; the tutor turns them back on for a terminal."""
    run = on_terminal("--pack", "hub", "ask", "/tokenize Hello world", cwd=tmp_path, columns=120,
                      **from_hub(hub, tmp_path))
    assert run.code == 0, run.terminal
    assert re.search(r"tokenizer\.json: 100%\|█+\|", run.terminal), run.terminal[:3000]
    assert re.search(rf"Downloading {HUB_TOKENIZER} from the Hugging Face Hub: \[\d\d:\d\d, done\]", run.terminal)
