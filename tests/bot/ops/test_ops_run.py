"""`tutor run` as the container runs it: real processes, real HTTP, the real adapters against local fakes.

- A real `tutor run` process with Slack (Socket Mode) pointed at FakeSlack: it says what it started,
  answers a slash command, serves /healthz and /metrics, logs one structured line per request, and
  stops cleanly on SIGTERM (what `docker stop` sends).
- In-process `serve_all` with Discord (FakeDiscord) and Slack together on one engine: one SIGTERM
  closes both, and a rejected Discord token stops Slack too and surfaces as a ConfigError.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
import time
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.adapter import nothing_configured
from bot.ops.run import describe, plan, serve_all
from core.engine import Engine
from core.policy import Policy
from core.settings import ConfigError, Settings
from tests.support.paths import ROOT, TEST_CACHE

try:
    from tests.support.fake_discord import FakeDiscord, patch_discord
    from tests.support.fake_slack import FakeSlack
except ImportError:  # tests/ imported as a package
    from tests.support.fake_discord import FakeDiscord, patch_discord
    from tests.support.fake_slack import FakeSlack


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def read_until(stream: asyncio.StreamReader, pattern: str, timeout: float, seen: list[str]) -> str:
    """Lines of a child's output until one matches `pattern` (everything read is kept in `seen`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = await asyncio.wait_for(stream.readline(), max(0.1, deadline - time.monotonic()))
        if not line:
            break
        seen.append(line.decode())
        if re.search(pattern, seen[-1]):
            return seen[-1]
    raise AssertionError(f"no line matching {pattern!r}; got:\n{''.join(seen)}")


def child_env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "TUTOR_"))}
    return {**base, "PYTHONPATH": str(ROOT), "TUTOR_CACHE_DIR": str(TEST_CACHE), "HF_HUB_OFFLINE": "1",
            "TUTOR_PACK": "tiny", "TUTOR_COOLDOWN_S": "0", **extra}


# ----- a real `tutor run` process -----
async def test_tutor_run_serves_slack_health_and_metrics_then_stops_on_sigterm(tmp_path) -> None:
    fake = await FakeSlack().start()
    port = free_port()
    env = child_env(SLACK_BOT_TOKEN="xoxb-test", SLACK_APP_TOKEN="xapp-test", SLACK_API_URL=fake.api_url,
                    TUTOR_HEALTH_PORT=str(port))
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out: list[str] = []
    try:
        started = await read_until(proc.stdout, r"^Started:", 120, out)
        assert "slack (Socket Mode)" in started and "discord" not in started and "pack tiny" in started
        await fake.wait_connected(30)

        status, body = await get(f"http://127.0.0.1:{port}/healthz")
        health = json.loads(body)
        assert status == 200, body
        assert health == {**health, "status": "ok", "pack": "tiny", "adapters": {"slack": "running"},
                          "queue_depth": 0}

        await fake.slash("/tokenize", "hello world", user="ULEARNER")
        answered = await fake.wait_for(lambda: [m for m in fake.messages() if "hello" in m.text], 120)
        assert answered

        status, metrics = await get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        found = {(s.name, tuple(sorted(s.labels.items()))): s.value
                 for family in text_string_to_metric_families(metrics) for s in family.samples}
        assert found[("tutor_requests_total", (("command", "tokenize"), ("outcome", "ok"), ("platform", "slack")))] == 1
        assert found[("tutor_request_seconds_count", (("command", "tokenize"),))] == 1
        assert found[("tutor_queue_depth", ())] == 0 and found[("tutor_model_loads_total", ())] >= 1
        assert found[("process_resident_memory_bytes", ())] > 0

        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 15)
        rest_out, err = await proc.stdout.read(), (await proc.stderr.read()).decode()
        out.append(rest_out.decode())
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await fake.stop()
    assert code == 0, err
    assert "Stopped: slack (Socket Mode)." in "".join(out)
    assert "Traceback" not in err
    requests = [line for line in err.splitlines() if " tutor.requests request " in line]
    assert len(requests) == 1, err
    assert re.search(r"platform=slack command=tokenize user=[0-9a-f]{12} model=\"?tiny/tokenize\b[^=]*"
                     r"latency_ms=\d+ outcome=ok$", requests[0]), requests[0]
    assert "ULEARNER" not in err, "user ids are hashed in logs"


