"""Shared fixtures: the tiny pack (built once per cache folder) and engines on it."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.engine import Engine
from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TEST_CACHE = Path(os.environ.get("TUTOR_TEST_CACHE", ROOT / ".tutor-cache" / "tests"))


@pytest.fixture(scope="session")
def tiny_settings() -> Settings:
    return Settings(pack="tiny", cache_dir=TEST_CACHE, cooldown_s=0.0, request_timeout_s=60.0)


@pytest.fixture(scope="session")
def offline_settings() -> Settings:
    return Settings(pack="offline", cache_dir=TEST_CACHE, cooldown_s=0.0, request_timeout_s=120.0)


@pytest.fixture(scope="session")
def tiny_engine(tiny_settings: Settings) -> Iterator[Engine]:
    engine = Engine(tiny_settings)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def offline_engine(offline_settings: Settings) -> Iterator[Engine]:
    engine = Engine(offline_settings)
    yield engine
    engine.close()
