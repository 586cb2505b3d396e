"""Dynamic micro-batching: concurrent requests for the same command share one forward pass.

A lone request runs at once, with no wait. Requests that arrive while a batch is running queue
up; when the worker is free, the oldest waiting request and the ones closest to it in length
(up to a batch size and a padded-token budget) run together as the next batch. Each caller gets
exactly its own answer; an input that fails fails alone.

Where the batch runs is the batcher's `execute` step: a worker thread here (the local backend), a Ray
Serve replica for `core.backends.ray_serve.RemoteBatcher`, which may keep one batch in flight per replica.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from core.errors import UserError

log = logging.getLogger("tutor.batching")

BatchFn = Callable[[Sequence[dict[str, Any]]], list[Any]]
"""Runs in a worker thread: one result (or exception instance) per input, in order."""


def estimate_tokens(args: dict[str, Any]) -> int:
    """A cheap length estimate on the event loop (about 4 characters a token, plus specials)."""
    return sum(len(v) for v in args.values() if isinstance(v, str)) // 4 + 2


@dataclass
class _Item:
    args: dict[str, Any]
    future: asyncio.Future
    tokens: int = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = estimate_tokens(self.args)


class MicroBatcher:
    def __init__(self, run_batch: BatchFn | None, pool: Executor | None, *, max_batch: int, max_tokens: int,
                 wait_s: float, in_flight: int = 1) -> None:
        self._run_batch = run_batch
        self._pool = pool
        self.max_batch, self.max_tokens, self.wait_s = max_batch, max_tokens, wait_s
        self.in_flight = max(1, in_flight)
        """How many batches may run at once (one per worker that can take a batch)."""
        self._pending: list[_Item] = []
        self._drainer: asyncio.Task | None = None
        self._closed = False
        self.batch_sizes: deque[int] = deque(maxlen=1000)
        """The sizes of the latest batches (bounded: a bot runs for weeks)."""
        self.size_counts: Counter[int] = Counter()
        """How many batches of each size since start (at most max_batch keys): /metrics' histogram."""

    async def submit(self, args: dict[str, Any]) -> Any:
        if self._closed:
            raise UserError("The tutor is shutting down; please ask again in a moment.")
        loop = asyncio.get_running_loop()
        item = _Item(args, loop.create_future())
        self._pending.append(item)
        if self._drainer is None or self._drainer.done() or self._drainer.get_loop() is not loop:
            self._drainer = loop.create_task(self._drain())
        return await item.future

    def close(self) -> None:
        """Fail every waiting request with a clear message, so no caller waits forever."""
        self._closed = True
        for item in self._pending:
            if not item.future.done():
                # RuntimeError: its event loop has already closed, so nobody is waiting
                with contextlib.suppress(RuntimeError):
                    item.future.set_exception(UserError("The tutor is shutting down; please ask again in a moment."))
        self._pending.clear()

    async def _drain(self) -> None:
        first = True
        running: set[asyncio.Task] = set()
        while self._pending or running:
            if not self._pending or len(running) >= self.in_flight:
                _, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                continue
            if not first and self.wait_s > 0 and len(self._pending) < self.max_batch:
                await self._let_arrive()
            first = False
            share = -(-len(self._pending) // (self.in_flight - len(running)))  # a crowd split over free workers
            running.add(asyncio.create_task(self._run(self._take(min(self.max_batch, share)))))

    async def _let_arrive(self) -> None:
        """Under a crowd, let the requests already on their way join the next batch: turns of the event loop
        while each brings more of them, at most `wait_s`; the batch closes on the first turn that brings
        none (a blind `wait_s` sleep made every later batch of a crowd wait for nobody)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        while len(self._pending) < self.max_batch and loop.time() < deadline:
            before = len(self._pending)
            await asyncio.sleep(0)
            if len(self._pending) == before:
                return

    def _take(self, limit: int) -> list[_Item]:
        chosen = set(pick_batch([i.tokens for i in self._pending], limit, self.max_tokens))
        batch = [item for n, item in enumerate(self._pending) if n in chosen]
        self._pending = [item for n, item in enumerate(self._pending) if n not in chosen]
        return batch

    async def execute(self, batch: list[dict[str, Any]]) -> list[Any]:
        """One result (or exception instance) per input, in order: here, the batch function on the pool."""
        assert self._run_batch is not None, "a MicroBatcher without a batch function overrides execute"
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._run_batch, batch)

    async def _run(self, batch: list[_Item]) -> None:
        live = [i for i in batch if not i.future.done()]  # a caller that timed out is gone
        if not live:
            return
        self.batch_sizes.append(len(live))
        self.size_counts[len(live)] += 1
        try:
            outputs = await self.execute([i.args for i in live])
        except Exception as exc:  # noqa: BLE001 - delivered to each caller below
            outputs = [exc] * len(live)
        for item, output in zip(live, outputs, strict=False):
            if item.future.done():
                continue
            if isinstance(output, BaseException):
                item.future.set_exception(output)
            else:
                item.future.set_result(output)


def pick_batch(lengths: Sequence[int], max_batch: int, max_tokens: int) -> list[int]:
    """Indexes of the next batch: the oldest request (index 0, so nobody starves), then those
    closest to it in length, while the batch padded to its longest input fits `max_tokens`."""
    others = sorted(range(1, len(lengths)), key=lambda i: (abs(lengths[i] - lengths[0]), i))
    chosen, longest = [0], lengths[0] if lengths else 0
    for i in others:
        wider = max(longest, lengths[i])
        if len(chosen) >= max_batch or wider * (len(chosen) + 1) > max_tokens:
            break
        chosen.append(i)
        longest = wider
    return sorted(chosen)


def one_by_one_on_failure(run_each: Callable[[dict[str, Any]], Any], run_all: BatchFn) -> BatchFn:
    """Try the whole batch; if it fails, run each input alone so only the bad one fails."""

    def run(batch: Sequence[dict[str, Any]]) -> list[Any]:
        if len(batch) > 1:
            try:
                return run_all(batch)
            except Exception:  # noqa: BLE001 - isolate the failing input below
                log.info("batch of %d failed; retrying its inputs one at a time", len(batch))
        outputs: list[Any] = []
        for args in batch:
            try:
                outputs.append(run_each(args))
            except Exception as exc:  # noqa: BLE001 - this caller's own error
                outputs.append(exc)
        return outputs

    return run
