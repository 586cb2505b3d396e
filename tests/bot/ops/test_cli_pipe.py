"""`tutor ... | head -1`: a reader that closes the pipe early ends the command quietly, as it ends a Unix tool."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.ops.cli import EXIT_PIPE
from tests.support.paths import ROOT, TEST_CACHE

NOISE = ("Error", "Broken pipe", "Traceback", "Exception ignored")


def _closed_reader(*args: str, cwd, read_first_line: bool = False) -> tuple[int, str]:
    """`python -m bot ARGS` with stdout a pipe whose reader goes away: at once (deterministic: the CLI has not
    written yet, so every write meets a closed pipe), or after the first line (`| head -1`)."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("DISCORD_", "SLACK_", "TUTOR_")) or k == "TUTOR_TORCH_THREADS"}
    environment = {**base, "PYTHONPATH": str(ROOT), "TUTOR_CACHE_DIR": str(TEST_CACHE), "HF_HUB_OFFLINE": "1"}
    with subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=cwd, env=environment, stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        if read_first_line:
            assert proc.stdout.readline()
        proc.stdout.close()
        _, stderr = proc.communicate("/help\n/quit\n", timeout=300)
    return proc.returncode, stderr


@pytest.mark.parametrize("args", [("--pack", "tiny", "ask", "/help"), ("--version",), ("slack", "manifest")],
                         ids=["ask", "version", "slack-manifest"])
def test_a_closed_pipe_ends_the_command_quietly_with_141(args, tmp_path):
    code, stderr = _closed_reader(*args, cwd=tmp_path)
    assert not any(word in stderr for word in NOISE), stderr
    assert code == EXIT_PIPE == 141


def test_head_1_reads_the_first_line_and_the_rest_stops_quietly(tmp_path):
    code, stderr = _closed_reader("--pack", "tiny", "ask", "/help", cwd=tmp_path, read_first_line=True)
    assert not any(word in stderr for word in NOISE), stderr
    assert code in (0, EXIT_PIPE)  # 0 when the whole answer was in the pipe before the reader left
