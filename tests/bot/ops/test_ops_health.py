"""The health server against hostile clients: half-open connections are closed, bad requests are one line.

Raw sockets, not an HTTP client: a slowloris client sends a request's first lines and never the
blank line that ends the headers, or trickles one byte at a time. The server's idle time-out is
made short here (the default is IDLE_TIMEOUT_S) so the test waits about a second, not minutes.
"""
from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.ops.health import IDLE_TIMEOUT_S, build_health_app, start_health_server
from core.engine import Engine

PARTIAL = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


@pytest.fixture
async def health_port(tiny_engine: Engine):
    app = build_health_app(tiny_engine, lambda: {"slack": "running"}, metrics=True)
    runner, port = await start_health_server(app, "127.0.0.1", 0, idle_timeout_s=1.0)
    yield port
    await runner.cleanup()


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    """True when the server closes the connection (EOF) within `seconds`."""
    try:
        return await asyncio.wait_for(reader.read(), seconds) == b"" or reader.at_eof()
    except TimeoutError:
        return False


def test_the_default_idle_time_out_is_short_enough_for_a_probe_and_bounded() -> None:
    assert 1 <= IDLE_TIMEOUT_S <= 30


async def test_half_open_connections_are_closed_within_the_idle_time_out(health_port: int) -> None:
    connections = [await asyncio.open_connection("127.0.0.1", health_port) for _ in range(50)]
    for _reader, writer in connections:
        writer.write(PARTIAL)
        await writer.drain()
    started = time.monotonic()
    closed = await asyncio.gather(*(closed_within(reader, 5.0) for reader, _ in connections))
    elapsed = time.monotonic() - started
    for _reader, writer in connections:
        writer.close()
    assert all(closed), f"{closed.count(False)} of 50 half-open connections still held after 5 s"
    assert elapsed < 4.0


async def test_a_client_that_trickles_a_header_byte_by_byte_is_still_closed(health_port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", health_port)
    started = time.monotonic()
    try:
        for byte in PARTIAL + b"a" * 40:
            if reader.at_eof() or writer.is_closing():
                break
            writer.write(bytes([byte]))
            await asyncio.sleep(0.1)
            if time.monotonic() - started > 6:
                break
        assert await closed_within(reader, 1.0), "a trickling client kept the connection open"
    except (ConnectionResetError, BrokenPipeError):
        pass  # closed while we were writing: what we want
    finally:
        writer.close()
    assert time.monotonic() - started < 4.0


async def test_a_connection_that_sends_nothing_is_closed(health_port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", health_port)
    try:
        assert await closed_within(reader, 5.0)
    finally:
        writer.close()


async def test_an_over_long_header_gets_400_and_one_debug_line(health_port: int,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    reader, writer = await asyncio.open_connection("127.0.0.1", health_port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 20_000 + b"\r\n\r\n")
    await writer.drain()
    reply = await asyncio.wait_for(reader.read(), 5.0)
    writer.close()
    assert reply.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request")
    loud = [r for r in caplog.records if r.levelno >= logging.INFO and r.name.startswith(("aiohttp", "tutor"))]
    assert loud == [], [r.getMessage() for r in loud]
    assert not any(r.exc_info for r in caplog.records), "no traceback for a bad request"
    bad = [r for r in caplog.records if r.name == "tutor.health" and "bad request" in r.getMessage()]
    assert len(bad) == 1 and "\n" not in bad[0].getMessage()


async def test_a_non_http_first_line_is_one_debug_line_too(health_port: int,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    reader, writer = await asyncio.open_connection("127.0.0.1", health_port)
    writer.write(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n")  # a TLS hello on a plain port
    await writer.drain()
    await asyncio.wait_for(reader.read(), 5.0)
    writer.close()
    assert not any(r.exc_info for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and r.name.startswith(("aiohttp", "tutor"))]


async def test_health_still_answers_after_the_hostile_clients(health_port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", health_port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    reply = await asyncio.wait_for(reader.read(), 5.0)
    writer.close()
    assert reply.startswith(b"HTTP/1.1 200") and b'"status": "ok"' in reply
