"""/help and /models answer from the registry and the pack: true to the current models, never a crash."""
from __future__ import annotations

import os
import subprocess
import sys

from core.commands import build_registry
from core.context import TaskContext
from core.models import ModelStore
from core.packs import Pack, build_pack, hub_models
from core.render.cache import PerThreadCache
from core.settings import Settings
from core.tasks import helpcmd
from core.tiny import ensure_tiny, tiny_dir, tiny_models


def context(settings: Settings, drop: tuple[str, ...] = ()) -> TaskContext:
    pack = build_pack(settings, build_registry())
    pack = Pack(pack.name, {k: v for k, v in pack.models.items() if k not in drop})
    return TaskContext(settings, pack, ModelStore(settings, pack.twins()), build_registry(), PerThreadCache(1))


def option_kinds(result) -> dict[str, str]:
    return {row[0]: row[1] for row in result.table.rows}


def model_shape(folder: str) -> tuple[int, int]:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(folder)
    return config.num_hidden_layers, config.num_attention_heads


def test_help_attention_shows_the_tiny_models_own_layers_and_heads(tiny_settings):
    ensure_tiny(tiny_dir(tiny_settings.cache_dir), tiny_models(build_registry()))
    ctx = context(tiny_settings)
    layers, heads = model_shape(ctx.pack.spec("attention").source)
    kinds = option_kinds(helpcmd.run_help(ctx, {"command": "attention"}))
    assert kinds["layer"].startswith(f"number 0-{layers - 1} ") and "47" not in kinds["layer"]
    assert kinds["head"].startswith(f"number 0-{heads - 1}, all or mean") and "63" not in kinds["head"]


def test_help_attention_shows_the_offline_models_own_layers_and_heads(offline_settings):
    ctx = context(offline_settings)
    layers, heads = model_shape(ctx.pack.spec("attention").source)
    result = helpcmd.run_help(ctx, {"command": "attention"})
    kinds = option_kinds(result)
    assert (layers, heads) == (6, 12)  # all-MiniLM-L6-v2
    assert kinds["layer"].startswith("number 0-5 ") and kinds["head"].startswith("number 0-11, all or mean")
    assert "all-MiniLM-L6-v2" in kinds["layer"]
    assert not ctx.models.loaded(), "reading the config loads no weights"


def test_help_attention_falls_back_to_the_registry_limits_and_says_so(tiny_settings):
    ctx = context(tiny_settings, drop=("attention",))
    layer = build_registry().get("attention").option("layer")
    result = helpcmd.run_help(ctx, {"command": "attention"})
    assert option_kinds(result)["layer"].startswith(f"number {layer.min_value}-{layer.max_value}")
    assert "no attention model" in result.explanation and "limits" in result.explanation


def test_help_snippet_runs_offline_and_prints_what_it_says(tiny_settings):
    code = helpcmd.run_help(context(tiny_settings), {}).code
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "from_pretrained" not in code and "model=" not in code  # nothing to download
    for task in ("text-classification", "token-classification", "zero-shot-classification", "text-generation",
                 "fill-mask"):
        assert f"'{task}'" in done.stdout and task in code
    for removed in ("summarization", "question-answering"):
        assert f"'{removed}'" not in done.stdout and removed in code


def test_models_on_a_pack_without_an_attention_model_names_who_serves_overview(tiny_settings):
    ctx = context(tiny_settings, drop=("attention",))
    result = helpcmd.run_models(ctx, {})
    assert "/attention" in result.answer and "/overview" in result.answer
    assert hub_models(build_registry())["attention"].hub_id in result.answer
    assert {row[0] for row in result.table.rows} == {f"/{c.name}" for c in ctx.registry
                                                     if c.needs_model and c.model_key in ctx.pack.models}


def test_models_lists_overview_with_the_attention_model(tiny_settings):
    ctx = context(tiny_settings)
    rows = {row[0]: row for row in helpcmd.run_models(ctx, {}).table.rows}
    assert rows["/overview"][1] == rows["/attention"][1] == ctx.pack.spec("attention").label


def test_help_lists_every_command_a_learner_can_type_and_no_hidden_one(tiny_settings):
    """Hidden commands (a quiz's /answer, a lesson's /lesson...) have no examples and are not typed."""
    ctx = context(tiny_settings)
    result = helpcmd.run_help(ctx, {})
    shown = [row[0] for row in result.table.rows]
    assert shown == [f"/{c.name}" for c in ctx.registry.visible()]
    assert all(f"/{c.name}" not in shown for c in ctx.registry if c.hidden)
    assert all(row[2].startswith(row[0]) for row in result.table.rows)


async def test_help_and_models_end_with_no_model_placeholder(tiny_engine):
    """/help runs no model: its answer has no "Model: -" line on any rendering (core.markup.sections)."""
    from bot.console.app import render_text

    for line in ("/help", "/help attention", "/models"):
        result = await tiny_engine.run_text(line)
        assert not result.model.strip(), line
        assert "Model:" not in render_text(result) and "Model:" not in result.as_text(), line
