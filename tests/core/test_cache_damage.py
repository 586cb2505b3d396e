"""Damaged model files: a cached copy we made is rebuilt once (one log line) and the request answered;
a folder we did not make gets a clear UserError naming the file."""
from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from core.commands import build_registry
from core.engine import Engine
from core.errors import UserError
from core.integrity import damage
from core.models import dequantised_dir, ensure_dequantised
from core.packs import hub_models, offline_models
from core.settings import Settings
from core.tiny import ensure_tiny, tiny_dir, tiny_models


def truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def empty(path: Path) -> None:
    path.write_bytes(b"")


def garbage(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def delete(path: Path) -> None:
    path.unlink()


def invalid_json(path: Path) -> None:
    path.write_text('{"model_type": "bert", ')


def not_a_config(path: Path) -> None:
    path.write_text("[]")


DAMAGE: dict[str, tuple[str, str, Callable[[Path], None]]] = {  # kind: (command, file, how)
    "truncated weights": ("sentiment", "model.safetensors", truncate),
    "empty weights": ("ner", "model.safetensors", empty),
    "garbage weights": ("fillmask", "model.safetensors", garbage),
    "deleted weights": ("generate", "model.safetensors", delete),
    "invalid config.json": ("zeroshot", "config.json", invalid_json),
    "config.json that is no config": ("qa", "config.json", not_a_config),
    "invalid tokenizer.json": ("summarize", "tokenizer.json", invalid_json),
}
LINES = {"sentiment": "/sentiment I love this", "ner": "/ner Ada lives in London.",
         "fillmask": "/fillmask Paris is the [MASK] of France.", "generate": "/generate Once upon max_new_tokens=3",
         "zeroshot": "/zeroshot I love pizza | food, sports", "qa": "/qa Where? | In London.",
         "summarize": "/summarize Cats sleep all day. They hunt at night.", "attention": "/attention The cat sat."}


@pytest.fixture
def tiny_cache(tmp_path: Path, tiny_settings: Settings) -> Path:
    """A private copy of the built tiny pack (copying is quicker than building)."""
    ensure_tiny(tiny_dir(tiny_settings.cache_dir), tiny_models(build_registry()))
    shutil.copytree(tiny_dir(tiny_settings.cache_dir), tiny_dir(tmp_path))
    return tmp_path


def damage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "damaged cache file" in r.getMessage()
            or "rebuilding it once" in r.getMessage()]


@pytest.mark.parametrize("kind", list(DAMAGE))
async def test_a_damaged_tiny_model_is_rebuilt_once_and_the_request_answered(kind, tiny_cache, caplog):
    command, name, how = DAMAGE[kind]
    folder = tiny_dir(tiny_cache) / command
    how(folder / name)
    assert damage(folder) is not None
    engine, later = (Engine(Settings(pack="tiny", cache_dir=tiny_cache)) for _ in range(2))
    with caplog.at_level(logging.WARNING, logger="tutor.models"):
        result = await engine.run_text(LINES[command])
        again = await later.run_text(LINES[command])  # a later process: no second rebuild
    engine.close()
    later.close()
    assert result.command == command and result.answer and again.answer == result.answer
    lines = damage_lines(caplog)
    assert len(lines) == 1 and str(folder) in lines[0], lines
    assert damage(folder) is None


async def test_a_deleted_model_folder_is_rebuilt(tiny_cache, caplog):
    shutil.rmtree(tiny_dir(tiny_cache) / "attention")
    with caplog.at_level(logging.WARNING, logger="tutor.models"):
        result = await Engine(Settings(pack="tiny", cache_dir=tiny_cache)).run_text(LINES["attention"])
    assert result.images and len(damage_lines(caplog)) == 1


async def test_a_valid_json_tokenizer_that_does_not_load_is_rebuilt_once(tiny_cache, caplog):
    """The structural check passes ({} is valid JSON); loading fails; the copy is rebuilt once."""
    (tiny_dir(tiny_cache) / "sentiment" / "tokenizer.json").write_text('{"model": {"type": "Nonsense"}}')
    with caplog.at_level(logging.WARNING, logger="tutor.models"):
        result = await Engine(Settings(pack="tiny", cache_dir=tiny_cache)).run_text(LINES["sentiment"])
    assert result.table is not None
    lines = damage_lines(caplog)
    assert len(lines) == 1 and "rebuilding it once" in lines[0]


@pytest.mark.parametrize("kind", ["truncated weights", "garbage weights", "deleted weights", "invalid config.json"])
async def test_a_damaged_override_folder_is_a_user_error_naming_the_file(kind, tiny_cache):
    _, name, how = DAMAGE[kind]
    mine = tiny_cache / "my-model"
    shutil.copytree(tiny_dir(tiny_cache) / "sentiment", mine)
    how(mine / name)
    engine = Engine(Settings(pack="tiny", cache_dir=tiny_cache, model_overrides={"sentiment": str(mine)}))
    with pytest.raises(UserError) as info:
        await engine.run_text(LINES["sentiment"])
    engine.close()
    assert str(mine / name) in info.value.message and "Restore or re-download" in info.value.message


async def test_a_damaged_file_in_the_hugging_face_cache_is_a_user_error_naming_it(tiny_cache, monkeypatch):
    import huggingface_hub.constants

    spec = hub_models(build_registry())["sentiment"]
    hub = tiny_cache / "hf"
    repo = hub / ("models--" + spec.source.replace("/", "--"))
    commit = spec.revision or "0" * 40  # the hub pack's pinned commit
    snapshot = repo / "snapshots" / commit
    shutil.copytree(tiny_dir(tiny_cache) / "sentiment", snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    truncate(snapshot / "model.safetensors")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub))
    engine = Engine(Settings(pack="hub", cache_dir=tiny_cache))
    with pytest.raises(UserError) as info:
        await engine.run_text(LINES["sentiment"])
    engine.close()
    assert str(snapshot / "model.safetensors") in info.value.message and "truncated" in info.value.message


async def test_a_truncated_dequantised_copy_is_made_again(tmp_path, offline_settings, caplog):
    """The offline pack's de-quantised SmolLM2 (about 10 s to make again, so one damage kind here; the
    check is the same as the tiny pack's, whose tests cover every kind)."""
    spec = offline_models(build_registry())["generate"]
    shutil.copytree(ensure_dequantised(offline_settings, spec), dequantised_dir(Settings(cache_dir=tmp_path), spec))
    weights = dequantised_dir(Settings(cache_dir=tmp_path), spec) / "model.safetensors"
    truncate(weights)
    engine = Engine(Settings(pack="offline", cache_dir=tmp_path, request_timeout_s=900.0))  # de-quantising
    with caplog.at_level(logging.WARNING, logger="tutor.models"):
        result = await engine.run_text("/generate The capital of France is max_new_tokens=3")
    engine.close()
    assert result.answer.startswith("The capital of France is**")
    lines = damage_lines(caplog)
    assert len(lines) == 1 and str(weights) in lines[0] and "truncated" in lines[0]
    assert damage(weights.parent) is None
