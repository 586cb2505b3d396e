"""Processes sharing a fresh cache: they take turns building, and every one of them answers.

Before the file lock, simultaneous first starts raced: one process removed the folder another had just
renamed into place, or was loading from (3 failures in 46 starts)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from core.integrity import damage
from core.tiny import tiny_dir

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 6
CHILD = """
import asyncio, os, sys, time
from pathlib import Path
import torch, transformers
from transformers import AutoTokenizer, BertModel, GPT2LMHeadModel
from core.engine import Engine
from core.settings import Settings

go = Path(sys.argv[2])
(go.parent / f"ready-{os.getpid()}").touch()
while not go.exists():  # everyone has imported: all start building at the same moment
    time.sleep(0.01)

async def main() -> None:
    engine = Engine(Settings(pack="tiny", cache_dir=Path(sys.argv[1])))
    for line in ("/sentiment I love this", "/generate Hi max_new_tokens=2"):  # no pipeline import: quicker
        result = await engine.run_text(line)
        print(result.command, "answered")
    engine.close()

asyncio.run(main())
"""


def test_processes_starting_together_on_an_empty_cache_all_answer(tmp_path: Path) -> None:
    cache, go = tmp_path / "cache", tmp_path / "go"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(cache), str(go)], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(PROCESSES)]
    deadline = time.monotonic() + 300
    while len(list(tmp_path.glob("ready-*"))) < PROCESSES and time.monotonic() < deadline:
        time.sleep(0.1)
    go.touch()
    outcomes = [child.communicate(timeout=600) for child in children]
    for child, (out, err) in zip(children, outcomes, strict=False):
        assert child.returncode == 0, err[-3000:]
        assert out.split("\n")[:2] == ["sentiment answered", "generate answered"], out
    base = tiny_dir(cache)
    assert (base / "DONE").is_file() and all(damage(base / c) is None for c in ("sentiment", "generate"))
    assert [p.name for p in cache.iterdir() if p.name.startswith(".")] == []  # no staging folder left behind
