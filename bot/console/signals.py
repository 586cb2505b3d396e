"""Stopping `tutor chat` cleanly on SIGTERM or SIGHUP, wherever the signal lands."""
from __future__ import annotations

import os
import signal
import threading

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
