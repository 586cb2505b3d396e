"""How `tutor`'s console commands show the core's progress (core/progress.py), always on stderr.

Where stderr is a terminal, each job is a tqdm bar that stays on screen with its final state; elsewhere
(a pipe, a log file, `docker build`) each job is a line when it starts and a line when it ends:

    De-quantising SmolLM2-135M-Instruct (first use, about 10 s)...
    De-quantising SmolLM2-135M-Instruct... done in 19.4 s

tqdm rather than rich.progress: huggingface_hub draws its download bars with tqdm, on the same stderr, and
tqdm stacks its bars one above the other (one list of bars for every tqdm class); a rich live display
would redraw over them. The libraries' own bars follow the same rule as ours (`quiet_library_bars`).
Server commands (`tutor run`, `discord`, `slack`) install nothing here: their progress records are log
lines like any other, with a time stamp (bot/ops/cli.py).
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from typing import Any, TextIO

from core.progress import Event, log

TICK_S = 0.5
"""How often a bar's clock is redrawn while a long step gives no news (de-quantising's weights: about 10 s)."""


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def quiet_library_bars(stderr: TextIO) -> None:
    """The libraries' own bars (the Hub's downloads, transformers' GGUF tensor bar) only where stderr is a
    terminal: elsewhere their carriage-return redraws would fill a log with half lines. Set as the
    environment variables that huggingface_hub and tqdm read when imported (call this first), and only
    where the user has not chosen: HF_HUB_DISABLE_PROGRESS_BARS, set either way, is theirs to keep."""
    if is_terminal(stderr) or "HF_HUB_DISABLE_PROGRESS_BARS" in os.environ:
        return
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ.setdefault("TQDM_DISABLE", "1")  # transformers' GGUF loader uses tqdm itself, not the Hub's switch


def install(stream: TextIO | None = None, *, verbose: bool = False) -> ProgressHandler:
    """Show the core's progress on `stream` (stderr): bars on a terminal, lines elsewhere; `verbose` adds
    a line per step. Once per process: a second call returns the handler already there."""
    stream = stream or sys.stderr
    for handler in log.handlers:
        if isinstance(handler, ProgressHandler):
            return handler
    handler = ProgressHandler(stream, bars=is_terminal(stream))
    if verbose:
        handler.setLevel(logging.DEBUG)
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if handler.bars or verbose else logging.INFO)
    log.propagate = False  # a console command's root logger shows warnings only: these lines are the progress
    return handler


def echo(line: str, stream: TextIO | None = None) -> None:
    """Print a line on stdout without breaking a bar drawn on the same terminal (tqdm lifts its bars and
    draws them again below the line)."""
    stream = stream or sys.stdout
    if "tqdm" in sys.modules:
        from tqdm import tqdm

        tqdm.write(line, file=stream)
    else:
        print(line, file=stream)
    stream.flush()


class ProgressHandler(logging.Handler):
    """Renders `tutor.progress` records: a record without an `Event` is written as its message."""

    def __init__(self, stream: TextIO, *, bars: bool) -> None:
        super().__init__(logging.DEBUG if bars else logging.INFO)
        self.stream, self.bars = stream, bars
        self.shown: dict[int, Any] = {}
        """Job id -> its tqdm bar, while the job runs."""
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            event = getattr(record, "progress", None)
            if self.bars and isinstance(event, Event):
                self._draw(event)
            else:
                self.stream.write(record.getMessage() + "\n")
                self.stream.flush()
        except Exception:  # noqa: BLE001 - logging's own way: report on stderr, never break the job
            self.handleError(record)

    def _draw(self, event: Event) -> None:
        from tqdm import tqdm

        if event.phase == "start":
            bar = tqdm(total=event.steps, desc=event.title, file=self.stream, leave=True, disable=False,
                       dynamic_ncols=True, bar_format=_FORMAT if event.steps else _OPEN_FORMAT)
            bar.set_postfix_str(event.note)  # until the first step: why it runs, and about how long
            self.shown[event.job] = bar
            self._tick()
            return
        bar = self.shown.get(event.job)
        if bar is None:
            return
        bar.n = event.done
        if event.phase == "step":
            bar.set_postfix_str(event.step, refresh=False)
            bar.refresh()
            return
        bar.set_postfix_str("done" if event.phase == "end" else "failed", refresh=False)  # the clock says when
        bar.close()
        del self.shown[event.job]

    def _tick(self) -> None:
        """Redraw the running bars' clocks now and then, so a long step still looks alive."""
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._ticking, name="progress-clock", daemon=True)
            self._ticker.start()

    def _ticking(self) -> None:
        while not self._stop.wait(TICK_S):
            with self.lock or contextlib.nullcontext():
                for bar in list(self.shown.values()):
                    bar.refresh()

    def close(self) -> None:
        self._stop.set()
        super().close()


_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"
_OPEN_FORMAT = "{desc}: [{elapsed}{postfix}]"
