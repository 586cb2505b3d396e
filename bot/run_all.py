"""`tutor run`: every adapter whose tokens are set, in one event loop, sharing one Engine.

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
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from bot.failures import StartFailure, cannot_listen, check_listen, unreachable
from core.engine import Engine
from core.settings import ConfigError, Settings

log = logging.getLogger("tutor.run")

SHUTDOWN_TIMEOUT_S = 8.0
"""Under Docker's default 10 s grace period, so a stop is clean and never a SIGKILL."""
NOTHING_CONFIGURED = (
    "No chat platform is configured, so there is nothing to run. Set DISCORD_TOKEN for Discord, and/or "
    "SLACK_BOT_TOKEN with SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP) for Slack, in the "
    "environment or .env (see .env.example). `tutor doctor` checks them."
)


@dataclass(frozen=True)
class Plan:
    """Which adapters `tutor run` starts, decided from the settings alone."""

    discord: bool
    slack: bool
    slack_http: bool

    def describe(self) -> str:
        names = (["discord"] if self.discord else []) + (
            [f"slack ({'HTTP Events API' if self.slack_http else 'Socket Mode'})"] if self.slack else [])
        return ", ".join(names)

    @property
    def names(self) -> list[str]:
        return [name for name, on in (("discord", self.discord), ("slack", self.slack)) if on]


def plan(settings: Settings) -> Plan:
    """The adapters to start; `ConfigError` when none is configured or one is half configured."""
    from bot.slack_app import check_settings

    slack_any = any((settings.slack_bot_token, settings.slack_app_token, settings.slack_signing_secret))
    slack_http = settings.slack_mode == "http" or (
        settings.slack_mode == "auto" and not settings.slack_app_token and bool(settings.slack_signing_secret))
    if slack_any:
        try:
            check_settings(settings, http=slack_http)  # names the missing variable
        except ConfigError as exc:
            raise ConfigError(f"{exc} (`tutor run` picks HTTP when only SLACK_SIGNING_SECRET is set, "
                              "or set SLACK_MODE=http; SLACK_PORT is its port.)") from None
    result = Plan(discord=bool(settings.discord_token.strip()), slack=slack_any, slack_http=slack_http)
    if not result.names:
        raise ConfigError(NOTHING_CONFIGURED)
    return result


def check_addresses(settings: Settings, chosen: Plan) -> None:
    """The ports `tutor run` will listen on are free and the hosts are this machine's: a ConfigError
    now, before the models load, instead of after (serve_all still checks again: a port can be taken
    in between)."""
    if settings.health_port:
        check_listen(settings.health_host, settings.health_port, health_address(settings))
    if chosen.slack and chosen.slack_http:
        host = str(getattr(settings, "slack_host", "") or "0.0.0.0")
        check_listen(host, settings.slack_port, f"SLACK_PORT {settings.slack_port} (Slack's Events API)")


def health_address(settings: Settings) -> str:
    return f"TUTOR_HEALTH_HOST {settings.health_host} / TUTOR_HEALTH_PORT {settings.health_port}"


