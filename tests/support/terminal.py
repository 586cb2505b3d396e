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
                program: tuple[str, ...] = ("-m", "bot"), **env: str) -> Run:
    """`python -m bot ARGS` (or `python PROGRAM ARGS`) with stdin and stdout (and stderr, unless piped) on a
    terminal `columns` wide, told so both ways: the terminal's own size and COLUMNS."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "TUTOR_", "NO_COLOR",
                                                                      "FORCE_COLOR", "HF_HUB_DISABLE", "TQDM_"))}
    environment = {**base, "PYTHONPATH": str(ROOT), "TUTOR_CACHE_DIR": str(TEST_CACHE), "HF_HUB_OFFLINE": "1",
                   "TERM": "xterm-256color", "COLUMNS": str(columns), **env}
    proc = subprocess.Popen([sys.executable, *program, *args], cwd=cwd, env=environment, stdin=slave,
                            stdout=slave, stderr=slave if stderr_to_terminal else subprocess.PIPE,
                            start_new_session=True)
    os.close(slave)
    received, stderr = b"", b""
    streams = [master, *([proc.stderr.fileno()] if proc.stderr else [])]
    deadline = time.monotonic() + timeout
    try:
        while master in streams and time.monotonic() < deadline:
            ready, _, _ = select.select(streams, [], [], 0.5)
            for stream in ready:  # both at once: a full stderr pipe would stop the child writing either
                chunk = _read(stream)
                if not chunk:
                    streams.remove(stream)
                elif stream == master:
                    received += chunk
                else:
                    stderr += chunk
            if not ready and proc.poll() is not None:
                break
        if proc.stderr:
            stderr += proc.stderr.read()
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return Run(code, received.decode("utf-8", errors="replace").replace("\r\n", "\n"),
               stderr.decode("utf-8", errors="replace"))


def _read(stream: int) -> bytes:
    try:
        return os.read(stream, 65536)
    except OSError:  # the child closed the terminal (Linux raises EIO)
        return b""
