"""`tutor run`: every adapter whose tokens are set, in one event loop, sharing one Engine and Policy.

One image serves Discord, Slack or both: the container's command is always `tutor run`, and
the `.env` decides. Everything is checked before anything connects, so a half-configured
platform is one clear message, not a bot that starts and then dies. SIGTERM (`docker stop`)
and SIGINT close every adapter cleanly; if one adapter stops on its own, the others are
stopped too and the exit code says so, so the container's restart policy can act.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from bot.adapter import Adapter, wanted_adapters
from bot.ops.failures import StartFailure, cannot_listen, check_listen, unreachable
from core.policy import Policy
from core.settings import ConfigError, Settings

log = logging.getLogger("tutor.run")

SHUTDOWN_TIMEOUT_S = 8.0
"""Under Docker's default 10 s grace period, so a stop is clean and never a SIGKILL."""


def plan(env: Mapping[str, str], only: str | None = None) -> list[type[Adapter]]:
    """The adapters to start, from the environment alone; `ConfigError` when none is configured,
    `only` is not, or one is half configured (each adapter's `check` names the missing variable)."""
    return wanted_adapters(env, only)


def describe(adapters: Sequence[Adapter]) -> str:
    return ", ".join(a.describe() for a in adapters)


def check_addresses(settings: Settings, adapters: Sequence[type[Adapter]], env: Mapping[str, str]) -> None:
    """The ports `tutor run` will listen on are free and the hosts are this machine's: a ConfigError
    now, before the models load, instead of after (serve_all still checks again: a port can be taken
    in between)."""
    if settings.health_port:
        check_listen(settings.health_host, settings.health_port, health_address(settings))
    for cls in adapters:
        for host, port, what in cls.addresses(env):
            check_listen(host, port, what)


def health_address(settings: Settings) -> str:
    return f"TUTOR_HEALTH_HOST {settings.health_host} / TUTOR_HEALTH_PORT {settings.health_port}"


