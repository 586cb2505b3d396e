"""What keeps a start quick (bench: cold start): nothing is imported or collected that a start doesn't need."""
from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

from bot.ops.cli import _engine
from core.settings import Settings
from tests.support.paths import ROOT, TEST_CACHE


def test_a_start_without_heatmaps_never_imports_the_plotting_libraries(tmp_path: Path) -> None:
    """matplotlib + seaborn (and scipy, through seaborn) cost about a second; only /attention and
    /overview need them, and they import them on first use."""
    script = ("import sys\nfrom core.engine import Engine\nfrom core.settings import Settings\n"
              f"engine = Engine(Settings(pack='tiny', cache_dir={str(TEST_CACHE)!r}))\n"
              "print(engine.registry.get('attention') is not None)\n"
              "print(sorted(m for m in ('matplotlib', 'seaborn', 'scipy') if m in sys.modules))\n"
              "engine.close()")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "[]"]


def test_long_running_commands_turn_the_collector_back_on_after_start_up(tiny_settings: Settings) -> None:
    gc.disable()  # what `entry` does first
    try:
        engine = _engine(tiny_settings)
        engine.close()
        assert gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


def test_a_one_shot_ask_keeps_the_collector_paused_until_it_exits(tiny_settings: Settings) -> None:
    gc.disable()
    try:
        engine = _engine(tiny_settings, one_shot=True)
        engine.close()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_one_shot_ask_imports_no_platform_client_and_no_database_library(tmp_path: Path) -> None:
    """discord.py and aiohttp (0.3-0.6 s), slack-bolt and SQLAlchemy (0.2 s) are not needed to answer one
    line; log redaction reads the adapters' variables from their settings modules, and `ask` keeps no run.
    A platform token is set, so redaction has a secret to find."""
    script = ("import sys\nfrom bot.ops.cli import main\n"
              "code = main(['--pack', 'tiny', 'ask', '/generate Hello max_new_tokens=2'])\n"
              "print(code, sorted(m for m in ('discord', 'aiohttp', 'slack_bolt', 'sqlalchemy') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TUTOR_CACHE_DIR": str(TEST_CACHE),
           "DISCORD_TOKEN": "MTIzNDU2Nzg5.abcdef.ghijklmnop", "SLACK_BOT_TOKEN": "xoxb-1-2-abc"}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last == "0 []", done.stdout
    assert "In `tutor chat`, this answer goes on with: Sample at 0.7" in done.stdout


def test_answers_without_a_model_import_neither_torch_nor_transformers(tmp_path: Path) -> None:
    """torch and transformers cost about 2 s to import: /help, /models and a refused option answer without
    them (0.4 s instead of 2.5 s for `tutor ask /help`). The first model load imports them, and only then
    are transformers' logging (ERROR, as `tutor` sets it) and torch's threads (TUTOR_TORCH_THREADS) applied."""
    script = ("import sys\nfrom bot.ops.cli import main\n"
              "codes = [main(['--pack', 'tiny', 'ask', line]) for line in "
              "('/help', '/models', '/generate Hi max_new_tokens=0')]\n"
              "print(codes, sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
              "print(main(['--pack', 'tiny', 'ask', '/tokenize Hi']))\n"
              "import torch, transformers\n"
              "print(transformers.logging.get_verbosity() == transformers.logging.ERROR, torch.get_num_threads())")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env |= {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TUTOR_CACHE_DIR": str(TEST_CACHE),
            "TUTOR_TORCH_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert "[0, 0, 2] []" in lines, done.stdout
    assert lines[-2:] == ["0", "True 1"], done.stdout
