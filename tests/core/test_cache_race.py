"""Processes sharing a fresh cache: they take turns building, and every one of them answers.

Before the file lock, simultaneous first starts raced: one process removed the folder another had just
renamed into place, or was loading from (3 failures in 46 starts).

One launcher pays the imports of torch and transformers once and forks the racers from there (each a process of
its own, with its own descriptors on the cache's lock): six interpreters importing them side by side cost more
than the race itself on two cores."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core.integrity import damage
from core.tiny import tiny_dir

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 6
LAUNCHER = """
import asyncio, json, os, sys, time, traceback
from pathlib import Path
import torch, transformers
from transformers import AutoTokenizer, BertModel, GPT2LMHeadModel
from core.engine import Engine
from core.settings import Settings

cache, folder, processes = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
go = folder / "go"

async def main() -> None:
    engine = Engine(Settings(pack="tiny", cache_dir=cache))
    for line in ("/sentiment I love this", "/generate Hi max_new_tokens=2"):  # no pipeline import: quicker
        result = await engine.run_text(line)
        print(result.command, "answered")
    engine.close()

def racer(number: int) -> None:
    for fd, name in ((1, "out"), (2, "err")):
        os.dup2(os.open(folder / f"{name}-{number}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
    while not go.exists():  # everyone is forked: all start building at the same moment
        time.sleep(0.01)
    code = 0
    try:
        asyncio.run(main())
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

children = []
for number in range(processes):
    pid = os.fork()
    if pid == 0:
        racer(number)
    children.append(pid)
go.touch()
print(json.dumps([os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]))
"""


def test_processes_starting_together_on_an_empty_cache_all_answer(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    launched = subprocess.run([sys.executable, "-c", LAUNCHER, str(cache), str(tmp_path), str(PROCESSES)], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=600)
    assert launched.returncode == 0, launched.stderr[-3000:]
    codes = json.loads(launched.stdout.splitlines()[-1])
    assert len(codes) == PROCESSES
    for number, code in enumerate(codes):
        out, err = ((tmp_path / f"{name}-{number}").read_text() for name in ("out", "err"))
        assert code == 0, err[-3000:]
        assert out.split("\n")[:2] == ["sentiment answered", "generate answered"], out
    base = tiny_dir(cache)
    assert (base / "DONE").is_file() and all(damage(base / c) is None for c in ("sentiment", "generate"))
    assert [p.name for p in cache.iterdir() if p.name.startswith(".")] == []  # no staging folder left behind