class Runner:
    """The adapters as tasks, their states for `/healthz`, and one shutdown for all of them."""

    def __init__(self, engine: Engine, settings: Settings, chosen: Plan, discord_bot: Any = None) -> None:
        self.engine, self.settings, self.plan = engine, settings, chosen
        self.discord_bot = discord_bot
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.stop = asyncio.Event()
        self.stopping = False

    def states(self) -> dict[str, str]:
        return {name: _state(task) for name, task in self.tasks.items()}

    def start(self) -> None:
        if self.plan.discord:
            from bot.discord_app import build_bot, serve

            self.discord_bot = self.discord_bot or build_bot(self.engine, self.settings)
            self.tasks["discord"] = asyncio.create_task(serve(self.engine, self.settings, self.discord_bot))
        if self.plan.slack:
            from bot.slack_app import serve_slack

            self.tasks["slack"] = asyncio.create_task(serve_slack(
                self.engine, self.settings, http=self.plan.slack_http, port=self.settings.slack_port))

    async def wait(self) -> None:
        """Until a stop signal, or until any adapter ends (a failure, or a close from elsewhere)."""
        stop = asyncio.create_task(self.stop.wait())
        await asyncio.wait([stop, *self.tasks.values()], return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()

    async def shutdown(self) -> None:
        self.stopping = True
        if self.discord_bot is not None and not self.discord_bot.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.discord_bot.close(), SHUTDOWN_TIMEOUT_S)
        for task in self.tasks.values():
            if not task.done() and task is not self.tasks.get("discord"):
                task.cancel()
        await asyncio.wait(list(self.tasks.values()), timeout=SHUTDOWN_TIMEOUT_S)

    def outcome(self) -> int:
        """0 after a requested stop; re-raises a ConfigError (bad token, port in use); a StartFailure
        when a platform cannot be reached; 1 for anything else (one log line, the traceback at DEBUG)."""
        errors = {name: t.exception() for name, t in self.tasks.items()
                  if t.done() and not t.cancelled() and t.exception()}
        for name, error in errors.items():
            log.debug("adapter %s ended with", name, exc_info=error)  # the traceback, at DEBUG (--verbose)
            if isinstance(error, ConfigError):
                raise error
        for name, error in errors.items():
            if isinstance(error, OSError) and (line := cannot_listen(error, f"SLACK_PORT {self.settings.slack_port}")):
                raise ConfigError(line)
        unreachable_lines = [line for name, error in errors.items() if (line := unreachable(name, error))]
        if unreachable_lines:
            raise StartFailure("\n".join(unreachable_lines))
        for name, error in errors.items():
            log.error("adapter %s failed: %s: %s (--verbose or TUTOR_LOG_LEVEL=DEBUG shows the traceback)",
                      name, type(error).__name__, error)
        ended_alone = not self.stop.is_set()
        return 1 if errors or ended_alone else 0


def _state(task: asyncio.Task[None]) -> str:
    if not task.done():
        return "running"
    return "failed" if not task.cancelled() and task.exception() is not None else "stopped"


async def serve_all(engine: Engine, settings: Settings, *, discord_bot: Any = None,
                    on_started: Callable[[str, int | None], Awaitable[None] | None] | None = None) -> int:
    """Run the planned adapters (and the health server) until SIGTERM/SIGINT; returns the exit code.

    `discord_bot` and `on_started(description, health_port)` exist for tests that drive it in-process.
    """
    chosen = plan(settings)
    runner = Runner(engine, settings, chosen, discord_bot)
    health, health_port = await _start_health(engine, settings, runner)
    runner.start()
    await asyncio.sleep(0)  # Discord's serve installs its own signal handlers first; ours replace them
    installed = _install_signals(runner.stop)
    _announce(chosen, settings, health_port)
    if on_started is not None:
        maybe = on_started(chosen.describe(), health_port)
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
    print(f"Stopped: {chosen.describe()}.", flush=True)
    return runner.outcome()


async def _start_health(engine: Engine, settings: Settings, runner: Runner) -> tuple[Any, int | None]:
    if not settings.health_port:  # off by default outside the container
        return None, None
    from bot.health import build_health_app, start_health_server

    app = build_health_app(engine, runner.states, metrics=settings.metrics, stopping=lambda: runner.stopping)
    where = health_address(settings)
    try:
        return await start_health_server(app, settings.health_host, settings.health_port)
    except OSError as exc:  # a port in use, a host that is not this machine's: one line, exit 2
        raise ConfigError(cannot_listen(exc, where) or f"Cannot listen on {where}: {exc}") from None


def _announce(chosen: Plan, settings: Settings, health_port: int | None) -> None:
    """Say which adapters started: the first thing a self-hoster reads in `docker compose logs`."""
    line = f"Started: {chosen.describe()} (pack {settings.pack})."
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


def run_all(engine: Engine, settings: Settings) -> int:
    """Blocking entry point for `tutor run`. The caller closes the engine."""
    return asyncio.run(serve_all(engine, settings))
