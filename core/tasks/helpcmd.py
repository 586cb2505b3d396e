"""/help and /models: answered from the registry and the pack, no model needed."""
from __future__ import annotations

from typing import Any

from core.context import TaskContext
from core.errors import UserError
from core.packs import HUB_MODELS
from core.registry import Command, Option
from core.results import Result, Table

INTRO = ("Commands take text after the name; a second part goes after ` | `, options as `key=value`. "
         "Every answer shows what the model did and the Python that reproduces it.")


def run_help(ctx: TaskContext, args: dict[str, Any]) -> Result:
    if args.get("command"):
        return _one(ctx.registry.get(args["command"]))
    rows = tuple((f"/{c.name}", c.description, c.examples[0]) for c in ctx.registry)
    return Result(
        command="help",
        answer=f"**Transformers Tutor**: {len(rows)} commands. Try one of the examples.",
        table=Table(("command", "what it does", "example"), rows),
        explanation=INTRO + " `/help attention` explains one command in detail.",
        code='from transformers import pipeline\n\nprint(pipeline("text-classification")("I love this"))',
        model="-",
    )


def _one(command: Command) -> Result:
    rows = tuple((o.name, _kind(o), "yes" if o.required else f"no (default {o.default})", o.description)
                 for o in command.options)
    return Result(
        command="help",
        answer=f"**/{command.name}**: {command.description}\nExamples:\n"
               + "\n".join(f"`{e}`" for e in command.examples),
        table=Table(("option", "type", "required", "what"), rows) if rows else None,
        explanation=INTRO,
        code="\n".join(f"# {e}" for e in command.examples),
        model="-",
    )


def _kind(option: Option) -> str:
    if option.kind == "text":
        return f"text, up to {option.max_length} characters"
    if option.kind == "head":
        return "number, all or mean"
    if option.kind == "int":
        return f"number {option.min_value}-{option.max_value}"
    return "true/false"


def run_models(ctx: TaskContext, args: dict[str, Any]) -> Result:
    rows, missing = [], []
    for command in ctx.registry:
        if not command.needs_model:
            continue
        try:
            spec = ctx.pack.spec(command.model_key)
        except UserError:
            missing.append(command.name)
            continue
        rows.append((f"/{command.name}", spec.hub_id, spec.kind, spec.hub_url or "(local)"))
    gaps = (" It cannot serve: " + ", ".join(f"/{m}" for m in missing)
            + " (the `hub` pack can: " + ", ".join(HUB_MODELS[m].hub_id for m in missing) + ")."
            if missing else " It serves every command.")
    return Result(
        command="models",
        answer=f"Model pack **{ctx.pack.name}**.{gaps}",
        table=Table(("command", "model", "kind", "link"), tuple(rows)),
        explanation="Packs: `hub` downloads the classic models on first use; `offline` uses real weights "
                    "installed as Python packages; `tiny` uses random tiny models built locally, for tests. "
                    "Set TUTOR_PACK, or TUTOR_MODEL_<COMMAND> to swap one model.",
        code='from transformers import pipeline\n\nclassifier = pipeline("text-classification", '
             f'model="{HUB_MODELS["sentiment"].hub_id}")',
        model="-",
    )
