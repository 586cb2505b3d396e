"""Health and metrics over HTTP for `tutor run`: `/healthz` (the container's HEALTHCHECK) and `/metrics`.

Off unless TUTOR_HEALTH_PORT is set (the Docker image sets 8080), so a developer's `tutor run`
opens no port by surprise. `python -m bot.health` is the HEALTHCHECK itself: the slim image has
no curl, and the standard library's urllib is enough to GET one URL.

`/metrics` is prometheus_client's exposition, from a registry of this server's own (never the library's
global one): the engine's counts (core/metrics.py) read at each scrape, and the process, platform and
garbage-collector collectors. prometheus_client is imported here, when the server is built, only.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from core.metrics import Histogram, batch_histogram

if TYPE_CHECKING:
    from aiohttp import web

    from core.engine import Engine

IDLE_TIMEOUT_S = 10.0
"""A connection that has not sent a whole request this long after it opened (or after its last
answer) is closed. aiohttp's default is an hour, so 100 half-open (slowloris) connections were held
for good; a probe sends its request at once. aiohttp has no separate header time-out: its keep-alive
timer starts when the connection opens and is not reset by a partial request, so it bounds both."""
log = logging.getLogger("tutor.health")
AdapterStates = Callable[[], Mapping[str, str]]
"""Adapter name -> `running`, `stopped` or `failed`; the health answer reads it on every call."""


def health_body(engine: Engine, adapters: Mapping[str, str], *, stopping: bool = False) -> tuple[int, dict]:
    """200 while every adapter runs; 503 (unhealthy) once one stopped or failed, or during shutdown."""
    broken = [name for name, state in adapters.items() if state != "running"]
    status = "stopping" if stopping else ("degraded" if broken or not adapters else "ok")
    body = {"status": status, "pack": engine.pack.name, "adapters": dict(adapters),
            "queue_depth": engine.queue_depth, "models_loaded": len(engine.models.loaded())}
    return (200 if status == "ok" else 503), body


def build_health_app(engine: Engine, adapters: AdapterStates, *, metrics: bool,
                     stopping: Callable[[], bool] = lambda: False) -> web.Application:
    """The aiohttp app: `/healthz` always, `/metrics` unless TUTOR_METRICS is off."""
    from aiohttp import web

    async def healthz(_request: web.Request) -> web.Response:
        code, body = health_body(engine, adapters(), stopping=stopping())
        return web.json_response(body, status=code)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    if metrics:
        app.router.add_get("/metrics", metrics_handler(metrics_registry(engine)))
    return app


def metrics_registry(engine: Engine):
    """A registry for one health server: the engine's metrics, and this process's (CPU, memory, open files,
    start time; the Python version; the garbage collector's counts)."""
    from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector

    registry = CollectorRegistry()
    registry.register(EngineCollector(engine))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def metrics_handler(registry) -> Callable:
    from aiohttp import web
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    async def prometheus(_request: web.Request) -> web.Response:
        # off the event loop: the process collector reads files under /proc
        body = await asyncio.get_running_loop().run_in_executor(None, generate_latest, registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return prometheus


class EngineCollector:
    """The engine's numbers as Prometheus metric families, read when scraped (a custom collector: the core
    keeps plain counts and never imports prometheus_client)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        engine = self.engine
        requests = CounterMetricFamily("tutor_requests", "Requests answered, by platform, command and outcome "
                                       "(ok, error, user_error, cooldown, busy...).",
                                       labels=["platform", "command", "outcome"])
        for (platform, command, outcome), count in sorted(engine.metrics.requests().items()):
            requests.add_metric([platform, command, outcome], count)
        yield requests
        yield _histogram("tutor_request_seconds", "Time to answer a request, by command.",
                         engine.metrics.latency())
        yield _histogram("tutor_batch_size", "Requests that ran together in one micro-batch, by command.",
                         {name: batch_histogram(b.size_counts) for name, b in sorted(engine.batchers.items())
                          if b.size_counts})
        yield GaugeMetricFamily("tutor_queue_depth", "Requests waiting or running now.", value=engine.queue_depth)
        yield CounterMetricFamily("tutor_model_loads", "Models loaded since start.", value=engine.models.loads)
        yield GaugeMetricFamily("tutor_models_loaded", "Models in memory now.", value=len(engine.models.loaded()))


def _histogram(name: str, documentation: str, by_command: Mapping[str, Histogram]):
    from prometheus_client.core import HistogramMetricFamily

    family = HistogramMetricFamily(name, documentation, labels=["command"])
    for command, histogram in sorted(by_command.items()):
        buckets = [("+Inf" if bound == float("inf") else f"{bound:g}", count)
                   for bound, count in zip(histogram.bounds, histogram.counts, strict=True)]
        family.add_metric([command], buckets, histogram.total)
    return family


async def start_health_server(app: web.Application, host: str, port: int, *,
                              idle_timeout_s: float = IDLE_TIMEOUT_S) -> tuple[web.AppRunner, int]:
    """Listen on `host:port` (port 0 = any free one, for tests); returns the runner and the real port.

    Raises OSError (port in use, address not this machine's); nothing is left listening then."""
    from aiohttp import web

    # access_log=None: probes every 30 s would drown the request log.
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=idle_timeout_s, logger=BadRequestLog(log))
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    sockets = site._server.sockets if site._server else []  # noqa: SLF001 - aiohttp exposes no public getter
    return runner, (sockets[0].getsockname()[1] if sockets else port)


class BadRequestLog(logging.LoggerAdapter):
    """aiohttp's server logger for the health port. A malformed request (an over-long header, a TLS
    hello or a port scan on a plain port) is the client's problem: one DEBUG line, not an ERROR with a
    traceback at INFO. An exception in our own handlers is still an ERROR with its traceback."""

    def exception(self, msg: object, *args: object, exc_info: object = True, **kwargs: object) -> None:
        if not self._bad_request(args, exc_info):
            self.logger.error(msg, *args, exc_info=exc_info, **kwargs)  # type: ignore[arg-type]

    def debug(self, msg: object, *args: object, exc_info: object = None, **kwargs: object) -> None:
        if not self._bad_request(args, exc_info):
            self.logger.debug(msg, *args, exc_info=exc_info, **kwargs)  # type: ignore[arg-type]

    def _bad_request(self, args: tuple[object, ...], exc_info: object) -> bool:
        from aiohttp.http_exceptions import HttpProcessingError

        exc = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1]
        if not isinstance(exc, HttpProcessingError):
            return False
        reason = " ".join(str(getattr(exc, "message", "") or exc).split())[:200]
        self.logger.debug("bad request from %s: %s %s", args[0] if args else "?", exc.code, reason)
        return True


def check(url: str, timeout_s: float = 5.0) -> int:
    """The HEALTHCHECK: exit 0 when `/healthz` says ok, 1 otherwise (with the reason on stdout)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:  # 503 still carries the JSON that says why
        print(f"unhealthy: HTTP {exc.code} {exc.read().decode(errors='replace')}")
        return 1
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy, said in one line
        print(f"unhealthy: {exc}")
        return 1
    print(json.dumps(body))
    return 0 if body.get("status") == "ok" else 1


def health_url(env: Mapping[str, str]) -> str | None:
    """The URL the HEALTHCHECK asks, from the container's TUTOR_HEALTH_PORT and TUTOR_HEALTH_HOST
    (8080 and any address, as the image sets them); None when the port is 0 (the server is off)."""
    port = (env.get("TUTOR_HEALTH_PORT") or "").strip() or "8080"
    if port == "0":
        return None
    host = (env.get("TUTOR_HEALTH_HOST") or "").strip()
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/healthz"


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.health [URL]`: the URL defaults to `health_url` of this environment."""
    args = sys.argv[1:] if argv is None else argv
    url = args[0] if args else health_url(os.environ)
    if url is None:
        print("healthy: no check, TUTOR_HEALTH_PORT=0 turns the health server off")
        return 0
    return check(url)


if __name__ == "__main__":
    sys.exit(main())
