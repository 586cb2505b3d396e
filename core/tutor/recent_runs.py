"""The lesson runs of the last few minutes, so a lesson's later steps show the run its run step showed.

A lesson runs its model on its sentence at the run step, and again for the explain step (when the idea
reads the run) and the try step (the snippet that prints it): the same model on the same sentence, so the
same answer, computed up to three times per lesson, about a second each for the decoder lessons on the
offline pack. Kept here instead, per learner, the later steps answer at once and show that very run.

Bounded: `SIZE` runs in all (the least recently used goes first), each for `KEEP_S` at most, in memory
only, and a learner's runs go when they are forgotten (/forget), so a learner's own sentence stays at most
a quarter of an hour after its last run, and not past /forget.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from core.results import Result

SIZE = 64
KEEP_S = 15 * 60.0


class RecentRuns:
    def __init__(self, size: int = SIZE, keep_s: float = KEEP_S) -> None:
        self._size = size
        self._keep_s = keep_s
        self._runs: OrderedDict[tuple[str, str, str], tuple[float, Result]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, learner: str, lesson: str, text: str, run: Callable[[], Result], now: float) -> Result:
        """The run of `lesson` on `text` this learner saw last, if made within `keep_s` before `now` (the
        tutor's clock); else `run()` (not under the lock: a run is model work), remembered. A run that raises
        is not remembered."""
        key = (learner, lesson, text)
        with self._lock:
            found = self._runs.get(key)
            if found is not None and now - found[0] <= self._keep_s:
                self._runs.move_to_end(key)
                return found[1]
        result = run()
        with self._lock:
            self._runs[key] = (now, result)
            self._runs.move_to_end(key)
            while len(self._runs) > self._size:
                self._runs.popitem(last=False)
        return result

    def forget(self, learner: str) -> None:
        with self._lock:
            for key in [k for k in self._runs if k[0] == learner]:
                del self._runs[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._runs)
