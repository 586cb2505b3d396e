"""Request metrics the engine keeps, rendered in Prometheus' text format for `/metrics`."""
from __future__ import annotations

import threading
from collections import Counter

BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, float("inf"))


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str, str]] = Counter()
        self._bucket_counts = [0] * len(BUCKETS)
        self._latency_sum = 0.0
        self._latency_count = 0

    def observe(self, platform: str, command: str, outcome: str, seconds: float) -> None:
        with self._lock:
            self.requests[(platform, command, outcome)] += 1
            self._latency_sum += seconds
            self._latency_count += 1
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    self._bucket_counts[i] += 1

    def render(self, *, queue_depth: int, model_loads: int, models_loaded: int) -> str:
        """Prometheus text exposition (version 0.0.4)."""
        with self._lock:
            lines = ["# HELP tutor_requests_total Requests answered, by platform, command and outcome.",
                     "# TYPE tutor_requests_total counter"]
            lines += [f'tutor_requests_total{{platform="{p}",command="{c}",outcome="{o}"}} {n}'
                      for (p, c, o), n in sorted(self.requests.items())]
            lines += ["# HELP tutor_request_seconds Time to answer a request.",
                      "# TYPE tutor_request_seconds histogram"]
            lines += [f'tutor_request_seconds_bucket{{le="{"+Inf" if b == float("inf") else b}"}} {n}'
                      for b, n in zip(BUCKETS, self._bucket_counts, strict=False)]
            lines += [f"tutor_request_seconds_sum {self._latency_sum:.6f}",
                      f"tutor_request_seconds_count {self._latency_count}"]
        lines += ["# HELP tutor_queue_depth Requests waiting or running now.", "# TYPE tutor_queue_depth gauge",
                  f"tutor_queue_depth {queue_depth}",
                  "# HELP tutor_model_loads_total Models loaded since start.", "# TYPE tutor_model_loads_total counter",
                  f"tutor_model_loads_total {model_loads}",
                  "# HELP tutor_models_loaded Models in memory now.", "# TYPE tutor_models_loaded gauge",
                  f"tutor_models_loaded {models_loaded}"]
        return "\n".join(lines) + "\n"
