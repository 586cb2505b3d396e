"""The Hugging Face Hub as huggingface_hub sees it: HF_HUB_OFFLINE read by its rules, the reachability check
through its own HTTP session (proxies honoured), and a Hub that is not there failing in one clear line.

Each check runs in a fresh interpreter: huggingface_hub reads HF_HUB_OFFLINE, HF_ENDPOINT and the proxies once,
when it is first imported. Nothing here leaves this machine: the Hub is a closed port or a name under `.invalid`
that only a local proxy answers for.
"""
from __future__ import annotations

import os
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import ROOT, TEST_CACHE

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def clean_environment(**env: str) -> dict[str, str]:
    drop = {v for name in PROXY_VARIABLES for v in (name, name.lower())} | {"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
                                                                            "HF_ENDPOINT"}
    base = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("DISCORD_", "SLACK_"))}
    return {**base, "PYTHONPATH": str(ROOT), "TUTOR_CACHE_DIR": str(TEST_CACHE), **env}


def reachable(**env: str) -> str:
    """What `hub_reachable()` and `hub_offline()` answer in a fresh interpreter with this environment."""
    script = "from core.models import hub_offline, hub_reachable\nprint(hub_offline(), hub_reachable(timeout_s=10))"
    done = subprocess.run([sys.executable, "-c", script], env=clean_environment(**env), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed: connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "on", "On"])
def test_hf_hub_offline_is_read_by_huggingface_hubs_rules(value: str) -> None:
    """core/models.py took 1/true/yes and bot/ops/admin.py 1/true; huggingface_hub also takes on (any case)."""
    assert reachable(HF_HUB_OFFLINE=value, HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}") == "True False"


@pytest.mark.parametrize("value", ["0", "false", "off", ""])
def test_hf_hub_offline_off_values_leave_the_network_on(value: str) -> None:
    assert reachable(HF_HUB_OFFLINE=value, HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}") == "False False"


class RecordingProxy(socketserver.ThreadingTCPServer):
    """An HTTP proxy on loopback that answers every request itself with 200 and keeps its request line."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.requests: list[str] = []
        super().__init__(("127.0.0.1", 0), ProxyHandler)


class ProxyHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        request_line = self.rfile.readline().decode("latin-1").strip()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        self.server.requests.append(request_line)  # type: ignore[attr-defined]
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    server = RecordingProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_the_reachability_check_goes_through_the_proxy_as_downloads_do(proxy: RecordingProxy) -> None:
    """A raw TCP connection to the endpoint ignored HTTP(S)_PROXY: behind a proxy, with no DNS of its own, the
    Hub was called unreachable although every download would have worked."""
    port = proxy.server_address[1]
    assert reachable(HF_ENDPOINT="http://hub.invalid", HTTP_PROXY=f"http://127.0.0.1:{port}") == "False True"
    assert proxy.requests and proxy.requests[0].startswith("HEAD http://hub.invalid"), proxy.requests


def test_an_endpoint_that_refuses_is_unreachable() -> None:
    assert reachable(HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}") == "False False"


def test_hf_hub_offline_from_dotenv_reaches_huggingface_hub_and_the_pull_says_why(tmp_path: Path) -> None:
    """`.env` is exported into the environment before huggingface_hub is imported, so its HF_* settings
    work outside Docker as they do under compose's env_file."""
    (tmp_path / ".env").write_text(f"HF_HUB_OFFLINE=on # no network\nHF_ENDPOINT=http://127.0.0.1:{closed_port()}\n")
    done = subprocess.run([sys.executable, "-m", "bot", "models", "pull", "--pack", "hub"], cwd=tmp_path,
                          env=clean_environment(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    line = done.stderr.strip()
    assert line.startswith("Cannot pull: Cannot reach the Hugging Face Hub (HF_HUB_OFFLINE is set) to download ")
    assert "Traceback" not in done.stderr
