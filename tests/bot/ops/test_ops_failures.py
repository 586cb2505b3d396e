"""Faults of the environment at start: one clear line and a non-zero exit, never a traceback.

Real `tutor` processes. A cache folder that is a file, lies under /proc or is read-only before the
first build; an `--out` that is a file; a health port in use or a host that is not this machine's;
Discord or Slack unreachable. `--verbose` still shows the traceback. "Read-only" is made for real:
permission bits for a normal user, a read-only bind mount in a private mount namespace for root
(whom permission bits do not stop); the test is skipped where neither works.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core.commands import build_registry
from core.policy import NO_BUTTONS
from core.tiny import tiny_models
from tests.support.paths import ROOT, TEST_CACHE

DISCORD = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123"
SLACK = {"SLACK_BOT_TOKEN": "xoxb-1234567890-abcdefghij", "SLACK_APP_TOKEN": "xapp-1-A0123456789-abcdef"}
READ_ONLY_MOUNT = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'


def environment(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "TUTOR_"))}
    return {**base, "PYTHONPATH": str(ROOT), "TUTOR_CACHE_DIR": str(TEST_CACHE), "HF_HUB_OFFLINE": "1",
            "TUTOR_PACK": "tiny", **extra}


def tutor(*args: str, cwd: Path, prefix: tuple[str, ...] = (), code: str = "", stdin: str | None = None,
          **env: str) -> subprocess.CompletedProcess:
    """`python -m bot ARGS`, or with `code` run first in the same interpreter (to point a client
    library at an address no server listens on)."""
    command = [sys.executable, "-m", "bot", *args] if not code else [
        sys.executable, "-c", f"{code}\nimport sys\nfrom bot.ops.cli import main\nsys.exit(main({list(args)!r}))"]
    return subprocess.run([*prefix, *command], cwd=cwd, env=environment(**env), capture_output=True, text=True,
                          timeout=300, input=stdin)


def assert_one_line(done: subprocess.CompletedProcess, code: int, *fragments: str) -> str:
    """Exit `code`, no traceback, and exactly one line on stderr that holds every fragment."""
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


@pytest.fixture
def read_only(tmp_path: Path):
    """Make a folder read-only for a child process; returns (folder, the child's command prefix)."""
    folder = tmp_path / "read-only-cache"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder, ()
        folder.chmod(0o755)
        return
    prefix = ("unshare", "-m", "sh", "-c", READ_ONLY_MOUNT, str(folder))
    if not shutil.which("unshare"):
        pytest.skip("running as root without `unshare`: no way to make a folder read-only for root")
    probe = subprocess.run([*prefix, "sh", "-c", f"touch {folder}/probe"], capture_output=True, timeout=30)
    if probe.returncode == 0 or b"Read-only" not in probe.stderr:
        pytest.skip(f"a read-only bind mount is not possible here: {probe.stderr.decode()[-200:]}")
    yield folder, prefix


# ----- the cache folder -----
def test_a_cache_dir_that_is_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "cache").write_text("not a folder")
    done = tutor("ask", "/sentiment hi", cwd=tmp_path, TUTOR_CACHE_DIR=str(tmp_path / "cache"))
    assert_one_line(done, 2, "Configuration error: TUTOR_CACHE_DIR", "is a file, not a folder")


def test_a_cache_dir_inside_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    done = tutor("ask", "/sentiment hi", cwd=tmp_path, TUTOR_CACHE_DIR=str(tmp_path / "file" / "cache"))
    assert_one_line(done, 2, "TUTOR_CACHE_DIR", "cannot be created: Not a directory")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("cache", ["/proc/tutor-cache", "/proc/self"])
def test_a_cache_dir_under_proc_is_one_line_and_exit_2(tmp_path: Path, cache: str) -> None:
    done = tutor("ask", "/sentiment hi", cwd=tmp_path, TUTOR_CACHE_DIR=cache)
    assert_one_line(done, 2, f"TUTOR_CACHE_DIR ({cache})", "Point TUTOR_CACHE_DIR at a folder")


def test_a_read_only_cache_before_the_first_build_is_one_line_and_exit_2(tmp_path: Path, read_only) -> None:
    folder, prefix = read_only
    done = tutor("ask", "/sentiment hi", cwd=tmp_path, prefix=prefix, TUTOR_CACHE_DIR=str(folder))
    assert_one_line(done, 2, "is not writable",
                    f"the tiny pack must first write its {len(tiny_models(build_registry()))} tiny test model(s)",
                    "`tutor models pull`")


def test_models_pull_into_a_read_only_cache_is_one_line_too(tmp_path: Path, read_only) -> None:
    folder, prefix = read_only
    done = tutor("models", "pull", "--pack", "tiny", cwd=tmp_path, prefix=prefix, TUTOR_CACHE_DIR=str(folder))
    assert_one_line(done, 2, "is not writable")


