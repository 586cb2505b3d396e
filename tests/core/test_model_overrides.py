"""TUTOR_MODEL_<COMMAND> is checked at start: a folder that is not there is one clear ConfigError."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.engine import Engine
from core.packs import override_spec
from core.settings import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("value", ["/no/such/model", "./missing-model", "~/no-such-model-here", "models/a/b",
                                   "C:\\models\\bert"])
def test_a_path_that_is_no_folder_is_a_config_error_at_start(tmp_path, value):
    with pytest.raises(ConfigError, match=r"TUTOR_MODEL_QA=.*no such folder"):
        Engine(Settings(pack="tiny", cache_dir=tmp_path, model_overrides={"qa": value}))


def test_a_file_is_a_config_error_at_start(tmp_path):
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"x")
    with pytest.raises(ConfigError, match="is a file; it must name a model folder"):
        Engine(Settings(pack="tiny", cache_dir=tmp_path, model_overrides={"ner": str(weights)}))


def test_hub_ids_and_existing_folders_are_accepted(tmp_path):
    assert override_spec("qa", "deepset/roberta-base-squad2").source == "deepset/roberta-base-squad2"
    folder = override_spec("qa", str(tmp_path))
    assert folder.source == str(tmp_path.resolve()) and folder.label == str(tmp_path) and folder.hub_url == ""


def test_the_cli_prints_one_line_and_exits_2(tmp_path):
    env = {**os.environ, "TUTOR_CACHE_DIR": str(tmp_path), "TUTOR_MODEL_SUMMARIZE": "/no/such/folder",
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bot", "--pack", "tiny", "ask", "/summarize Hi there."],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "Configuration error: TUTOR_MODEL_SUMMARIZE=/no/such/folder: no such folder (and not a Hub id like "
        "`owner/name`). Give an existing model folder or a Hub id."]
