"""`tutor chat` history: sessions at once keep each other's lines, SIGTERM saves, a read-only cache is one line.

readline's history works with `input()` only on a terminal, so the end-to-end tests drive real
`tutor chat` processes on pseudo-terminals (the `pty` module); bot/console/history.py, the merge itself,
is also tested directly, with many writers at once.
"""
from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.console.history import History
from tests.bot.ops.test_ops_failures import environment, read_only  # noqa: F401 - read_only is a fixture
from tests.support.paths import ROOT

PROMPT = b"tutor> "


class PtyChat:
    """A `tutor chat` process whose stdin, stdout and stderr are one pseudo-terminal."""

    def __init__(self, cache: Path, cwd: Path, *, pack: str = "tiny", prefix: tuple[str, ...] = ()) -> None:
        master, slave = pty.openpty()
        self.proc = subprocess.Popen([*prefix, sys.executable, "-m", "bot", "--pack", pack, "chat"], cwd=cwd,
                                     stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                                     env=environment(TUTOR_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT)))
        os.close(slave)
        self.master, self.output = master, b""

    def read(self, until: bytes, count: int, timeout: float = 120.0) -> None:
        """Read until `until` has appeared `count` times in all output so far."""
        deadline = time.monotonic() + timeout
        while self.output.count(until) < count:
            left = deadline - time.monotonic()
            assert left > 0, f"waited for {count} x {until!r}; got:\n{self.text}"
            ready, _, _ = select.select([self.master], [], [], min(left, 1.0))
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the child closed the terminal (Linux raises EIO)
                    chunk = b""
                if not chunk:
                    assert self.output.count(until) >= count, f"ended before {until!r}:\n{self.text}"
                    return
                self.output += chunk

    def type(self, line: str) -> None:
        """Type a line and wait for the next prompt."""
        prompts = self.output.count(PROMPT)
        os.write(self.master, line.encode() + b"\r")
        if line not in ("/quit",):
            self.read(PROMPT, prompts + 1)

    def wait(self, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                with contextlib.suppress(OSError):
                    self.output += os.read(self.master, 4096)
        code = self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        os.close(self.master)
        return code

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def chats():
    started: list[PtyChat] = []
    yield started
    for chat in started:
        chat.kill()


def saved(cache: Path) -> list[str]:
    return (cache / "chat-history").read_text(encoding="utf-8").splitlines()


# ----- end to end -----
def test_two_chat_sessions_at_once_keep_both_sessions_lines(tmp_path: Path, chats: list[PtyChat]) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "chat-history").write_text("/help earlier\n")
    first = PtyChat(cache, tmp_path)
    second = PtyChat(cache, tmp_path)
    chats += [first, second]
    first.read(PROMPT, 1)
    second.read(PROMPT, 1)
    first.type("/help")
    second.type("/models")
    first.type("/help tokenize")
    second.type("/quit")
    assert second.wait() == 0, second.text
    first.type("/quit")
    assert first.wait() == 0, first.text
    assert saved(cache) == ["/help earlier", "/models", "/help", "/help tokenize"]


def test_history_is_offered_to_the_next_session(tmp_path: Path, chats: list[PtyChat]) -> None:
    """The up arrow in a new session brings back the last session's line."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "chat-history").write_text("/help generate\n")
    chat = PtyChat(cache, tmp_path)
    chats.append(chat)
    chat.read(PROMPT, 1)
    os.write(chat.master, b"\x1b[A\r")  # up arrow, Enter
    chat.read(b"max_new_tokens", 1)
    chat.type("/quit")
    assert chat.wait() == 0
    assert saved(cache) == ["/help generate", "/help generate"]


def test_sigterm_saves_the_history_and_exits_143(tmp_path: Path, chats: list[PtyChat]) -> None:
    cache = tmp_path / "cache"
    chat = PtyChat(cache, tmp_path)
    chats.append(chat)
    chat.read(PROMPT, 1)
    chat.type("/help qa")
    chat.proc.send_signal(signal.SIGTERM)
    assert chat.wait() == 128 + signal.SIGTERM, chat.text
    assert saved(cache) == ["/help qa"]
    assert "Traceback" not in chat.text


STOP_ON_ANOTHER_THREAD = """
import os, select, signal, threading, time
from bot.console.signals import StopSignals, Stopped
read_fd, _ = os.pipe()
ready = threading.Event()

