"""The console's chat history file, shared safely by every `tutor chat` running at once.

Each session remembers only the lines typed in it. Saving takes an exclusive lock, reads the file
as it is now (other sessions may have saved since this one started), appends this session's new
lines, keeps the newest `limit`, and replaces the file atomically (a temporary file, then a
rename), so two sessions never lose each other's lines and a crash never leaves half a file.
The file is plain UTF-8, one line per entry, cleaned by core/text.py; readline only sees it
through `add_history`, so GNU readline and libedit behave alike.

A damaged file (a NUL byte, which readline cannot take: a crash mid-write on some file systems, a disk
error) is set aside as `chat-history.damaged`, with one sentence in `notice`, and a new history starts.
`/forget` at the console deletes the file, the damaged copy and this session's lines (`forget`): the
lines a learner typed are theirs as much as the tutor's records are.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from core.text import clean_text

LIMIT = 1000
DAMAGED = ".damaged"
LOCK_TIMEOUT_S = 30.0
"""A session holds the lock only to merge a file of at most `LIMIT` lines; past this wait, saving gives up with
one sentence (filelock's Timeout is an OSError) rather than hang the chat's exit."""


class History:
    def __init__(self, path: Path, limit: int = LIMIT) -> None:
        self.path = Path(path)
        self.limit = limit
        self.new: list[str] = []
        """Lines typed in this session, not yet saved."""
        self.notice: str | None = None
        """One sentence when a damaged file was set aside (the chat shows it)."""

    @property
    def damaged(self) -> Path:
        return self.path.with_name(self.path.name + DAMAGED)

    def load(self) -> list[str]:
        """The saved lines, oldest first; none when the file is missing or unreadable."""
        try:
            return self._read()
        except OSError:
            return []

    def add(self, line: str) -> None:
        line = clean_text(line).text.strip()
        if line:
            self.new.append(line)

    def save(self) -> str | None:
        """Merge this session's new lines into the file. Returns why it could not (one sentence), or None."""
        if not self.new:
            return None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._locked():
                lines = (self._read() + self.new)[-self.limit:]
                self._replace(lines)
        except OSError as exc:
            return f"Chat history not saved to {self.path}: {exc.strerror or exc}."
        self.new = []
        return None

    def forget(self) -> str | None:
        """Delete the history: the file, a damaged copy set aside, and this session's lines. Returns why it
        could not (one sentence), or None."""
        self.new = []
        try:
            with self._locked():
                for path in (self.path, self.damaged):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
        except OSError as exc:
            return f"Chat history in {self.path} not deleted: {exc.strerror or exc}."
        return None

    def _read(self) -> list[str]:
        if not self.path.is_file():
            return []
        data = self.path.read_bytes()
        if b"\0" in data:
            self._set_aside()
            return []
        text = data.decode("utf-8", errors="replace")
        return [line for line in text.splitlines() if line.strip()]

    def _set_aside(self) -> None:
        os.replace(self.path, self.damaged)
        self.notice = (f"The chat history {self.path} was damaged (it holds a NUL byte); it was set aside as "
                       f"{self.damaged.name} and a new one started.")

    def _replace(self, lines: list[str]) -> None:
        handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}-", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write("".join(f"{line}\n" for line in lines))
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock on a file beside the history (the history itself is replaced, not locked), on
        every OS (filelock: flock on POSIX, msvcrt on Windows). A new FileLock per call: each holds its own
        descriptor, so two sessions, or two threads of one, exclude each other."""
        from filelock import FileLock

        with FileLock(self.path.with_name(self.path.name + ".lock"), timeout=LOCK_TIMEOUT_S):
            yield
