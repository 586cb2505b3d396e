"""/help and /models: answered from the registry and the pack, no model weights needed.

`/help attention` shows the layer and head numbers of the model this pack really uses, read from its
config file alone (no weights, no download); the registry's limits cover every model we know and
are shown only when that config cannot be read here.
"""
from __future__ import annotations

from typing import Any

from core.context import TaskContext
from core.errors import UserError
from core.packs import declared
from core.registry import Command, Option
from core.results import Result, Table
from core.suggest import Shape, examples, shape_of
from core.wording import plural

INTRO = ("Commands take text after the name; a second part goes after ` | `, options as `key=value`. "
         "Every answer shows what the model did and the Python that reproduces it.")

HELP_SNIPPET = """from transformers.pipelines import get_supported_tasks

# The pipeline tasks of your transformers version: 'text-classification', 'token-classification',
# 'zero-shot-classification', 'text-generation' and 'fill-mask' are there; transformers 5 removed
# 'summarization' and 'question-answering', so /summarize and /qa show the steps those pipelines hid.
print(get_supported_tasks())"""

SHAPED = ("layer", "head")
"""Options whose range is the model's own: its number of layers and of heads per layer."""


def run_help(ctx: TaskContext, args: dict[str, Any]) -> Result:
    if args.get("command"):
        return _one(ctx, ctx.registry.typed(args["command"]))  # a hidden step has no help: it is never typed
    rows = tuple((f"/{c.name}", c.description, c.examples[0] if c.examples else f"/{c.name}")
                 for c in ctx.registry.visible())
    return Result(
        command="help",
        answer=f"**Transformers Tutor**: {len(rows)} commands. Try one of the examples.",
        table=Table(("command", "what it does", "example"), rows),
        explanation=INTRO + " `/help attention` explains one command in detail.",
        code=HELP_SNIPPET,
        model="",
    )


def _one(ctx: TaskContext, command: Command) -> Result:
    shape, note = _shape(ctx, command)
    rows = tuple((o.name, _kind(ctx, command, o, shape), _required(o), o.description) for o in command.options)
    return Result(
        command="help",
        answer=f"**/{command.name}**: {command.description}\nExamples:\n"
               + "\n".join(f"`{e}`" for e in command.examples) + _verbs(command),
        table=Table(("option", "type", "required", "what"), rows) if rows else None,
        explanation=INTRO + (f"\n{note}" if note else ""),
        code="\n".join(f"# {e}" for e in command.examples),
        model="",
    )


def _required(option: Option) -> str:
    """"yes", or "no" with the default as a learner would type it (`true`, not Python's `True`); an option
    whose absence means something else than a value (no sampling, no mask) has none to show."""
    if option.required:
        return "yes"
    default = option.default
    if default is None:
        marked = [c.value for c in option.choices if "(default)" in c.name]
        return f"no (default {marked[0]})" if marked else "no"
    return f"no (default {str(default).lower() if isinstance(default, bool) else default})"


def _verbs(command: Command) -> str:
    """A command's subcommands, each as typed (Discord shows them as a menu of their own)."""
    lines = [" ".join(p for p in ("/" + command.name, s.text, *(f"<{o.name}>" for o in s.options)) if p)
             for s in command.subcommands]
    lines = [f"`{typed}`: {s.description}" for typed, s in zip(lines, command.subcommands, strict=True)]
    return "\nIts verbs:\n" + "\n".join(lines) if lines else ""


def _shape(ctx: TaskContext, command: Command) -> tuple[Shape | None, str]:
    """The shape (model, layers, heads per layer) of the command's model when it has layer or head
    options, and a note when it could not be read."""
    if not any(o.name in SHAPED for o in command.options):
        return None, ""
    try:
        spec = ctx.pack.spec(command.model_key)
    except UserError:
        return None, (f"The `{ctx.pack.name}` pack has no {command.model_key} model, so the ranges above are "
                      "the tutor's own limits; a model accepts only its own number of layers and heads.")
    shape = shape_of(ctx, spec)
    if shape is None:
        return None, (f"The config of {spec.hub_id} cannot be read here yet (it is built or downloaded on first "
                      "use), so the ranges above are the tutor's own limits; the model accepts only its own "
                      "number of layers and heads.")
    return shape, ""


