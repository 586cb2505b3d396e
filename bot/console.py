"""The console adapter: `tutor ask`, `tutor chat` and `tutor tour`.

Images are written to an output folder and their paths printed, one per line.
"""
from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import threading
from pathlib import Path
from typing import TextIO

from bot.history import History
from core.engine import Engine
from core.results import Result
from core.service import Outcome, answer

TOUR = (
    "/tokenize I'm learning transformers!",
    "/attention The cat sat on the mat because it was tired. layer=1 head=all",
    "/zeroshot I love pizza with extra cheese | food, sports, politics",
    "/generate The best way to learn a new language is max_new_tokens=25",
)

_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)


def render(result: Result, out_dir: Path, *, color: bool = False) -> str:
    """The result as terminal text; images saved under `out_dir`, their paths on the last lines."""
    text = _text(result, color=color)
    paths = save_images(result, out_dir)
    return text + ("\n\nImages:\n" + "\n".join(str(p) for p in paths) if paths else "")


def _text(result: Result, *, color: bool) -> str:
    return _BOLD.sub(lambda m: f"\033[1m{m.group(1)}\033[0m" if color else m.group(1), result.as_text())


def out_dir_problem(out_dir: Path) -> str | None:
    """Why `--out` cannot hold pictures (a file where a folder should be), before any work is done."""
    for folder in (out_dir.absolute(), *out_dir.absolute().parents):
        if folder.exists():
            if folder.is_dir():
                return None
            what = "is a file" if folder == out_dir.absolute() else f"lies inside a file ({folder})"
            return f"--out {out_dir} {what}, not a folder: choose a folder for the pictures, e.g. --out tutor-out."
    return None


def save_images(result: Result, out_dir: Path) -> list[Path]:
    if not result.images:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for image in result.images:
        path = _free_name(out_dir / image.filename)
        path.write_bytes(image.png)
        paths.append(path.resolve())
    return paths


def _free_name(path: Path) -> Path:
    """Never overwrite an earlier answer's picture: add -2, -3... to the name."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


async def ask(engine: Engine, line: str, out_dir: Path, stream: TextIO = sys.stdout) -> Outcome:
    outcome = await answer(engine, platform="console", user_id="console", line=line)
    errors = sys.stderr if stream is sys.stdout else stream
    if outcome.result is None:
        print(f"Error: {outcome.error}", file=errors)
        return outcome
    try:
        print(render(outcome.result, out_dir, color=stream.isatty()), file=stream)
    except OSError as exc:  # --out cannot be written (read-only, full, a file): the answer, then one line
        print(_text(outcome.result, color=stream.isatty()), file=stream)
        message = (f"The picture could not be saved in --out {out_dir}: {exc.strerror or exc}. "
                   "Choose a folder you can write to with --out.")
        print(f"Error: {message}", file=errors)
        return Outcome(None, message, user_error=True)
    return outcome


async def tour(engine: Engine, out_dir: Path, stream: TextIO = sys.stdout) -> bool:
    """A short guided tour: a few commands, each answered in full."""
    ok = True
    for line in TOUR:
        print(f"\n{'=' * 72}\n>>> {line}\n{'=' * 72}", file=stream)
        ok = (await ask(engine, line, out_dir, stream)).ok and ok
    print("\nNext: `tutor chat` to ask your own questions, or `tutor ask \"/help\"`.", file=stream)
    return ok


QUIT = ("/quit", "/exit", "quit", "exit")
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Stopped(Exception):
    """SIGTERM (or SIGHUP: the terminal closed) during `tutor chat`: leave as /quit does, history saved."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class StopSignals:
    """While in effect, SIGTERM and SIGHUP raise `Stopped` in the main thread, once.

    Python runs a signal's handler only when the main thread is between two bytecodes, and `input()`
    waits inside GNU readline's select(): a signal that lands just before select() starts does not
    interrupt it, and the process would wait for the next keystroke. So a watcher thread hears each
    signal through `signal.set_wakeup_fd` and sends it again to the main thread until the handler
    has run."""

    RESEND_S = 0.2

    def __enter__(self) -> StopSignals:
        self.stopping = threading.Event()
        self._previous: dict[int, object] = {}
        self._pipe: tuple[int, int] | None = None
        if threading.current_thread() is not threading.main_thread():
            return self  # only the main thread may set handlers (tests that call chat() in a thread)
        self._previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}
        if hasattr(signal, "pthread_kill"):
            read_fd, write_fd = os.pipe()
            os.set_blocking(write_fd, False)
            self._pipe = (read_fd, write_fd)
            self._previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
            threading.Thread(target=self._watch, args=(read_fd, threading.main_thread().ident), daemon=True,
                             name="tutor-stop-signals").start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        if self._pipe is not None:
            signal.set_wakeup_fd(self._previous_fd)
            os.close(self._pipe[1])  # the watcher reads the end of the pipe and closes its side
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _handle(self, signum: int, _frame: object) -> None:
        if not self.stopping.is_set():
            self.stopping.set()
            raise Stopped(signum)

    def _watch(self, read_fd: int, main: int | None) -> None:
        try:
            while data := os.read(read_fd, 64):
                for signum in (n for n in data if n in STOP_SIGNALS):
                    while not self.stopping.wait(self.RESEND_S) and main is not None:
                        signal.pthread_kill(main, signum)
        finally:
            os.close(read_fd)


def chat(engine: Engine, out_dir: Path) -> int:
    """A prompt loop with line editing and history (up arrow), until `/quit`, Ctrl-D or SIGTERM.

    Returns the exit code: 0, or 128 + the signal's number after SIGTERM/SIGHUP. The lines typed at
    a terminal are merged into the shared history file on the way out, whichever way that is."""
    history = History(Path(engine.settings.cache_dir) / "chat-history")
    interactive = sys.stdin.isatty()
    if interactive:
        _load_readline(history.load())
    print("Transformers Tutor. Type /help for the commands, /quit to leave.")
    loop = asyncio.new_event_loop()
    code = 0
    try:
        with StopSignals():
            _prompt_loop(engine, out_dir, loop, history if interactive else None)
    except Stopped as stop:
        print()
        code = 128 + stop.signum
    finally:
        loop.close()
        problem = history.save()
        if problem:
            print(problem, file=sys.stderr)
    return code


def _prompt_loop(engine: Engine, out_dir: Path, loop: asyncio.AbstractEventLoop, history: History | None) -> None:
    while True:
        try:
            line = input("tutor> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return
        if line in QUIT:
            return
        if history is not None:
            history.add(line)
        if line:
            loop.run_until_complete(ask(engine, line, out_dir))


def _load_readline(lines: list[str]) -> None:
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        return
    readline.clear_history()
    for line in lines:
        readline.add_history(line)