class Runner:
    """The adapters as tasks, their states for `/healthz`, and one shutdown for all of them."""

    def __init__(self, adapters: Sequence[Adapter]) -> None:
        self.adapters = list(adapters)
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.stop = asyncio.Event()
        self.stopping = False

    def states(self) -> dict[str, str]:
        return {name: _state(task) for name, task in self.tasks.items()}

    def start(self) -> None:
        for adapter in self.adapters:
            self.tasks[adapter.name] = asyncio.create_task(adapter.serve(), name=f"adapter-{adapter.name}")

    async def wait(self) -> None:
        """Until a stop signal, or until any adapter ends (a failure, or a close from elsewhere)."""
        stop = asyncio.create_task(self.stop.wait())
        await asyncio.wait([stop, *self.tasks.values()], return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()

    async def shutdown(self) -> None:
        """Ask every adapter to close cleanly, then cancel what has not ended in time."""
        self.stopping = True
        for adapter in self.adapters:
            if not self.tasks[adapter.name].done():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(adapter.stop(), SHUTDOWN_TIMEOUT_S)
        pending = [t for t in self.tasks.values() if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=SHUTDOWN_TIMEOUT_S)
        for task in pending:
            if not task.done():
                task.cancel()
        await asyncio.wait(list(self.tasks.values()), timeout=SHUTDOWN_TIMEOUT_S)

    def outcome(self) -> int:
        """0 after a requested stop; re-raises a ConfigError (bad token, port in use); a StartFailure
        when a platform cannot be reached; 1 for anything else (one log line, the traceback at DEBUG)."""
        errors = {a: t.exception() for a in self.adapters
                  if (t := self.tasks[a.name]).done() and not t.cancelled() and t.exception()}
        for adapter, error in errors.items():
            log.debug("adapter %s ended with", adapter.name, exc_info=error)  # the traceback, at DEBUG (--verbose)
            if isinstance(error, ConfigError):
                raise error
        for adapter, error in errors.items():
            where = ", ".join(what for _, _, what in adapter.addresses(adapter.env)) or adapter.name
            if isinstance(error, OSError) and (line := cannot_listen(error, where)):
                raise ConfigError(line)
        lines = [line for a, error in errors.items()
                 if (line := unreachable(a.display_name(), a.network, error))]
        if lines:
            raise StartFailure("\n".join(lines))
        for adapter, error in errors.items():
            log.error("adapter %s failed: %s: %s (--verbose or TUTOR_LOG_LEVEL=DEBUG shows the traceback)",
                      adapter.name, type(error).__name__, error)
        ended_alone = not self.stop.is_set()
        return 1 if errors or ended_alone else 0


def _state(task: asyncio.Task[None]) -> str:
    if not task.done():
        return "running"
    return "failed" if not task.cancelled() and task.exception() is not None else "stopped"


async def serve_all(policy: Policy, env: Mapping[str, str], *, only: str | None = None,
                    adapters: Sequence[Adapter] | None = None,
                    on_started: Callable[[str, int | None], Awaitable[None] | None] | None = None) -> int:
    """Run the planned adapters (and the health server) until SIGTERM/SIGINT; returns the exit code.

    `adapters` (instances) and `on_started(description, health_port)` exist for tests that drive it
    in-process; otherwise the adapters come from `plan(env, only)`."""
    chosen = list(adapters) if adapters is not None else [cls(policy, env) for cls in plan(env, only)]
    settings = policy.engine.settings
    runner = Runner(chosen)
    health, health_port = await _start_health(policy, runner)
    runner.start()
    await asyncio.sleep(0)  # an adapter that installs signal handlers of its own does so first; ours win
    installed = _install_signals(runner.stop)
    _announce(chosen, settings, health_port)
    if on_started is not None:
        maybe = on_started(describe(chosen), health_port)
        if maybe is not None:
            await maybe
    try:
        await runner.wait()
        log.info("stopping: %s", "signal received" if runner.stop.is_set() else "an adapter ended")
        await runner.shutdown()
    finally:
        _remove_signals(installed)
        if health is not None:
            await health.cleanup()
    print(f"Stopped: {describe(chosen)}.", flush=True)
    return runner.outcome()


async def _start_health(policy: Policy, runner: Runner) -> tuple[Any, int | None]:
    settings = policy.engine.settings
    if not settings.health_port:  # off by default outside the container
        return None, None
    from bot.ops.health import build_health_app, start_health_server

    app = build_health_app(policy.engine, runner.states, metrics=settings.metrics,
                           stopping=lambda: runner.stopping)
    where = health_address(settings)
    try:
        return await start_health_server(app, settings.health_host, settings.health_port)
    except OSError as exc:  # a port in use, a host that is not this machine's: one line, exit 2
        raise ConfigError(cannot_listen(exc, where) or f"Cannot listen on {where}: {exc}") from None


def _announce(chosen: Sequence[Adapter], settings: Settings, health_port: int | None) -> None:
    """Say which adapters started: the first thing a self-hoster reads in `docker compose logs`."""
    line = f"Started: {describe(chosen)} (pack {settings.pack})."
    if health_port:
        extra = " and /metrics" if settings.metrics else ""
        line += f" Health: http://{settings.health_host}:{health_port}/healthz{extra}."
    print(line, flush=True)
    log.info("%s", line)


def _install_signals(stop: asyncio.Event) -> list[signal.Signals]:
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # Windows, not main thread
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    return installed


def _remove_signals(installed: list[signal.Signals]) -> None:
    loop = asyncio.get_running_loop()
    for sig in installed:
        loop.remove_signal_handler(sig)


def run_all(policy: Policy, env: Mapping[str, str], only: str | None = None) -> int:
    """Blocking entry point for `tutor run` (and `tutor discord` / `tutor slack`: `only`).
    The caller closes the engine."""
    return asyncio.run(serve_all(policy, env, only=only))
