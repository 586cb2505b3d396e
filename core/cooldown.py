"""Per-user cooldown, so one learner cannot queue unbounded work for everyone else."""
from __future__ import annotations

import time
from collections.abc import Callable


class Cooldown:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last: dict[str, float] = {}

    def wait_left(self, user_id: str) -> float:
        """0 if the user may ask now (and records the request), else the seconds left."""
        now = self._clock()
        last = self._last.get(user_id)
        if last is not None and now - last < self.seconds:
            return self.seconds - (now - last)
        self._last[user_id] = now
        if len(self._last) > 10_000:  # forget old users so memory stays bounded
            self._last = {u: t for u, t in self._last.items() if now - t < self.seconds}
        return 0.0

    @staticmethod
    def message(seconds_left: float) -> str:
        return f"You're asking quickly! Try again in {max(1, round(seconds_left))} s."