def worker():  # the kernel may hand a process's SIGTERM to any thread: torch's, the engine's workers
    ready.wait()
    time.sleep(0.3)
    signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
    time.sleep(60)

threading.Thread(target=worker, daemon=True).start()
try:
    with StopSignals():
        ready.set()
        select.select([read_fd], [], [])  # what readline does while it waits for a key
    print("not stopped")
except Stopped as stop:
    print("stopped", stop.signum)
"""


def test_a_stop_signal_taken_by_another_thread_still_ends_the_prompt() -> None:
    """Why chat's SIGTERM once hung: the main thread slept in select() while a worker thread took the
    signal, so Python never ran the handler. The watcher sends it on to the main thread."""
    done = subprocess.run([sys.executable, "-c", STOP_ON_ANOTHER_THREAD], capture_output=True, text=True,
                          timeout=30, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert done.stdout.split() == ["stopped", str(int(signal.SIGTERM))], done.stderr


def test_a_read_only_cache_makes_quit_one_line_not_a_traceback(tmp_path: Path, chats: list[PtyChat],
                                                               read_only) -> None:  # noqa: F811
    folder, prefix = read_only
    chat = PtyChat(folder, tmp_path, pack="hub", prefix=prefix)  # the hub pack writes nothing in the cache
    chats.append(chat)
    chat.read(PROMPT, 1)
    chat.type("/help")
    chat.type("/quit")
    assert chat.wait() == 0, chat.text
    assert "Traceback" not in chat.text
    assert f"Chat history not saved to {folder / 'chat-history'}: " in chat.text


# ----- the merge itself -----
def test_each_session_appends_only_its_own_new_lines(tmp_path: Path) -> None:
    path = tmp_path / "chat-history"
    first, second = History(path), History(path)
    assert first.load() == second.load() == []
    first.add("/help")
    second.add("/models")
    assert second.save() is None and first.save() is None
    first.add("/tokenize again")
    assert first.save() is None
    assert History(path).load() == ["/models", "/help", "/tokenize again"]


def test_many_writers_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "chat-history"
    barrier = threading.Barrier(8)

    def session(n: int) -> None:
        history = History(path)
        for i in range(25):
            history.add(f"/help {n}-{i}")
        barrier.wait()
        assert history.save() is None

    threads = [threading.Thread(target=session, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = History(path).load()
    assert sorted(lines) == sorted(f"/help {n}-{i}" for n in range(8) for i in range(25))


def test_the_file_keeps_the_newest_lines_up_to_the_limit(tmp_path: Path) -> None:
    history = History(tmp_path / "chat-history", limit=5)
    for i in range(8):
        history.add(f"line {i}")
    history.save()
    assert History(tmp_path / "chat-history").load() == [f"line {i}" for i in range(3, 8)]


def test_text_that_is_not_valid_unicode_is_saved_cleaned(tmp_path: Path) -> None:
    history = History(tmp_path / "chat-history")
    history.add("/tokenize caf\udce9 \x00ok")
    assert history.save() is None
    assert (tmp_path / "chat-history").read_bytes().decode("utf-8") == "/tokenize caf\ufffd ok\n"


def test_an_unwritable_place_is_one_sentence_not_an_exception(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    history = History(tmp_path / "file" / "chat-history")
    history.add("/help")
    problem = history.save()
    assert problem is not None and problem.startswith("Chat history not saved to ") and problem.endswith(".")
    assert history.load() == []


# ----- damage and /forget -----
def test_a_damaged_history_is_set_aside_with_one_line_and_the_chat_starts(tmp_path: Path,
                                                                          chats: list[PtyChat]) -> None:
    """A NUL byte (a crash mid-write on some file systems, a disk error) once stopped `tutor chat` with
    "Internal error: ValueError: embedded null character": readline takes no NUL."""
    cache = tmp_path / "cache"
    cache.mkdir()
    damaged = b"/help earlier\n\x00\x00\x00/tokenize half\x00 written\n"
    (cache / "chat-history").write_bytes(damaged)
    chat = PtyChat(cache, tmp_path)
    chats.append(chat)
    chat.read(PROMPT, 1)
    chat.type("/help")
    chat.type("/quit")
    assert chat.wait() == 0, chat.text
    assert "Internal error" not in chat.text and "Traceback" not in chat.text
    told = [line for line in chat.text.splitlines() if "chat history" in line.lower()]
    assert len(told) == 1 and "set aside" in told[0] and "chat-history.damaged" in told[0], chat.text
    assert (cache / "chat-history.damaged").read_bytes() == damaged, "kept as it was, for whoever wants it"
    assert saved(cache) == ["/help"]


def test_a_history_damaged_while_the_chat_runs_is_set_aside_when_it_saves(tmp_path: Path) -> None:
    path = tmp_path / "chat-history"
    history = History(path)
    assert history.load() == []
    path.write_bytes(b"/help\x00\n")
    history.add("/models")
    assert history.save() is None
    assert History(path).load() == ["/models"] and (tmp_path / "chat-history.damaged").exists()


def test_forget_in_the_console_deletes_its_chat_history(tmp_path: Path, chats: list[PtyChat]) -> None:
    """/forget deletes what the tutor keeps about the learner; at the console that includes every line they
    typed, in the file (and any damaged copy set aside), in this session's memory, and behind the up arrow."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "chat-history").write_text("/help my earlier secret\n")
    (cache / "chat-history.damaged").write_bytes(b"/help an older secret\x00\n")
    chat = PtyChat(cache, tmp_path)
    chats.append(chat)
    chat.read(PROMPT, 1)
    chat.type("/help tokenize")
    chat.type("/forget")
    chat.type("y")
    assert "deleted" in chat.text.rsplit("tutor> ", 2)[-2], chat.text
    assert not (cache / "chat-history").exists() and not (cache / "chat-history.damaged").exists()
    before = len(chat.output)
    os.write(chat.master, b"\x1b[A\r")  # up arrow, Enter: readline's memory holds nothing to bring back
    chat.read(PROMPT, chat.output.count(PROMPT) + 1)
    assert b"tokenize" not in chat.output[before:] and b"y" not in chat.output[before:].replace(b"tutor> ", b"")
    chat.type("/help models")
    chat.type("/quit")
    assert chat.wait() == 0, chat.text
    assert saved(cache) == ["/help models"], "only what was typed after /forget"


def test_a_history_locked_too_long_by_another_session_is_one_sentence_not_a_hang(tmp_path: Path,
                                                                                monkeypatch) -> None:
    """The lock is filelock's (flock here, msvcrt on Windows, where raw fcntl had no lock at all): a session
    that holds it past LOCK_TIMEOUT_S makes this save give up with one sentence, and nothing is lost from the
    file; the next save, once the lock is free, keeps this session's lines."""
    from filelock import FileLock

    import bot.console.history

    path = tmp_path / "chat-history"
    path.write_text("/help\n")
    monkeypatch.setattr(bot.console.history, "LOCK_TIMEOUT_S", 0.05)
    history = History(path)
    history.add("/models")
    with FileLock(tmp_path / "chat-history.lock"):
        problem = history.save()
    assert problem is not None and problem.startswith(f"Chat history not saved to {path}: ") and problem.endswith(".")
    assert path.read_text() == "/help\n"
    assert history.save() is None and History(path).load() == ["/help", "/models"]
