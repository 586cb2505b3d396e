"""The local backend: a bounded pool of worker threads in this process, and a micro-batcher per
command that has a batch handler (`core.batching`). Model work never runs on the event loop."""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from core.batching import MicroBatcher, one_by_one_on_failure
from core.context import TaskContext
from core.registry import Command
from core.results import Result

log = logging.getLogger("tutor.engine")


class LocalBackend:
    def __init__(self, context: TaskContext) -> None:
        settings = context.settings
        self.context = context
        self.pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="tutor-model")
        self.batchers = {c.name: self._batcher(c) for c in context.registry
                         if c.batch_handler and settings.max_batch > 1}

    def _batcher(self, command: Command) -> MicroBatcher:
        s = self.context.settings
        return MicroBatcher(batch_runner(self.context, command), self.pool, max_batch=s.max_batch,
                            max_tokens=s.max_batch_tokens, wait_s=s.batch_wait_ms / 1000)

    async def submit(self, command: Command, args: dict[str, Any]) -> Result:
        batcher = self.batchers.get(command.name)
        if batcher is not None:
            return await batcher.submit(args)
        return await asyncio.get_running_loop().run_in_executor(self.pool, command.handler, self.context, args)

    def warm(self, model_key: str) -> bool:
        spec = self.context.pack.models[model_key]
        self.pool.submit(self.context.models.get, model_key, spec).add_done_callback(_log_warmup_failure)
        return True

    def close(self) -> None:
        for batcher in self.batchers.values():
            batcher.close()
        self.pool.shutdown(wait=False, cancel_futures=True)


def batch_runner(context: TaskContext, command: Command):
    """The batch function of one command: the whole batch, or each input alone when the batch fails."""
    def run_one(args: dict[str, Any]) -> Result:
        return command.handler(context, args)

    def run_all(batch: Any) -> list[Any]:
        return command.batch_handler(context, batch)  # type: ignore[misc]

    return one_by_one_on_failure(run_one, run_all)


def _log_warmup_failure(future: Future) -> None:
    if future.exception() is not None:
        log.warning("warm-up failed: %s", future.exception())
