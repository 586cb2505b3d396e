"""The engine: one object per app, shared by every adapter and request.

Async API; model work runs in a backend (`core.backends`): worker threads in this process by default,
or a Ray Serve deployment per model (`TUTOR_BACKEND=ray`); never on the event loop.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Mapping
from typing import Any

from core.backends import build_backend
from core.context import TaskContext
from core.errors import Busy, UserError
from core.grammar import read_typed
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
        self.models = ModelStore(settings, self.pack.twins())
        self.metrics = Metrics()
        context = TaskContext(settings, self.pack, self.models, self.registry, PerThreadCache(FIGURES_PER_THREAD))
        self.backend = build_backend(context)
        self.batchers = self.backend.batchers
        self._in_flight = 0

    async def run(self, name: str, raw_args: Mapping[str, Any]) -> Result:
        """Answer one typed command with raw (string) or typed options. Raises `UserError`.

        The thin entry for tests and benchmarks: the same reading and answering as the policy's
        (`core.grammar.read_typed`, then `answer`), without its cooldown, de-duplication and wording."""
        return await self.answer(*read_typed(self.registry, command=name, args=raw_args))

    async def run_text(self, line: str) -> Result:
        """Answer one line of the text grammar, `/command main | second key=value`, as `run` does."""
        return await self.answer(*read_typed(self.registry, line=line))

    async def answer(self, command: Command, args: dict[str, Any], notice: str | None = None) -> Result:
        """Run a checked command and add the notice that its text was cleaned: every answer's way out."""
        return noting(await self.execute(command, args), notice)

    async def execute(self, command: Command, args: dict[str, Any]) -> Result:
        """Run one validated command in the backend (batched where the command allows)."""
        if self._in_flight >= self.settings.max_queue:
            raise Busy("The tutor is busy with many questions right now. Please try again in a minute.")
        self._in_flight += 1
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.settings.request_timeout_s):  # no extra task, unlike wait_for
                return await self.backend.submit(command, args)
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
            if self.backend.warm(name):
                started.append(name)
        return started

    @property
    def queue_depth(self) -> int:
        return self._in_flight

    def close(self) -> None:
        self.backend.close()
        self.models.clear()


def noting(result: Result, notice: str | None) -> Result:
    """The answer, with the note that the learner's text was cleaned first, when it was."""
    return dataclasses.replace(result, notices=(notice, *result.notices)) if notice else result
