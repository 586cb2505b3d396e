"""HTTP mode (Events API): signatures, stale timestamps, url_verification and retries, end to end."""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot.slack.app import SlackAdapter
from bot.slack.config import SlackConfig
from bot.slack.http import EVENTS_PATH, build_http_app
from core.engine import Engine
from core.policy import Policy
from core.settings import ConfigError, Settings
from tests.support import listening

try:
    from tests.support.fake_slack import BOT_USER, FAKE_COMMANDS, FakeSlack
except ImportError:  # tests/ imported as a package
    from tests.support.fake_slack import BOT_USER, FAKE_COMMANDS, FakeSlack

SECRET = "http-test-signing-secret"
ROOT = Path(__file__).resolve().parents[3]

# Slack's documented example (see /work/shared/reference/platforms.md).
EXAMPLE_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
EXAMPLE_TIMESTAMP = "1531420618"
EXAMPLE_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
EXAMPLE_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


class ExampleClock:
    def now(self) -> float:
        return float(EXAMPLE_TIMESTAMP)


def sign(body: str | bytes, timestamp: int | str, secret: str = SECRET) -> str:
    """Our own implementation of Slack's v0 signature (over the raw bytes), independent of slack_sdk."""
    raw = body.encode() if isinstance(body, str) else body
    base = f"v0:{timestamp}:".encode() + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def test_documented_signature_example_verifies() -> None:
    verifier = SignatureVerifier(EXAMPLE_SECRET, clock=ExampleClock())
    assert sign(EXAMPLE_BODY, int(EXAMPLE_TIMESTAMP), EXAMPLE_SECRET) == EXAMPLE_SIGNATURE
    assert verifier.generate_signature(timestamp=EXAMPLE_TIMESTAMP, body=EXAMPLE_BODY) == EXAMPLE_SIGNATURE
    assert verifier.is_valid(EXAMPLE_BODY, EXAMPLE_TIMESTAMP, EXAMPLE_SIGNATURE)
    assert not verifier.is_valid(EXAMPLE_BODY + "x", EXAMPLE_TIMESTAMP, EXAMPLE_SIGNATURE)
    assert not SignatureVerifier(EXAMPLE_SECRET).is_valid(EXAMPLE_BODY, EXAMPLE_TIMESTAMP, EXAMPLE_SIGNATURE), \
        "today the example's 2018 timestamp is stale"


@pytest.fixture(scope="module")
def engine(tiny_settings: Settings) -> Iterator[Engine]:
    engine = Engine(tiny_settings, registry=FAKE_COMMANDS)
    yield engine
    engine.close()


@asynccontextmanager
async def http_bot(engine: Engine, settings: Settings) -> AsyncIterator[tuple[FakeSlack, str]]:
    """The adapter's Events API server on a free port, its Web API pointed at a FakeSlack."""
    fake = await FakeSlack().start()
    adapter = SlackAdapter(Policy(engine), http_env(fake))
    runner = web.AppRunner(build_http_app(adapter.build_app(), SECRET))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield fake, f"http://127.0.0.1:{port}{EVENTS_PATH}"
    finally:
        await runner.cleanup()
        await fake.stop()


def http_env(fake: FakeSlack, **env: str) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url, **env}


@asynccontextmanager
async def serving(adapter: SlackAdapter) -> AsyncIterator[asyncio.Task[None]]:
    """`adapter.serve()` as a task; stopped and awaited on the way out."""
    task = asyncio.create_task(adapter.serve())
    try:
        yield task
    finally:
        await adapter.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


def slash_body(fake: FakeSlack, text: str) -> str:
    return urlencode(fake.slash_payload("/echo", text))


async def post(url: str, body: str | bytes, *, timestamp: int | str | None = None, signature: str | None = None,
               content_type: str = "application/x-www-form-urlencoded",
               extra: dict[str, str] | None = None) -> tuple[int, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(timestamp),
               "X-Slack-Signature": signature or sign(body, timestamp), **(extra or {})}
    data = body.encode() if isinstance(body, str) else body
    async with aiohttp.ClientSession() as session, session.post(url, data=data, headers=headers) as response:
        return response.status, await response.text()


@pytest.mark.asyncio
async def test_signed_slash_command_is_accepted_and_answered(engine: Engine, tiny_settings: Settings) -> None:
    async with http_bot(engine, tiny_settings) as (fake, url):
        started = time.monotonic()
        status, _ = await post(url, slash_body(fake, "over http"))
        assert status == 200 and time.monotonic() - started < 3.0
        [answer] = await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
        assert "You said: *over http*" in answer.text


