"""The hub pack is reproducible: each model is loaded at a pinned Hub commit, and its snippet loads the same
commit (`revision=`), so what the snippet prints is what that commit gives, whatever `main` holds later."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.commands import build_registry
from core.models import Loaded
from core.packs import HUB_REVISIONS, hub_models
from core.tasks.compare import HUB_TOKENIZERS
from core.tasks.shared.common import model_line, pinned
from core.tiny import ensure_tiny, tiny_dir, tiny_models
from tests.support.fake_hub import fake_hub
from tests.support.paths import ROOT, TEST_CACHE

SHA = re.compile(r"[0-9a-f]{40}")
HUB_TOKENIZER = "google-bert/bert-base-uncased"


def test_every_hub_model_and_compared_tokenizer_is_pinned_to_a_commit() -> None:
    for command, spec in hub_models(build_registry()).items():
        assert spec.revision and SHA.fullmatch(spec.revision), (command, spec.revision)
    for name, hub_id in HUB_TOKENIZERS.items():
        assert SHA.fullmatch(HUB_REVISIONS.get(hub_id, "")), (name, hub_id)
    pinned = {s.hub_id for s in hub_models(build_registry()).values()} | set(HUB_TOKENIZERS.values())
    assert set(HUB_REVISIONS) == pinned, \
        "no pin is left for a model the pack no longer uses"


def test_a_pinned_snippet_passes_the_revision_to_every_load_of_the_model() -> None:
    spec = hub_models(build_registry())["sentiment"]
    head = model_line(Loaded("sentiment", spec, spec.role, None, None, "cpu", 0))
    assert f"REVISION = {spec.revision!r}" in head
    code = pinned(f"{head}\ntok = AutoTokenizer.from_pretrained(MODEL)\nclf = pipeline('x', model=MODEL)\n")
    assert "AutoTokenizer.from_pretrained(MODEL, revision=REVISION)" in code
    assert "pipeline('x', model=MODEL, revision=REVISION)" in code
    assert pinned(code) == code, "pinning twice changes nothing"
    assert pinned("tok = AutoTokenizer.from_pretrained(MODEL)") == "tok = AutoTokenizer.from_pretrained(MODEL)"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[dict[str, str], list[str]]]:
    """The hub pack's /tokenize model on a local fake Hub (its tiny twin's files under the Hub's name)."""
    ensure_tiny(tiny_dir(TEST_CACHE), tiny_models(build_registry()))
    asked: list[str] = []
    with fake_hub(HUB_TOKENIZER, tiny_dir(TEST_CACHE) / "tokenize", asked) as endpoint:
        yield {**os.environ, "HF_ENDPOINT": endpoint, "HF_HUB_OFFLINE": "0", "HF_HOME": str(tmp_path / "hf"),
               "TUTOR_CACHE_DIR": str(tmp_path / "c"), "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}, asked


def _snippet(answer: str) -> tuple[str, list[str]]:
    code = answer.split("Try it yourself\n", 1)[1]
    program, _, printed = code.partition("\n# It prints:\n")
    lines = []
    for line in printed.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[2:])
    return program, lines


def test_the_hub_pack_downloads_the_pinned_commit_and_its_snippet_prints_the_same(
        hub: tuple[dict[str, str], list[str]], tmp_path: Path) -> None:
    env, asked = hub
    done = subprocess.run([sys.executable, "-m", "bot", "--pack", "hub", "ask", "/tokenize Hello world"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    files = {revision for revision in asked if revision}
    assert files == {HUB_REVISIONS[HUB_TOKENIZER]}, f"every file at the pinned commit, never `main`: {files}"
    program, printed = _snippet(done.stdout)
    assert ".from_pretrained(MODEL, revision=REVISION)" in program and printed
    offline = {**env, "HF_HUB_OFFLINE": "1"}  # the commit is cached now: the snippet finds it by its sha
    ran = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, env=offline, capture_output=True, text=True,
                         timeout=300, check=False)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.rstrip("\n").splitlines() == printed
