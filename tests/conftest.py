"""Shared fixtures: the tiny pack (built once per cache folder) and engines on it, one per pack and per
test process (pytest-xdist runs two or more; each builds its own, the first build of the tiny pack taking
turns under core/cachelock.py's lock)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.commands import build_registry
from core.engine import Engine
from core.models import ensure_dequantised
from core.packs import build_pack
from core.policy import Policy
from core.settings import Settings
from tests.support import ROOT, TEST_CACHE
from tests.support.explore import policy_on
from tests.support.grouping import mark_groups

__all__ = ["ROOT", "TEST_CACHE"]  # test modules import them from here


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, each worker gets its share of the cores: torch threads x workers <= cores, in this
    process (`core.models.set_torch_threads`, run before each model load, is capped to the share) and in the
    processes it starts (snippet and CLI runs read OMP_NUM_THREADS and TUTOR_TORCH_THREADS). Without it, two
    workers on two cores would each run as many torch threads as there are cores and fight over them."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if "PYTEST_XDIST_WORKER" not in os.environ or workers < 2:
        return
    share = max(1, (os.cpu_count() or 1) // workers)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TUTOR_TORCH_THREADS"):
        os.environ.setdefault(name, str(share))
    import torch

    set_threads = torch.set_num_threads
    set_threads(share)
    torch.set_num_threads = lambda threads: set_threads(min(threads, share))  # type: ignore[assignment]


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the marks (tests/support/grouping.py)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep a module's tests on one pytest-xdist worker where they share a module-scoped fixture."""
    mark_groups(items)


@pytest.fixture(scope="session")
def tiny_settings() -> Settings:
    return Settings(pack="tiny", cache_dir=TEST_CACHE, cooldown_s=0.0, request_timeout_s=60.0)


@pytest.fixture(scope="session")
def offline_settings() -> Settings:
    settings = Settings(pack="offline", cache_dir=TEST_CACHE, cooldown_s=0.0, request_timeout_s=120.0)
    dequantise_up_front(settings)
    return settings


def dequantise_up_front(settings: Settings) -> None:
    """Make the offline pack's de-quantised copies before any test asks: on a fresh clone the first answer
    would de-quantise inside its request's time limit, which a loaded machine can overrun. The tests of
    de-quantising itself use caches of their own (tests/core/test_progress.py, test_cache_damage.py)."""
    for spec in build_pack(settings, build_registry()).models.values():
        if spec.gguf_file:
            ensure_dequantised(settings, spec)


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


@pytest.fixture()
def tiny(tiny_engine: Engine, tmp_path: Path) -> Policy:
    """The session's tiny engine behind a fresh policy with its own run store."""
    return policy_on(tiny_engine, tmp_path)
