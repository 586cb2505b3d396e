"""The prepared GPU check (scripts/gpu_check.py) stays runnable where there is no GPU: its dry run
compares the CPU with itself over every model command's examples."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT, TEST_CACHE


def test_the_gpu_checks_dry_run_answers_every_model_command_the_same_twice(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TUTOR_CACHE_DIR": str(TEST_CACHE)}
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_check.py"), "--device", "cpu"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    same = re.search(r"^(\d+) of (\d+) answers the same on cpu as on cpu$", done.stdout, re.M)
    assert same and same.group(1) == same.group(2) and int(same.group(2)) >= 15, done.stdout[-800:]
    assert "DIFFERENT" not in done.stdout
    assert "'generate'" in done.stdout and "'attention'" in done.stdout, "the models it loaded are listed"
