"""A small per-thread LRU cache for objects that are costly to build and not thread-safe
(matplotlib figures). The engine owns one and hands it to the renderers; nothing is global."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")

FIGURES_PER_THREAD = 4
"""Heatmap figures worth keeping per worker thread, one per token count (a few MB each)."""


class PerThreadCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self._local = threading.local()

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        items: OrderedDict[Hashable, T] | None = getattr(self._local, "items", None)
        if items is None:
            items = self._local.items = OrderedDict()
        if key in items:
            items.move_to_end(key)
            return items[key]
        value = items[key] = build()
        while len(items) > self.size:
            items.popitem(last=False)
        return value
