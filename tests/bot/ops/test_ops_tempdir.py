"""A read-only root where /tmp cannot be written either (a cluster without a scratch volume): temporary files go
to the data folder (TUTOR_CACHE_DIR/tmp), and where that cannot be written either, one line says so.

The child runs in a mount namespace of its own where /tmp and /var/tmp are read-only bind mounts (root ignores
permission bits, so a chmod would prove nothing); its working folder and TMPDIR lie on that read-only /tmp.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT, TEST_CACHE

READ_ONLY_TMP = ('for d in /tmp /var/tmp; do if [ -d "$d" ]; then mount --bind "$d" "$d" && '
                 'mount -o remount,bind,ro "$d" || exit 97; fi; done; exec "$@"')


def read_only_root(tmp_path: Path) -> tuple[str, ...]:
    """The command prefix that runs a child with /tmp and /var/tmp read-only (or skips, saying why)."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and `unshare` to make /tmp read-only for a child (a mount namespace)")
    prefix = ("unshare", "-m", "sh", "-c", READ_ONLY_TMP, "read-only-tmp")
    probe = subprocess.run([*prefix, "sh", "-c", f"touch {tmp_path}/probe"], capture_output=True, timeout=30)
    if probe.returncode == 0 or b"Read-only" not in probe.stderr:
        pytest.skip(f"a read-only bind mount of /tmp is not possible here: {probe.stderr.decode()[-200:]}")
    return prefix


def tutor(prefix: tuple[str, ...], tmp_path: Path, *args: str, cache: Path) -> subprocess.CompletedProcess:
    (tmp_path / "tmpdir").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "TUTOR_"))}
    env |= {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TUTOR_CACHE_DIR": str(cache), "TUTOR_PACK": "tiny",
            "TMPDIR": str(tmp_path / "tmpdir"), "MPLCONFIGDIR": str(tmp_path / "matplotlib")}
    return subprocess.run([*prefix, sys.executable, "-m", "bot", *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)


def test_ask_answers_with_its_temporary_files_in_the_data_folder(tmp_path: Path) -> None:
    """Loading a model made transformers ask for a temporary file: "No usable temporary directory found"."""
    if any(TEST_CACHE.resolve().is_relative_to(folder) for folder in (Path("/tmp"), Path("/var/tmp"))):
        pytest.skip(f"the tests' data folder {TEST_CACHE} lies under the /tmp this test makes read-only")
    prefix = read_only_root(tmp_path)
    out = TEST_CACHE / "out-read-only-root"
    done = tutor(prefix, tmp_path, "ask", "/attention The cat sat. head=mean", "--out", str(out), cache=TEST_CACHE)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "No usable temporary directory" not in done.stderr
    pictures = [Path(line) for line in done.stdout.split("Images:\n", 1)[1].splitlines() if line.startswith("/")]
    assert pictures and pictures[0].read_bytes().startswith(b"\x89PNG")
    doctor = tutor(prefix, tmp_path, "doctor", cache=TEST_CACHE)
    assert (f"Temporary files go to {TEST_CACHE / 'tmp'} (in TUTOR_CACHE_DIR): TMPDIR, /tmp, /var/tmp and the "
            "working folder cannot be written.") in doctor.stdout.splitlines()


def test_nothing_writable_is_one_line_at_start_and_a_doctor_problem(tmp_path: Path) -> None:
    prefix = read_only_root(tmp_path)
    cache = tmp_path / "cache"  # on the read-only /tmp too
    done = tutor(prefix, tmp_path, "ask", "/sentiment I love it", cache=cache)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "Configuration error: No folder for temporary files: TMPDIR, /tmp, /var/tmp and the working folder cannot "
        f"be written, and neither can {cache / 'tmp'} (in TUTOR_CACHE_DIR). Mount a writable /tmp (a tmpfs) or "
        "point TMPDIR or TUTOR_CACHE_DIR at a writable folder.")
    doctor = tutor(prefix, tmp_path, "doctor", cache=cache)
    assert doctor.returncode == 1
    assert any(line.startswith("  PROBLEM: No folder for temporary files:") for line in doctor.stdout.splitlines())


def test_a_writable_system_folder_is_kept(tmp_path: Path) -> None:
    """The data folder is only the fallback: with /tmp writable, Python's own choice stands."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    script = ("from pathlib import Path\nfrom bot.ops import tempdir\n"
              f"found = tempdir.find(Path({str(TEST_CACHE)!r}))\ntempdir.use(found)\n"
              "import tempfile\nprint(found.path, found.fallback, tempfile.gettempdir())")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(tmp_path), "False", str(tmp_path)]
