"""`tutor` on a real pseudo-terminal of a given width, as a learner's terminal runs it (the `pty` module)."""
from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import ROOT, TEST_CACHE

ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
"""A CSI escape sequence: colours, bold, cursor moves."""


@dataclass
class Run:
    code: int
    terminal: str
    """Everything the terminal received (stdout, and stderr unless it was piped), newlines as \\n."""
    stderr: str
    """stderr, when piped (`stderr_to_terminal=False`)."""

    @property
    def plain(self) -> str:
        return ESCAPE.sub("", self.terminal)


def on_terminal(*args: str, cwd: Path, columns: int = 80, stderr_to_terminal: bool = True, timeout: float = 300,
                **env: str) -> Run:
    """`python -m bot ARGS` with stdin and stdout (and stderr, unless piped) on a terminal `columns` wide,
    told so both ways: the terminal's own size and COLUMNS."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "TUTOR_", "NO_COLOR",
                                                                      "FORCE_COLOR", "HF_HUB_DISABLE", "TQDM_"))}
    environment = {**base, "PYTHONPATH": str(ROOT), "TUTOR_CACHE_DIR": str(TEST_CACHE), "HF_HUB_OFFLINE": "1",
                   "TERM": "xterm-256color", "COLUMNS": str(columns), **env}
    proc = subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=cwd, env=environment, stdin=slave,
                            stdout=slave, stderr=slave if stderr_to_terminal else subprocess.PIPE,
                            start_new_session=True)
    os.close(slave)
    received = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal (Linux raises EIO)
                    chunk = b""
                if not chunk:
                    break
                received += chunk
            elif proc.poll() is not None:
                break
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return Run(code, received.decode("utf-8", errors="replace").replace("\r\n", "\n"), stderr)
