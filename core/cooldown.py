"""Per-learner cooldown, so one learner cannot queue unbounded work for everyone else.

One budget per learner, whatever command spends it: the policy charges a command that declares a model
before it runs, and a personal command (the tutor's quizzes, lessons, explore) when it loads a model
to answer, through the `Budget` it is handed (`ChargedModels` wraps the model store its handler sees).
So a quiz served from the ready pool is free, and a quiz computed now, an "Open as" or a lesson's run
costs what a typed `/attention` costs.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from core.models import Loaded
    from core.packs import ModelSpec

FORGET_PAST = 10_000
"""Learners remembered before the oldest, past their cooldown, are forgotten (memory stays bounded)."""


class Cooldown:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()
        """Handlers spend the budget from worker threads, the policy from the event loop."""

    def wait_left(self, user_id: str) -> float:
        """0 if the user may ask now (and records the request), else the seconds left."""
        with self._lock:
            now = self._clock()
            last = self._last.get(user_id)
            if last is not None and now - last < self.seconds:
                return self.seconds - (now - last)
            self._last[user_id] = now
            if len(self._last) > FORGET_PAST:  # forget old users so memory stays bounded
                self._last = {u: t for u, t in self._last.items() if now - t < self.seconds}
            return 0.0

    @staticmethod
    def message(seconds_left: float) -> str:
        return f"You're asking quickly! Try again in {max(1, round(seconds_left))} s."


class OverBudget(Exception):
    """A model run the learner's budget does not allow yet. Not a `UserError`, so no handler's
    `except UserError` can swallow it on its way to the policy."""

    def __init__(self, seconds_left: float) -> None:
        super().__init__(f"over budget for {seconds_left:.1f} s")
        self.seconds_left = seconds_left


class Budget:
    """One request's charge on its learner's cooldown, spent by its first model run (and only once)."""

    def __init__(self, cooldown: Cooldown, user_id: str) -> None:
        self._cooldown = cooldown
        self._user = user_id
        self._spent = False

    def spend(self) -> None:
        """Charge the learner, once per request; `OverBudget` when their cooldown is still running."""
        if self._spent:
            return
        wait = self._cooldown.wait_left(self._user)
        if wait > 0:
            raise OverBudget(wait)
        self._spent = True


class ChargedModels:
    """A model store that charges a budget before it hands out a model: every model run goes through
    `get` (core/tasks/common.py, the tutor's question kinds), so no path can run one for free."""

    def __init__(self, models: Any, budget: Budget) -> None:
        self._models = models
        self._budget = budget

    def get(self, command: str, spec: ModelSpec) -> Loaded:
        self._budget.spend()
        return self._models.get(command, spec)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._models, name)