async def test_health_server_is_off_unless_a_port_is_set(tmp_path) -> None:
    fake = await FakeSlack().start()
    env = child_env(SLACK_BOT_TOKEN="xoxb-test", SLACK_APP_TOKEN="xapp-test", SLACK_API_URL=fake.api_url)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        started = await read_until(proc.stdout, r"^Started:", 120, [])
        assert "Health:" not in started
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await fake.stop()


def test_no_tokens_is_one_clear_message_and_exit_2(tmp_path) -> None:
    import subprocess

    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=child_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == f"Configuration error: {nothing_configured()}"
    assert time.monotonic() - started < 30, "no model is loaded before the check"


def test_plan_picks_adapters_from_the_tokens_that_are_set(engine: Engine) -> None:
    def started(env: dict[str, str]) -> str:
        return describe([cls(Policy(engine), env) for cls in plan(env)])

    assert started({"DISCORD_TOKEN": "x"}) == "discord"
    assert started({"DISCORD_TOKEN": "x", "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}) == \
        "discord, slack (Socket Mode)"
    assert started({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s" * 32}) == "slack (HTTP Events API)"
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        plan({"SLACK_APP_TOKEN": "xapp-1"})
    with pytest.raises(ConfigError, match="Socket Mode needs SLACK_APP_TOKEN"):
        plan({"DISCORD_TOKEN": "x", "SLACK_BOT_TOKEN": "xoxb-1"})
    with pytest.raises(ConfigError, match="nothing to run"):
        plan({})
    with pytest.raises(ConfigError, match="Set DISCORD_TOKEN"):
        plan({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, only="discord")


# ----- both adapters in one loop, on one engine -----
@pytest.fixture(scope="module")
def engine(tiny_settings: Settings) -> Any:
    engine = Engine(tiny_settings)
    yield engine
    engine.close()


async def test_one_sigterm_stops_discord_and_slack_together(engine: Engine, tiny_settings: Settings) -> None:
    discord_fake, slack_fake = FakeDiscord(), await FakeSlack().start()
    await discord_fake.start()
    port = free_port()
    env = {"DISCORD_TOKEN": "test-token", "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-test",
           "SLACK_API_URL": slack_fake.api_url}
    policy = Policy(Engine(replace(tiny_settings, health_port=port)))
    try:
        with patch_discord(discord_fake):
            serving = asyncio.create_task(serve_all(policy, env))
            await asyncio.wait_for(discord_fake.ready.wait(), 30)
            await slack_fake.wait_connected(30)
            status, body = await get(f"http://127.0.0.1:{port}/healthz")
            assert status == 200 and json.loads(body)["adapters"] == {"discord": "running", "slack": "running"}
            os.kill(os.getpid(), signal.SIGTERM)
            assert await asyncio.wait_for(serving, 15) == 0
            await discord_fake.wait_until(lambda: bool(discord_fake.close_codes), 5)
            await slack_fake.wait_for(lambda: slack_fake._ws is None or slack_fake._ws.closed, 5)
        assert len(discord_fake.identified) == 1, "closed, not reconnected"
        assert discord_fake.close_codes == [1000], "a clean close, so Discord shows the bot offline at once"
    finally:
        policy.engine.close()
        await discord_fake.stop()
        await slack_fake.stop()


async def test_a_rejected_discord_token_stops_slack_too(engine: Engine, tiny_settings: Settings,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    canary = "MTExMTExMTExMTExMTExMTEx.CANARY.discordcanarytoken0123456789"
    discord_fake, slack_fake = FakeDiscord(), await FakeSlack().start()
    discord_fake.reject_login = True
    await discord_fake.start()
    env = {"DISCORD_TOKEN": canary, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-test",
           "SLACK_API_URL": slack_fake.api_url}
    caplog.set_level("DEBUG")
    try:
        with patch_discord(discord_fake), pytest.raises(ConfigError, match="Discord rejected DISCORD_TOKEN") as info:
            await asyncio.wait_for(serve_all(Policy(engine), env), 30)
        await slack_fake.wait_for(lambda: slack_fake._ws is None or slack_fake._ws.closed, 5)
    finally:
        await discord_fake.stop()
        await slack_fake.stop()
    assert canary not in str(info.value)
    assert canary not in caplog.text, "no log line carries the token"
