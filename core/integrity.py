"""Is a model folder whole? A cheap structural check, run before loading.

It catches what a crash, a full disk or a stray edit leaves behind: a missing weights file, an empty,
truncated or garbage `.safetensors` (its header says exactly how long it must be), or a JSON file that
does not parse. It reads headers, never the weights, so it costs milliseconds even for large models.
Damage inside the weights that keeps the file's length is not seen: it loads, with wrong weights.
"""
from __future__ import annotations

import json
from pathlib import Path

MAX_HEADER_BYTES = 100 * 2**20
WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")


def damage(folder: Path, *, complete: bool = True) -> tuple[Path, str] | None:
    """The first file of `folder` that cannot load and why, or None when it looks whole.

    `complete`: the folder must hold a config and its weights (a model we built or were given);
    otherwise only the files present are checked (a Hub cache snapshot fills in on demand)."""
    if not folder.is_dir():
        return folder, "the folder is missing"
    for path in sorted(folder.glob("*.json")):
        problem = _json_problem(path)
        if problem:
            return path, problem
    config = folder / "config.json"
    if complete and not config.is_file():
        return config, "it is missing"
    if config.is_file() and not _is_model_config(config):
        return config, "it is not a model config (no model_type)"
    weights = _weight_files(folder)
    if complete and not any(p.is_file() for p in weights):
        return folder / WEIGHTS[0], "it is missing (no weights file in the folder)"
    for path in weights:
        if path.suffix == ".safetensors" and (path.is_file() or complete):
            problem = safetensors_problem(path)
            if problem:
                return path, problem
    return None


def _weight_files(folder: Path) -> list[Path]:
    """The weights a loader will open: the shards an index names, else the single files present."""
    for index in (folder / "model.safetensors.index.json", folder / "pytorch_model.bin.index.json"):
        if index.is_file():
            shards = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {}).values()
            return [folder / name for name in sorted(set(shards))]
    return [folder / name for name in ("model.safetensors", "pytorch_model.bin") if (folder / name).is_file()]


def _is_model_config(path: Path) -> bool:
    """A config.json that parses (checked before) and says which architecture family it is."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return isinstance(data, dict) and isinstance(data.get("model_type"), str)


def _json_problem(path: Path) -> str | None:
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "it is missing"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return f"it is not valid JSON ({type(exc).__name__})"
    return None


def safetensors_problem(path: Path) -> str | None:
    """Why a .safetensors file cannot load, from its header alone; None when its length is right."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
            length = int.from_bytes(head, "little") if len(head) == 8 else -1
            if length < 2 or length > min(size - 8, MAX_HEADER_BYTES):
                return "it is empty" if size == 0 else "it is truncated or not a safetensors file"
            header = json.loads(f.read(length))
    except FileNotFoundError:
        return "it is missing"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return f"it is not a safetensors file ({type(exc).__name__})"
    try:
        end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0)
    except (AttributeError, KeyError, IndexError, TypeError, ValueError):
        return "its header is damaged"
    expected = 8 + length + end
    if size != expected:
        what = "truncated" if size < expected else "extra bytes"
        return f"it is {size} bytes where its header promises {expected} ({what})"
    return None
