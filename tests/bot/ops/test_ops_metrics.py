"""`/metrics` is prometheus_client's: scraped over HTTP from a real health server on the tiny pack and read
back with prometheus_client's own parser; a registry per server; `tutor ask` never imports it."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.ops.health import build_health_app, start_health_server
from core.engine import Engine
from core.policy import Policy, Request, Verdict
from core.settings import Settings
from core.store import Database, RunStore
from tests.support.paths import ROOT, TEST_CACHE

TEXTS = [f"Review number {i}: " + "good " * (i % 5) + "bad " * (i % 3) for i in range(12)]


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    engine = Engine(Settings(pack="tiny", cache_dir=TEST_CACHE, cooldown_s=60.0, request_timeout_s=60.0))
    yield engine
    engine.close()


async def scrape(engine: Engine) -> tuple[str, str]:
    """GET /metrics from a health server of its own, as Prometheus would; (Content-Type, body)."""
    runner, port = await start_health_server(build_health_app(engine, lambda: {"slack": "running"}, metrics=True),
                                             "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as response:
            assert response.status == 200
            return response.headers["Content-Type"], await response.text()
    finally:
        await runner.cleanup()


def samples(body: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Every sample, by sample name and sorted labels, as prometheus_client's parser reads the exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def test_metrics_scraped_over_http_parse_with_prometheus_clients_parser(engine: Engine, tmp_path: Path):
    from prometheus_client import CONTENT_TYPE_LATEST
    from prometheus_client.parser import text_string_to_metric_families

    policy = Policy(engine, runs=RunStore(Database(f"sqlite:///{tmp_path / 'runs.db'}")))
    first = await policy.handle(Request("slack", "u1", command="tokenize", args={"text": "hello world"}))
    cooled = await policy.handle(Request("slack", "u1", command="tokenize", args={"text": "again"}))
    refused = await policy.handle(Request("discord", "u2", command="fillmask", args={"text": "no mask here"}))
    assert (first.verdict, cooled.verdict, refused.verdict) == (Verdict.ANSWER, Verdict.COOLDOWN, Verdict.USER_ERROR)
    await engine.run("sentiment", {"text": "warm up"})  # the model loads first, so the crowd below queues
    await asyncio.gather(*(engine.run("sentiment", {"text": t}) for t in TEXTS))
    sizes = engine.batchers["sentiment"].size_counts
    assert max(sizes) > 1

    content_type, body = await scrape(engine)
    assert content_type == CONTENT_TYPE_LATEST
    types = {f.name: f.type for f in text_string_to_metric_families(body)}
    assert {name: types.get(name) for name in ("tutor_requests", "tutor_request_seconds", "tutor_batch_size",
                                                "tutor_queue_depth", "tutor_model_loads", "tutor_models_loaded")} \
        == {"tutor_requests": "counter", "tutor_request_seconds": "histogram", "tutor_batch_size": "histogram",
            "tutor_queue_depth": "gauge", "tutor_model_loads": "counter", "tutor_models_loaded": "gauge"}
    found = samples(body)
    requests = found["tutor_requests_total"]
    assert requests == {(("command", "tokenize"), ("outcome", "ok"), ("platform", "slack")): 1.0,
                        (("command", "tokenize"), ("outcome", "cooldown"), ("platform", "slack")): 1.0,
                        (("command", "fillmask"), ("outcome", "user_error"), ("platform", "discord")): 1.0}
    latency = found["tutor_request_seconds_count"]
    assert latency == {(("command", "tokenize"),): 2.0, (("command", "fillmask"),): 1.0}
    assert found["tutor_request_seconds_bucket"][(("command", "tokenize"), ("le", "+Inf"))] == 2.0
    batches = found["tutor_batch_size_count"][(("command", "sentiment"),)]
    assert batches == sum(sizes.values())
    assert found["tutor_batch_size_sum"][(("command", "sentiment"),)] == 1 + len(TEXTS)
    assert found["tutor_batch_size_bucket"][(("command", "sentiment"), ("le", "1"))] == sizes[1]
    assert found["tutor_queue_depth"][()] == 0.0 and found["tutor_model_loads_total"][()] >= 2
    # prometheus_client's own collectors: this process's CPU, memory and start, Python, the collector
    assert found["process_cpu_seconds_total"][()] > 0 and found["process_resident_memory_bytes"][()] > 0
    assert "python_info" in found and "python_gc_collections_total" in found


async def test_each_health_server_has_its_own_registry(engine: Engine):
    """Two servers in one process (tests, or a restart) register the same names without a clash, and the
    library's global registry holds none of the tutor's metrics."""
    from prometheus_client import REGISTRY

    first, second = await scrape(engine), await scrape(engine)
    assert "tutor_queue_depth 0.0" in first[1] and "tutor_queue_depth 0.0" in second[1]
    assert not [m.name for m in REGISTRY.collect() if m.name.startswith("tutor_")]


async def test_metrics_off_serve_no_metrics_route(engine: Engine):
    runner, port = await start_health_server(build_health_app(engine, lambda: {"slack": "running"}, metrics=False),
                                             "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as response:
            assert response.status == 404
    finally:
        await runner.cleanup()


def test_a_one_shot_ask_never_imports_prometheus_client(tmp_path: Path) -> None:
    """prometheus_client is the health server's: `tutor ask` answers without loading it."""
    script = ("import sys\nfrom bot.ops.cli import main\n"
              "code = main(['--pack', 'tiny', 'ask', '/tokenize Hello'])\n"
              "print(code, 'prometheus_client' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TUTOR_CACHE_DIR": str(TEST_CACHE)}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0 False", done.stdout