def test_a_read_only_cache_that_already_holds_the_pack_still_answers(tmp_path: Path, read_only) -> None:
    """Refuse only what cannot work: a cache filled by `models pull` may be mounted read-only."""
    folder, prefix = read_only
    built = tutor("ask", "/sentiment hi", cwd=tmp_path)  # the shared test cache holds the tiny pack after this
    assert built.returncode == 0, built.stderr
    folder.chmod(0o755)
    for pack in TEST_CACHE.glob("tiny-*"):
        if pack.is_dir():  # not the build's lock file beside it
            shutil.copytree(pack, folder / pack.name)
    if not prefix:
        folder.chmod(0o555)
    done = tutor("ask", "/sentiment hi", cwd=tmp_path, prefix=prefix, TUTOR_CACHE_DIR=str(folder))
    assert done.returncode == 0, done.stderr
    expected = built.stdout.replace(str(TEST_CACHE), str(folder))
    assert done.stdout.split("\n\n")[0] == expected.split("\n\n")[0], "the same answer"
    # `tutor chat` keeps the runs behind its choices in the database, which cannot be created in a
    # read-only cache: said, not hidden (a one-shot `ask` keeps no run, so it never needs the database)
    chatted = tutor("chat", cwd=tmp_path, prefix=prefix, stdin="/sentiment hi\n/quit\n", TUTOR_CACHE_DIR=str(folder))
    assert chatted.returncode == 0, chatted.stderr
    assert "mattered?" in expected and NO_BUTTONS not in done.stdout
    assert NO_BUTTONS in chatted.stdout and "mattered?" not in chatted.stdout


def test_doctor_names_an_unusable_cache_as_a_problem(tmp_path: Path) -> None:
    (tmp_path / "cache").write_text("")
    done = tutor("doctor", cwd=tmp_path, TUTOR_CACHE_DIR=str(tmp_path / "cache"), DISCORD_TOKEN=DISCORD)
    assert done.returncode == 1
    assert "PROBLEM: TUTOR_CACHE_DIR" in done.stdout and "is a file" in done.stdout


# ----- --out -----
def test_an_out_that_is_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "pics").write_text("")
    done = tutor("--out", "pics", "ask", "/attention The cat sat. head=mean", cwd=tmp_path)
    assert_one_line(done, 2, "Error: --out pics is a file, not a folder")


def test_an_out_inside_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "pics").write_text("")
    done = tutor("--out", "pics/today", "ask", "/attention The cat sat. head=mean", cwd=tmp_path)
    assert_one_line(done, 2, "--out pics/today lies inside a file")


def test_an_out_that_cannot_be_written_still_prints_the_answer(tmp_path: Path, read_only) -> None:
    folder, prefix = read_only
    done = tutor("--out", str(folder / "pics"), "ask", "/attention The cat sat. head=mean", cwd=tmp_path,
                 prefix=prefix)
    assert_one_line(done, 2, "The picture could not be saved in --out", "Read-only file system"
                    if prefix else "Permission denied")
    assert "What happened" in done.stdout


# ----- the health server -----
def test_a_health_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = tutor("run", cwd=tmp_path, DISCORD_TOKEN=DISCORD, TUTOR_HEALTH_PORT=str(port))
    line = assert_one_line(done, 2, f"TUTOR_HEALTH_PORT {port}", "already in use")
    assert line.startswith("Configuration error: Cannot listen on")


@pytest.mark.parametrize("host, fragment", [
    ("no-such-host.invalid", "does not resolve"),
    ("192.0.2.1", "not one of this machine's"),
    ("not a host", "TUTOR_HEALTH_HOST must be an IP address or a host name"),
])
def test_an_invalid_health_host_is_one_line_and_exit_2(tmp_path: Path, host: str, fragment: str) -> None:
    done = tutor("run", cwd=tmp_path, DISCORD_TOKEN=DISCORD, TUTOR_HEALTH_PORT=str(closed_port()),
                 TUTOR_HEALTH_HOST=host)
    assert_one_line(done, 2, "Configuration error:", fragment)


# ----- chat platforms that cannot be reached -----
def discord_at(base: str) -> str:
    return f"import discord.http\ndiscord.http.Route.BASE = {base!r}"


def last_line_and_no_traceback(done: subprocess.CompletedProcess, code: int) -> str:
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) < 10, done.stderr  # a few log lines, not 70
    return done.stderr.strip().splitlines()[-1]


def test_discord_unreachable_at_start_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """The issue's case: no DNS for Discord's host (a `.invalid` name never resolves, RFC 2606)."""
    done = tutor("discord", cwd=tmp_path, code=discord_at("http://discord.invalid/api/v10"), DISCORD_TOKEN=DISCORD)
    line = last_line_and_no_traceback(done, 1)
    assert line.startswith("Cannot reach Discord: discord.invalid:80: the host name does not resolve (DNS: ")
    assert "Check this machine's network connection, DNS and any proxy" in line and "discord.com" in line
    assert DISCORD not in done.stderr


def test_slack_unreachable_at_start_is_one_line_and_exit_1(tmp_path: Path) -> None:
    port = closed_port()
    done = tutor("slack", cwd=tmp_path, SLACK_API_URL=f"http://127.0.0.1:{port}/api/", **SLACK)
    line = last_line_and_no_traceback(done, 1)
    assert line.startswith(f"Cannot reach Slack: 127.0.0.1:{port}: ")
    assert "SLACK_API_URL" in line


def test_run_with_both_platforms_unreachable_says_so_for_each_and_exits_1(tmp_path: Path) -> None:
    port = closed_port()
    done = tutor("run", cwd=tmp_path, code=discord_at(f"http://127.0.0.1:{port}/api/v10"), DISCORD_TOKEN=DISCORD,
                 SLACK_API_URL=f"http://127.0.0.1:{port}/api/", **SLACK)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    reach = [line for line in done.stderr.splitlines() if line.startswith("Cannot reach")]
    assert reach and all(f"127.0.0.1:{port}" in line for line in reach)
    assert any(line.startswith("Cannot reach Discord") for line in reach) or \
        any(line.startswith("Cannot reach Slack") for line in reach)


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    done = tutor("--verbose", "slack", cwd=tmp_path, SLACK_API_URL=f"http://127.0.0.1:{closed_port()}/api/",
                 **SLACK)
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("Cannot reach Slack: ")
