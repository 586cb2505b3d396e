"""What a platform may offer while a learner types an option: the registry's choices and suggestions.

An option declares a fixed set (`Option.choices`: Discord shows a menu, /help lists it) or a way to
suggest values that depend on the pack (`Option.suggest`: Discord's autocomplete). The suggesters
here read only what is cheap and local: the pack's declarations, the registry, the lesson path, a
model's config file (never its weights, never a download). They run off the event loop (an adapter
computes `candidates` in a thread within the platform's deadline, then narrows them to what the
learner typed with `core.registry.matching`; `suggestions` does both) and fall back to what the
option's declaration alone says (`core.registry.declared_values`) when they cannot say more.
"""
from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.context import TaskContext
from core.registry import MAX_CHOICE_CHARS, Choice, Command, Option, declared_values, matching

if TYPE_CHECKING:  # pragma: no cover
    from core.packs import ModelSpec

log = logging.getLogger("tutor.suggest")


def suggested(ctx: TaskContext, command: Command, option: Option) -> list[Choice]:
    """What the option's suggester offers on this pack: empty when it has none, cannot say (no config
    here yet) or fails (logged: a suggestion is a help, never a failure)."""
    if option.suggest is None:
        return []
    try:
        return list(option.suggest(ctx, command))
    except Exception:
        log.exception("suggestions for /%s %s failed", command.name, option.name)
        return []


def candidates(ctx: TaskContext, command: Command, option: Option) -> list[Choice]:
    """Every value worth offering for `option`, before the learner's partial value narrows them: the
    suggester's, else what the declaration alone says."""
    return suggested(ctx, command, option) or declared_values(option)


def suggestions(ctx: TaskContext, command: Command, option: Option, typed: Any) -> list[Choice]:
    """The values to offer for what the learner has typed so far, best first (at most `MAX_CHOICES`)."""
    return matching(candidates(ctx, command, option), typed)


# -- a model's shape, from its config alone ---------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    model: str
    layers: int
    heads: int


def model_config(ctx: TaskContext, spec: ModelSpec) -> Any:
    """The model's config: from the loaded model, or from its config file (no weights, no download)."""
    for loaded in ctx.models.loaded():
        if loaded.spec.source == spec.source and loaded.model is not None:
            return loaded.model.config
    if spec.gguf_file:
        return None  # its config is inside the quantised weights file
    try:
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(spec.source, local_files_only=True)
    except (OSError, ValueError) as exc:
        log.info("no config for %s here (%s)", spec.hub_id, type(exc).__name__)
        return None


def shape_of(ctx: TaskContext, spec: ModelSpec) -> Shape | None:
    """How many layers and heads per layer the model has, when its config can be read here."""
    config = model_config(ctx, spec)
    layers = _first_int(config, "num_hidden_layers", "n_layer", "num_layers")
    heads = _first_int(config, "num_attention_heads", "n_head", "num_heads")
    return Shape(spec.hub_id, layers, heads) if layers is not None and heads is not None else None


def _first_int(config: Any, *names: str) -> int | None:
    values = (getattr(config, name, None) for name in names)
    return next((v for v in values if isinstance(v, int) and v > 0), None)


def _shape(ctx: TaskContext, command: Command) -> Shape | None:
    spec = ctx.pack.models.get(command.model_key)
    return shape_of(ctx, spec) if spec is not None else None


def _short(text: str) -> str:
    return text if len(text) <= MAX_CHOICE_CHARS else text[: MAX_CHOICE_CHARS - 1] + "…"


# -- the suggesters the registry names ------------------------------------------------------------------
def layers(ctx: TaskContext, command: Command) -> list[Choice]:
    """The layers of the model that serves the command: 0 to its number of layers - 1."""
    shape = _shape(ctx, command)
    if shape is None:
        return []
    return [Choice(n, _short(f"{n} (of 0-{shape.layers - 1}, {shape.model})")) for n in range(shape.layers)]


def heads(ctx: TaskContext, command: Command) -> list[Choice]:
    """`all`, `mean`, then the heads of one layer of the model that serves the command."""
    shape = _shape(ctx, command)
    if shape is None:
        return []
    return [Choice("all", f"all: a grid of its {shape.heads} heads"), Choice("mean", "mean: the average of the heads"),
            *(Choice(str(n), _short(f"{n} (of 0-{shape.heads - 1}, {shape.model})")) for n in range(shape.heads))]


def quiz_topics(ctx: TaskContext, command: Command) -> list[Choice]:
    """/quiz's topics, then the question kinds this pack can ask (by the pack's declarations, no load)."""
    from core.tutor.kinds import all_kinds, servable
    from core.tutor.questions import TOPICS

    askable = servable(all_kinds(), ctx.pack)
    served = {k.topic for k in askable}
    topics = [Choice(t, f"{t} (a topic: any of its questions)") for t in TOPICS if t in served]
    return topics + [Choice(k.name, _short(f"{k.name}: {k.title}")) for k in askable]


def lessons(ctx: TaskContext, command: Command) -> list[Choice]:
    """/learn's lessons by number and title, its parts, and the words `list` and `restart`."""
    from core.tutor import lesson_path as path

    found = [Choice(lesson.id, _short(f"{n}. {lesson.title}")) for n, lesson in enumerate(path.LESSONS, start=1)]
    parts = [Choice(f"part {n}", f"Part {roman}: {title}") for n, (roman, title, _) in sorted(path.PARTS.items())]
    return [Choice("list", "list: every lesson, and where you are"), *found, *parts,
            Choice("restart", "restart: from the first lesson")]


def tokenizer_sets(ctx: TaskContext, command: Command) -> list[Choice]:
    """/compare's tokenizers on this pack: every pair of them, then all of them (at most three at once)."""
    from core.tasks.compare import MAX_TOKENIZERS, declared

    names = list(declared(ctx))
    sets = [combo for size in range(2, min(len(names), MAX_TOKENIZERS) + 1)
            for combo in itertools.combinations(names, size)]
    return [Choice(",".join(combo), ", ".join(combo)) for combo in sets] or [Choice(n) for n in names]


def command_names(ctx: TaskContext, command: Command) -> list[Choice]:
    """The commands a learner can type, for /help."""
    return [Choice(c.name, _short(f"{c.name}: {c.description}")) for c in ctx.registry.visible()]


def examples(ctx: TaskContext, command: Command, option: Option, count: int = 5) -> Sequence[Choice]:
    """A few of the values an option offers, for /help to show (its choices, or its first suggestions)."""
    return candidates(ctx, command, option)[:count]
