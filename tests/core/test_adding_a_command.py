"""Adding a model-backed command takes three files: its task module, its registry entry and its test
(docs/architecture.md, "Add a command").

Here the task module and the registry entry of a toy command, `/mood` (a text classifier on the twin of
the hub pack's sentiment model), are written in this file and added to a copy of the real registry; no
other file knows of it. Everything that lists commands must then list it, and it must answer through the
policy on the tiny pack, its twin built from its declaration.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from bot.discord.app import DiscordAdapter
from bot.discord.sync import command_payload
from bot.ops.admin import model_states
from bot.slack.manifest import manifest
from core import tiny
from core.backends.ray_serve import remote_commands
from core.commands import build_registry
from core.context import TaskContext
from core.engine import Engine
from core.packs import TaskModel, hub_models
from core.policy import Policy
from core.registry import Command, Option, Registry
from core.results import Result, Table
from core.settings import Settings
from core.tasks.shared.base import forward
from core.tasks.shared.common import f4, load, model_line, row_lines, with_output
from core.tiny import tiny_dir, tiny_models
from docs.command_table import command_table
from tests.core.tasks.test_snippets import FILLER, long_lines, same_output, split_snippet, tiny_lines
from tests.core.tasks.test_tiny_pack import assert_twins_have_the_hub_classes, hub_classes
from tests.support import run_python
from tests.support.explore import policy_on, typed

# ----- the task module -----
MODEL = TaskModel(roles=("classifier",), hub="distilbert/distilbert-base-uncased-finetuned-sst-2-english",
                  tiny=tiny.SST2_DISTILBERT,
                  hub_classes=("DistilBertForSequenceClassification", "DistilBertTokenizer"))
SNIPPET = """from transformers import pipeline

{model}
for r in pipeline("text-classification", model=MODEL)({text!r}, top_k=None):
    print(r["label"], f"{{r['score']:.4f}}")"""


def mood(ctx: TaskContext, args: dict[str, Any]) -> Result:
    loaded = load(ctx, "mood")
    logits = forward(loaded, loaded.tokenizer(args["text"], truncation=True, return_tensors="pt")).logits[0]
    probs = torch.softmax(logits, dim=-1)
    labels = loaded.model.config.id2label
    rows = tuple((labels[i], f4(float(probs[i]))) for i in sorted(range(len(probs)), key=lambda i: -float(probs[i])))
    return Result("mood", f"**{rows[0][0]}**", "Softmax turned the model's logits into probabilities.",
                  with_output(SNIPPET.format(model=model_line(loaded), text=args["text"]), row_lines(rows)),
                  loaded.spec.label, table=Table(("label", "score"), rows))


# ----- its registry entry -----
MOOD = Command("mood", "Happy or sad? A toy classifier that only this test adds.",
               (Option("text", "The text to read", "text", required=True, positional="main", max_length=500),),
               ("/mood I love this",), mood, model=MODEL)

TEXT = "The cat sat on the mat, and it was happy."


def shown(result: Result) -> str:
    """Everything an answer shows in words: its answer, explanation and table."""
    rows = result.table.rows if result.table else ()
    return "\n".join([result.answer, result.explanation, *(" | ".join(map(str, row)) for row in rows)])


async def test_a_model_command_added_to_the_registry_alone_reaches_every_table_and_answers(tmp_path: Path) -> None:
    registry = Registry([*build_registry(), MOOD])
    cache = tmp_path / "cache"
    engine = Engine(Settings(pack="tiny", cache_dir=cache, cooldown_s=0.0, request_timeout_s=120.0), registry)
    try:
        policy = policy_on(engine, tmp_path)
        await answers_as_the_bare_pipeline_on_its_twin(policy, registry, tiny_dir(cache))
        await its_snippet_case_prints_what_it_answered(policy, registry, cache)
        await every_list_of_commands_names_it(policy, registry)
    finally:
        engine.close()


async def answers_as_the_bare_pipeline_on_its_twin(policy: Policy, registry: Registry, base: Path) -> None:
    """The policy answers it on the tiny pack, whose first use built the toy's twin from its declaration."""
    from transformers import pipeline

    answer = await typed(policy, f"/mood {TEXT}")
    assert "mood" in tiny_models(registry) and "mood" in hub_models(registry) and "mood" in hub_classes(registry)
    assert_twins_have_the_hub_classes(base, registry)  # every twin, the toy's included, has its hub model's classes
    label = policy.engine.pack.models["mood"].label
    assert label.startswith("tiny/mood (DistilBERT classifier") and answer.model == label
    bare = pipeline("text-classification", model=str(base / "mood"), device="cpu")(TEXT, top_k=None)
    assert answer.table is not None and [row[0] for row in answer.table.rows] == [r["label"] for r in bare]
    assert [float(row[1]) for row in answer.table.rows] == [float(f4(r["score"])) for r in bare]


async def its_snippet_case_prints_what_it_answered(policy: Policy, registry: Registry, cache: Path) -> None:
    """test_snippets' cases list it (its first example; its text option filled to its limit), and the snippet of
    its case, run as a learner runs it, prints what the bot answered."""
    assert long_lines(registry)["mood"] == "/mood " + (FILLER * 500)[:500].rstrip()
    case = await typed(policy, tiny_lines(registry)["mood"])
    assert "I love this" in case.code
    program, printed = split_snippet(case.code)
    learner = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "TUTOR_CACHE_DIR": str(cache)}
    ran = run_python(program, learner)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert same_output(printed, ran.stdout.splitlines())


async def every_list_of_commands_names_it(policy: Policy, registry: Registry) -> None:
    """/help, /models, `tutor doctor`'s models, the Slack manifest, Discord's command list, the README's table and
    the Ray Serve applications."""
    label = policy.engine.pack.models["mood"].label
    assert "/mood" in shown(await typed(policy, "/help"))
    assert MOOD.description in shown(await typed(policy, "/help mood"))
    assert label in shown(await typed(policy, "/models"))
    doctor = {state.command: state for state in model_states(policy.engine.settings, lambda: False, registry)}
    assert (doctor["mood"].model, doctor["mood"].ready, doctor["mood"].note) == (label, True, "built")
    slack = {c["command"]: c for c in manifest(registry)["features"]["slash_commands"]}
    assert slack["/mood"]["description"] == MOOD.description
    tree = DiscordAdapter(policy, {"DISCORD_TOKEN": "t"}).client.tree
    discord = {c["name"]: c for c in command_payload(tree, None)}
    assert discord["mood"]["description"] == MOOD.description
    assert [o["name"] for o in discord["mood"]["options"]] == ["text"]
    assert f"| /mood | {MOOD.description} | `/mood I love this` |" in command_table(registry).splitlines()
    assert remote_commands(registry, policy.engine.pack.models)["mood"] == [MOOD]  # its own Ray Serve application
