"""Progress of the long first-time jobs (de-quantising, building the tiny pack, downloading), reported, never printed.

The core knows nothing of terminals, so a job reports itself as log records on the `tutor.progress` logger:
one at INFO when it starts ("De-quantising SmolLM2-135M-Instruct (first use, about 10 s)..."), one at INFO
when it ends ("... done in 19.4 s", or "... failed after 3.1 s"), and one at DEBUG per step. Each record
carries its `Event` as `record.progress`. Whoever runs the core decides what they become: a server's log
lines, as they are (Docker, systemd); `tutor`'s console commands, a progress bar when stderr is a terminal
and the start and end lines otherwise (bot/console/progress.py). Nothing here touches stdout or stderr.
"""
from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger("tutor.progress")

Phase = Literal["start", "step", "end", "fail"]
_ids = itertools.count(1)


@dataclass(frozen=True)
class Event:
    """One moment of a job, for a renderer: which job (`job`, unique in this process), what it is, how far."""

    phase: Phase
    job: int
    title: str
    """What is being done, as a learner reads it: `De-quantising SmolLM2-135M-Instruct`."""
    note: str = ""
    """Why and how long, in brackets after the title at its start: `first use, about 10 s`."""
    steps: int | None = None
    """How many steps the job has, when known (a bar's total)."""
    done: int = 0
    """Steps finished so far."""
    step: str = ""
    """The step now running (phase `step`)."""
    seconds: float = 0.0
    """Time since the job started."""

    @property
    def line(self) -> str:
        """The event as one plain line, the way logs and pipes show it."""
        if self.phase == "start":
            return f"{self.title} ({self.note})..." if self.note else f"{self.title}..."
        if self.phase == "step":
            count = f" ({self.done + 1} of {self.steps})" if self.steps else ""
            return f"{self.title}: {self.step}{count}"
        word = "done in" if self.phase == "end" else "failed after"
        return f"{self.title}... {word} {self.seconds:.1f} s"


class Job:
    """A running job: `step(what)` says that the next step has begun (the one before it is done)."""

    def __init__(self, title: str, note: str, steps: int | None) -> None:
        self.id, self.title, self.note, self.steps = next(_ids), title, note, steps
        self.started = time.perf_counter()
        self.done = -1
        """Steps finished; -1 until the first step begins."""

    def step(self, what: str) -> None:
        self.done += 1
        self.report("step", step=what)

    def report(self, phase: Phase, step: str = "") -> None:
        """One record on `tutor.progress`: INFO for a start or an end, DEBUG for a step."""
        finished = phase in ("end", "fail")
        done = (self.steps or max(self.done, 0)) if phase == "end" else max(self.done, 0)
        event = Event(phase, self.id, self.title, self.note, self.steps, done, step,
                      time.perf_counter() - self.started)
        log.log(logging.INFO if phase == "start" or finished else logging.DEBUG, "%s", event.line,
                extra={"progress": event})


@contextmanager
def job(title: str, *, note: str = "", steps: int | None = None) -> Iterator[Job]:
    """Report a long job from its start to its end (or failure) on the `tutor.progress` logger."""
    running = Job(title, note, steps)
    running.report("start")
    try:
        yield running
    except BaseException:
        running.report("fail")
        raise
    running.report("end")