def _kind(ctx: TaskContext, command: Command, option: Option, shape: Shape | None) -> str:
    if option.choices:
        return "one of " + ", ".join(str(c.value) for c in option.choices)
    if option.type == "text":
        offered = [str(c.value) for c in examples(ctx, command, option)] if option.suggest else []
        return f"text, up to {option.max_length} characters" + (f"; e.g. {', '.join(offered)}" if offered else "")
    if option.name in SHAPED and shape is not None:
        if option.name == "layer":
            return f"number 0-{shape.layers - 1} ({shape.model} has {plural(shape.layers, 'layer')})"
        extra = ", all or mean" if option.type == "head" else ""
        return f"number 0-{shape.heads - 1}{extra} ({plural(shape.heads, 'head')} per layer)"
    extra = ", all or mean" if option.type == "head" else ""
    if option.per_model and option.name not in SHAPED:  # a position in the text: its cap is no text's range
        return f"number from {option.min_value}{extra}"
    if option.type in ("int", "head"):
        return f"number {option.min_value}-{option.max_value}{extra}"
    return "true/false"


def run_models(ctx: TaskContext, args: dict[str, Any]) -> Result:
    """Each model-backed command with its pack's model (what it is, its kind, its Hub page), and what the
    pack cannot serve: all read from the registry's declarations and the pack built from them."""
    rows, missing, stand_ins = [], [], []
    for command in ctx.registry:
        if not command.needs_model:
            continue
        try:
            spec = ctx.pack.spec(command.model_key)
        except UserError:
            missing.append(command)
            continue
        rows.append((f"/{command.name}", spec.label, f"{spec.role} (stand-in)" if spec.stands_in else spec.role,
                     spec.hub_url or "(local)"))
        if spec.stands_in:
            stand_ins.append(f"/{command.name}: {spec.stands_in}")
    return Result(
        command="models",
        answer=f"Model pack **{ctx.pack.name}**.{_gaps(ctx, missing)}" + _stand_ins(stand_ins),
        table=Table(("command", "model", "kind", "link"), tuple(rows)),
        explanation="Packs: `hub` downloads the classic models on first use; `offline` uses real weights "
                    "installed as Python packages (where it has no model of the kind a command teaches, another "
                    "model stands in, used another way); `tiny` uses random tiny models built locally, for tests. "
                    "Set TUTOR_PACK, or TUTOR_MODEL_<COMMAND> to swap one model."
                    + ("\n" + "\n".join(stand_ins) if stand_ins else ""),
        code=_snippet(ctx),
        model="",
    )


def _snippet(ctx: TaskContext) -> str:
    """How a learner loads a Hub model by its id: the hub pack's first classifier, in a pipeline."""
    hub = next((m.hub for m in declared(ctx.registry).values() if m.role == "classifier"), None)
    return ('from transformers import pipeline\n\nclassifier = pipeline("text-classification", '
            f'model="{hub}")') if hub else ""


def _stand_ins(lines: list[str]) -> str:
    """Which commands a stand-in serves (each one's line is in the explanation)."""
    if not lines:
        return ""
    names = [line.split(":", 1)[0] for line in lines]
    return (f" {', '.join(names)} run a stand-in: a model of another kind, used another way, since the pack has "
            "none of the kind the guide teaches (each is explained below and in its answers).")


def _gaps(ctx: TaskContext, missing: list[Command]) -> str:
    """What the pack cannot serve, and which Hub model would: a command that borrows another's
    model (/overview uses the attention model) is looked up by that model's key."""
    if not missing:
        return " It serves every command."
    models = declared(ctx.registry)
    hub = sorted({models[c.model_key].hub for c in missing if c.model_key in models})
    return (" It cannot serve: " + ", ".join(f"/{c.name}" for c in missing)
            + (" (the `hub` pack can: " + ", ".join(hub) + ")." if hub else "."))