@pytest.mark.asyncio
async def test_bad_signature_and_stale_timestamp_get_401(engine: Engine, tiny_settings: Settings) -> None:
    async with http_bot(engine, tiny_settings) as (fake, url):
        body = slash_body(fake, "forged")
        status, _ = await post(url, body, signature=sign(body, int(time.time()), "wrong-secret"))
        assert status == 401
        stale = int(time.time()) - 301
        status, _ = await post(url, body, timestamp=stale, signature=sign(body, stale))
        assert status == 401
        status, _ = await post(url, body, signature="v0=" + "0" * 64)
        assert status == 401
        await fake.settle()
        assert fake.messages() == []


@pytest.mark.asyncio
async def test_url_verification_answers_the_challenge(engine: Engine, tiny_settings: Settings) -> None:
    async with http_bot(engine, tiny_settings) as (_, url):
        body = json.dumps({"token": "legacy", "challenge": "c-123", "type": "url_verification"})
        status, text = await post(url, body, content_type="application/json")
        assert status == 200 and "c-123" in text


@pytest.mark.asyncio
async def test_retried_http_event_is_answered_once(engine: Engine, tiny_settings: Settings) -> None:
    async with http_bot(engine, tiny_settings) as (fake, url):
        event = {"type": "app_mention", "user": "U2", "text": f"<@{BOT_USER}> echo retried", "ts": "1.5",
                 "channel": "C9"}
        body = json.dumps({"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                           "event_id": "EvHttp1", "event_time": 1, "event": event,
                           "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}]})
        assert (await post(url, body, content_type="application/json"))[0] == 200
        await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
        retry_headers = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
        assert (await post(url, body, content_type="application/json", extra=retry_headers))[0] == 200
        await fake.settle()
        [answer] = fake.calls_to("chat.postMessage")
        assert answer.params["thread_ts"] == "1.5" and "You said: *retried*" in answer.text


@pytest.mark.asyncio
async def test_serve_slack_http_mode_listens_on_the_port(engine: Engine, tiny_settings: Settings) -> None:
    fake = await FakeSlack().start()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    adapter = SlackAdapter(Policy(engine), http_env(fake, SLACK_MODE="http", SLACK_PORT=str(port)))
    assert adapter.describe() == "slack (HTTP Events API)"
    try:
        async with serving(adapter) as server:
            url = f"http://127.0.0.1:{port}{EVENTS_PATH}"
            await fake.wait_for(lambda: server.done() or listening("127.0.0.1", port), 10)
            status, _ = await post(url, slash_body(fake, "served"))
            assert status == 200
            [answer] = await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
            assert "You said: *served*" in answer.text
        assert server.done() and not listening("127.0.0.1", port), "stop() closes the listener"
    finally:
        await fake.stop()


@pytest.mark.parametrize(("changes", "mode", "variable"), [
    ({"SLACK_BOT_TOKEN": ""}, "socket", "SLACK_BOT_TOKEN"),
    ({"SLACK_APP_TOKEN": ""}, "socket", "SLACK_APP_TOKEN"),
    ({"SLACK_SIGNING_SECRET": ""}, "http", "SLACK_SIGNING_SECRET"),
])
def test_missing_tokens_are_config_errors(changes: dict, mode: str, variable: str) -> None:
    tokens = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_SIGNING_SECRET": "s", "SLACK_MODE": mode}
    with pytest.raises(ConfigError, match=variable):
        SlackAdapter.check({**tokens, **changes})
    SlackAdapter.check({**tokens, **{k: "set" for k in changes}})


FORM, JSON = "application/x-www-form-urlencoded", "application/json"
MALFORMED = {
    "form body with invalid UTF-8": (b"command=%2Fecho&text=caf\xe9\xff&user_id=U1", FORM),
    "broken JSON": (b'{"type": "event_callback", "event": {', JSON),
    "JSON array": (b'[{"type": "event_callback"}]', JSON),
    "JSON string": (b'"event_callback"', JSON),
    "payload= with broken JSON": (b"payload=%7B%22type%22%3A%20%22block_actions", FORM),
    "payload= with a JSON array": (b"payload=%5B1%2C2%5D", FORM),
    "JSON with invalid UTF-8": (b'{"type": "event_callback", "x": "\xff"}', JSON),
}


def endpoint_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the server logged about a request, beside aiohttp's access line."""
    return [r for r in caplog.records
            if r.name.startswith(("tutor", "slack_bolt", "slack_sdk", "aiohttp")) and r.name != "aiohttp.access"]


def assert_one_line_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    records = endpoint_records(caplog)
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].exc_info is None and "Traceback" not in caplog.text


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", sorted(MALFORMED))
async def test_signed_malformed_body_gets_400_in_one_line(kind: str, engine: Engine, tiny_settings: Settings,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    body, content_type = MALFORMED[kind]
    async with http_bot(engine, tiny_settings) as (fake, url):
        caplog.clear()
        with caplog.at_level(logging.INFO):
            status, _ = await post(url, body, content_type=content_type)
        assert status == 400
        assert_one_line_no_traceback(caplog)
        await fake.settle(0.1)
        assert fake.messages() == []


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", sorted(MALFORMED))
async def test_unsigned_malformed_body_gets_401_in_one_line(kind: str, engine: Engine, tiny_settings: Settings,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    body, content_type = MALFORMED[kind]
    async with http_bot(engine, tiny_settings) as (fake, url):
        caplog.clear()
        with caplog.at_level(logging.INFO):
            status, _ = await post(url, body, content_type=content_type, signature="v0=" + "1" * 64)
        assert status == 401
        assert_one_line_no_traceback(caplog)
        assert fake.messages() == []


@pytest.mark.asyncio
@pytest.mark.parametrize("timestamp", ["abc", "", "1e9", "-5", "１２３", "9" * 40, " 1700000000"])  # noqa: RUF001
@pytest.mark.parametrize("signed", [True, False])
async def test_bad_timestamp_gets_401_in_one_line(timestamp: str, signed: bool, engine: Engine,
                                                  tiny_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    async with http_bot(engine, tiny_settings) as (fake, url):
        body = slash_body(fake, "what time is it")
        signature = sign(body, timestamp) if signed else "v0=" + "2" * 64
        caplog.clear()
        with caplog.at_level(logging.INFO):
            status, _ = await post(url, body, timestamp=timestamp, signature=signature)
        assert status == 401
        assert_one_line_no_traceback(caplog)


@pytest.mark.asyncio
async def test_missing_signature_headers_get_401(engine: Engine, tiny_settings: Settings) -> None:
    async with http_bot(engine, tiny_settings) as (fake, url):
        async with aiohttp.ClientSession() as session, \
                session.post(url, data=slash_body(fake, "no headers"), headers={"Content-Type": FORM}) as r:
            assert r.status == 401
        await fake.settle(0.1)
        assert fake.messages() == []


@pytest.mark.asyncio
async def test_replayed_slash_command_is_answered_once(engine: Engine, tiny_settings: Settings) -> None:
    async with http_bot(engine, tiny_settings) as (fake, url):
        body, timestamp = slash_body(fake, "replayed"), int(time.time())
        signature = sign(body, timestamp)
        assert (await post(url, body, timestamp=timestamp, signature=signature))[0] == 200
        await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
        assert (await post(url, body, timestamp=timestamp, signature=signature))[0] == 200
        await fake.settle()
        assert len(fake.calls_to("chat.postMessage")) == 1


def event_body(event: dict, event_id: str = "EvOdd") -> str:
    return json.dumps({"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                       "event_id": event_id, "event_time": 1, "event": event,
                       "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}]})


@pytest.mark.asyncio
async def test_lone_surrogate_in_an_http_event_is_answered_cleanly(engine: Engine, tiny_settings: Settings,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    async with http_bot(engine, tiny_settings) as (fake, url):
        event = {"type": "app_mention", "user": "U2\ud800", "text": f"<@{BOT_USER}> echo x\ud800y", "ts": "1.7",
                 "channel": "C9"}
        body = event_body(event)
        assert "\\ud800" in body, "json.dumps escapes it, as Slack may"
        assert (await post(url, body, content_type=JSON))[0] == 200
        [answer] = await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
        assert "You said: *x\ufffdy*" in answer.text
        await fake.settle()
        assert [r.getMessage() for r in caplog.records if r.exc_info] == []


ODD_SHAPES = {
    "event is a string": (event_body("x"), JSON),  # type: ignore[arg-type]
    "event is a list": (event_body([]), JSON),  # type: ignore[arg-type]
    "mention without user, ts or channel": (event_body({"type": "app_mention", "text": "echo hi"}), JSON),
    "mention with numbers for ids": (event_body({"type": "app_mention", "text": "echo hi", "user": 5, "ts": 5,
                                                 "channel": 5}), JSON),
    "team is a number": (json.dumps({"type": "event_callback", "team": 5}), JSON),
    "actions is a string": (json.dumps({"type": "block_actions", "actions": "x"}), JSON),
    "actions holds a number": (json.dumps({"type": "block_actions", "actions": [5]}), JSON),
    "view is a number": (json.dumps({"type": "view_submission", "view": 5}), JSON),
    "payload= with actions as a number": (urlencode({"payload": json.dumps({"type": "block_actions",
                                                                             "actions": 5})}), FORM),
    "slash command without channel or user": (urlencode({"command": "/echo", "text": "x"}), FORM),
    "slash command text only": (urlencode({"text": "x"}), FORM),
}


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", sorted(ODD_SHAPES))
async def test_signed_request_of_an_odd_shape_is_never_a_500(kind: str, engine: Engine, tiny_settings: Settings,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    body, content_type = ODD_SHAPES[kind]
    async with http_bot(engine, tiny_settings) as (fake, url):
        status, _ = await post(url, body, content_type=content_type)
        await fake.settle()
        assert status in (200, 400, 404)
        assert [r.getMessage() for r in caplog.records if r.exc_info] == []
        assert fake.calls_to("chat.postMessage") == []


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def test_slack_host_defaults_to_loopback_and_is_read_from_slack_host() -> None:
    assert SlackConfig.read({}).host == "127.0.0.1"
    assert SlackConfig.read({"SLACK_HOST": "0.0.0.0"}).host == "0.0.0.0"


@pytest.mark.asyncio
async def test_http_mode_listens_on_slack_host(engine: Engine, tiny_settings: Settings) -> None:
    fake = await FakeSlack().start()
    port = free_port("127.0.0.2")
    env = http_env(fake, SLACK_MODE="http", SLACK_HOST="127.0.0.2", SLACK_PORT=str(port))
    try:
        async with serving(SlackAdapter(Policy(engine), env)) as server:
            await fake.wait_for(lambda: server.done() or listening("127.0.0.2", port), 10)
            assert not server.done()
            assert not listening("127.0.0.1", port), "only the configured address"
            status, _ = await post(f"http://127.0.0.2:{port}{EVENTS_PATH}", slash_body(fake, "on .2"))
            assert status == 200
    finally:
        await fake.stop()


@pytest.mark.asyncio
@pytest.mark.parametrize("host", ["not-an-address.invalid", "256.1.1.1", "in-use"])
async def test_an_address_we_cannot_listen_on_is_a_config_error(host: str, engine: Engine,
                                                                tiny_settings: Settings) -> None:
    fake = await FakeSlack().start()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        address = "127.0.0.1" if host == "in-use" else host
        adapter = SlackAdapter(Policy(engine), http_env(fake, SLACK_MODE="http", SLACK_HOST=address,
                                                        SLACK_PORT=str(port)))
        try:
            with pytest.raises(ConfigError, match=rf"Cannot serve the Slack Events API on {re.escape(address)}:{port}"):
                await asyncio.wait_for(adapter.serve(), 30)
        finally:
            await fake.stop()


@pytest.mark.asyncio
async def test_tutor_slack_host_flag_wins_over_slack_host(tiny_settings: Settings) -> None:
    """The real CLI: `tutor slack --http --host 127.0.0.2 --port P` with SLACK_HOST=127.0.0.3 set."""
    fake = await FakeSlack().start()
    port = free_port("127.0.0.2")
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url,
           "SLACK_HOST": "127.0.0.3", "TUTOR_CACHE_DIR": str(tiny_settings.cache_dir), "SLACK_APP_TOKEN": ""}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--pack", "tiny", "slack", "--http", "--host", "127.0.0.2",
        "--port", str(port),
        env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        await fake.wait_for(lambda: process.returncode is not None or listening("127.0.0.2", port), 60)
        assert process.returncode is None, "the CLI stopped before listening"
        assert not listening("127.0.0.3", port)
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, output.decode()
        assert f"listening on http://127.0.0.2:{port}/slack/events" in output.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await fake.stop()
