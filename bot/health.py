"""Health and metrics over HTTP for `tutor run`: `/healthz` (the container's HEALTHCHECK) and `/metrics`.

Off unless TUTOR_HEALTH_PORT is set (the Docker image sets 8080), so a developer's `tutor run`
opens no port by surprise. `python -m bot.health` is the HEALTHCHECK itself: the slim image has
no curl, and the standard library's urllib is enough to GET one URL.
"""
from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Callable, Mapping

if TYPE_CHECKING:
    from aiohttp import web

    from core.engine import Engine

PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
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

    async def prometheus(_request: web.Request) -> web.Response:
        return web.Response(body=engine.metrics_text().encode(), headers={"Content-Type": PROMETHEUS_TYPE})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    if metrics:
        app.router.add_get("/metrics", prometheus)
    return app


async def start_health_server(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Listen on `host:port` (port 0 = any free one, for tests); returns the runner and the real port."""
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None)  # probes every 30 s would drown the request log
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    sockets = site._server.sockets if site._server else []  # noqa: SLF001 - aiohttp exposes no public getter
    return runner, (sockets[0].getsockname()[1] if sockets else port)


def check(url: str, timeout_s: float = 5.0) -> int:
    """The HEALTHCHECK: exit 0 when `/healthz` says ok, 1 otherwise (with the reason on stdout)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - our own local URL
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:  # 503 still carries the JSON that says why
        print(f"unhealthy: HTTP {exc.code} {exc.read().decode(errors='replace')}")
        return 1
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy, said in one line
        print(f"unhealthy: {exc}")
        return 1
    print(json.dumps(body))
    return 0 if body.get("status") == "ok" else 1


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.health [URL]`: defaults to 127.0.0.1 and TUTOR_HEALTH_PORT."""
    args = sys.argv[1:] if argv is None else argv
    url = args[0] if args else f"http://127.0.0.1:{os.environ.get('TUTOR_HEALTH_PORT') or 8080}/healthz"
    return check(url)


if __name__ == "__main__":
    sys.exit(main())
