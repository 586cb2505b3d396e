"""What the engine counts about requests, in plain Python.

prometheus_client exposes these on `/metrics` (bot/health.py, a collector that reads them at each scrape): it
is imported only when the health server starts, so `tutor ask` and the console never load it, and each health
server has a registry of its own. The core knows nothing of the exposition format.
"""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, float("inf"))
"""Seconds to answer: a tokenizer answers in milliseconds, a first generate on the offline pack in ~20 s."""
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, float("inf"))
"""Requests per micro-batch (TUTOR_MAX_BATCH is 32 by default)."""


@dataclass
class Histogram:
    """Cumulative bucket counts (Prometheus' `le`), their sum and count."""

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = self.counts or [0] * len(self.bounds)

    def observe(self, value: float, times: int = 1) -> None:
        self.total += value * times
        self.count += times
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[i] += times

    def copy(self) -> Histogram:
        return Histogram(self.bounds, list(self.counts), self.total, self.count)


def batch_histogram(sizes: Counter[int]) -> Histogram:
    """The histogram of batch sizes from a count of each size (what a micro-batcher keeps)."""
    histogram = Histogram(BATCH_BUCKETS)
    for size, times in sorted(sizes.items()):
        histogram.observe(size, times)
    return histogram


class Metrics:
    """Requests by platform, command and outcome (`ok`, `error`, `user_error`, `cooldown`, `busy`...), and each
    command's latency. Commands are the registry's (or `unknown`: core/policy.py), so labels stay bounded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, str]] = Counter()
        self._latency: dict[str, Histogram] = {}

    def observe(self, platform: str, command: str, outcome: str, seconds: float) -> None:
        with self._lock:
            self._requests[(platform, command, outcome)] += 1
            self._latency.setdefault(command, Histogram(LATENCY_BUCKETS)).observe(seconds)

    def requests(self) -> dict[tuple[str, str, str], int]:
        with self._lock:
            return dict(self._requests)

    def latency(self) -> dict[str, Histogram]:
        with self._lock:
            return {command: histogram.copy() for command, histogram in self._latency.items()}
