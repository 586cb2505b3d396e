"""Where the checkout and the tests' model cache are, for every test module."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_CACHE = Path(os.environ.get("TUTOR_TEST_CACHE", ROOT / ".tutor-cache" / "tests"))
