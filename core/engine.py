"""The engine: one object per app, shared by every adapter and request.

Async API; model work runs on a bounded pool of worker threads, never on the event loop.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from core.batching import MicroBatcher, one_by_one_on_failure
from core.context import TaskContext
from core.errors import Busy, UserError
from core.grammar import read_line
from core.metrics import Metrics
from core.models import ModelStore
from core.packs import build_pack
from core.registry import Command, Registry
from core.render.cache import FIGURES_PER_THREAD, PerThreadCache
from core.results import Result
from core.settings import ConfigError, Settings

log = logging.getLogger("tutor.engine")


class Engine:
    def __init__(self, settings: Settings, registry: Registry | None = None) -> None:
        from core.commands import build_registry  # late: commands import the task modules

        self.settings = settings
        self.registry = registry or build_registry()
        self.pack = build_pack(settings, self.registry)
        self.models = ModelStore(settings)
        self.metrics = Metrics()
        self._context = TaskContext(settings, self.pack, self.models, self.registry, PerThreadCache(FIGURES_PER_THREAD))
        self._pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="tutor-model")
        _set_torch_threads(settings.effective_threads())
        self._in_flight = 0
        self.batchers = {c.name: self._batcher(c) for c in self.registry if c.batch_handler and settings.max_batch > 1}

    def _batcher(self, command: Command) -> MicroBatcher:
        def run_one(args: dict[str, Any]) -> Result:
            return command.handler(self._context, args)

        def run_all(batch: Any) -> list[Any]:
            return command.batch_handler(self._context, batch)  # type: ignore[misc]

        s = self.settings
        return MicroBatcher(one_by_one_on_failure(run_one, run_all), self._pool, max_batch=s.max_batch,
                            max_tokens=s.max_batch_tokens, wait_s=s.batch_wait_ms / 1000)

    async def run(self, name: str, raw_args: Mapping[str, Any]) -> Result:
        """Answer one command with typed or raw (string) options. Raises `UserError`.

        Text is cleaned here, where it enters the core (`core.text`), and the answer says so."""
        command = self.registry.get(name)
        args, notice = command.check(raw_args)
        return noting(await self.execute(command, args), notice)

    async def run_text(self, line: str) -> Result:
        """Answer one line of the text grammar: `/command main | second key=value`.

        The line is cleaned as it is read (`core.grammar.read_line`), and the answer says so."""
        parsed = read_line(self.registry, line)
        args = parsed.command.validate(parsed.raw)
        return noting(await self.execute(parsed.command, args), parsed.notice)

    async def execute(self, command: Command, args: dict[str, Any]) -> Result:
        """Run one validated command on the worker threads (batched where the command allows)."""
        if self._in_flight >= self.settings.max_queue:
            raise Busy("The tutor is busy with many questions right now. Please try again in a minute.")
        self._in_flight += 1
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.settings.request_timeout_s):  # no extra task, unlike wait_for
                batcher = self.batchers.get(command.name)
                if batcher is not None:
                    return await batcher.submit(args)
                return await loop.run_in_executor(self._pool, command.handler, self._context, args)
        except TimeoutError:
            raise UserError(
                f"/{command.name} took longer than {self.settings.request_timeout_s:.0f} s, so I stopped waiting "
                "for it. Try a shorter text, or ask again in a minute."
            ) from None
        finally:
            self._in_flight -= 1
            log.debug("command=%s seconds=%.3f", command.name, time.perf_counter() - started)

    def warm_up(self) -> list[str]:
        """Start loading the models of TUTOR_WARMUP's commands in the background; returns their names."""
        started = []
        for name in (n.strip().lstrip("/").lower() for n in self.settings.warmup.split(",") if n.strip()):
            command = next((c for c in self.registry if c.name == name and c.needs_model), None)
            if command is None:
                raise ConfigError(f"TUTOR_WARMUP names `{name}`, which is not a command with a model.")
            name = command.model_key
            if name not in self.pack.models:
                log.warning("TUTOR_WARMUP: the %s pack has no model for /%s; skipped", self.pack.name, name)
                continue
            self._pool.submit(self.models.get, name, self.pack.models[name]).add_done_callback(_log_warmup_failure)
            started.append(name)
        return started

    @property
    def queue_depth(self) -> int:
        return self._in_flight

    def metrics_text(self) -> str:
        return self.metrics.render(queue_depth=self._in_flight, model_loads=self.models.loads,
                                   models_loaded=len(self.models.loaded()))

    def close(self) -> None:
        for batcher in self.batchers.values():
            batcher.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.models.clear()


def noting(result: Result, notice: str | None) -> Result:
    """The answer, with the note that the learner's text was cleaned first, when it was."""
    return dataclasses.replace(result, notices=(notice, *result.notices)) if notice else result


def _set_torch_threads(threads: int) -> None:
    """torch threads x workers <= cores, so workers don't fight over the same cores."""
    import torch

    torch.set_num_threads(threads)


def _log_warmup_failure(future: Any) -> None:
    if future.exception() is not None:
        log.warning("warm-up failed: %s", future.exception())
