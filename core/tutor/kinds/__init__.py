"""Question kinds: each asks one thing a model run answers, and computes the key by that run.

A kind names the pack model it needs (`needs`, a pack command such as `tokenize`), so which kinds a
pack serves is known without loading anything (`servable`); a kind that finds its model of the
wrong sort at run time (a chat model for extractive QA) raises `core.errors.UserError`, and the
pool sets it aside. Kinds run on worker threads only (the engine's pool, or a lesson's handler).

A question is made in two steps (`Steps`): `measure` runs the model on the item (all the model work,
the same for every question on that item) and `pose` turns that run into a question with the draw's
randomness (which options, which layer and head, where the key goes). The fairness test measures an
item once and poses many questions from it, as the product would over many draws.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from core.context import TaskContext
from core.packs import Pack
from core.results import Result
from core.tutor.questions import TOPICS, Item, Question

Build = Callable[[TaskContext, Item, random.Random], Question]
Run = TypeVar("Run")


@dataclass(frozen=True)
class Steps(Generic[Run]):
    """A `Build` in its two steps: the model run on an item, then the question posed from it."""

    measure: Callable[[TaskContext, Item], Run]
    pose: Callable[[Run, random.Random], Question]

    def __call__(self, ctx: TaskContext, item: Item, rng: random.Random) -> Question:
        return self.pose(self.measure(ctx, item), rng)


@dataclass(frozen=True)
class Kind:
    name: str
    topic: str
    title: str
    """What it asks, for /quiz's topic list: "how many tokens a word becomes"."""
    needs: str
    build: Build
    bank: tuple[Item, ...]
    from_text: Callable[[str], Item | None]
    """A learner's own sentence as an item of this kind (lessons), or None when it cannot be one."""
    model_kinds: tuple[str, ...] = ()
    """The sorts of model (`ModelSpec.kind`) it can use; empty for any. Read from the pack, so a pack whose
    model is of another sort (a chat model for extractive QA) is known not to serve it without a load."""

    def serves(self, pack: Pack) -> bool:
        spec = pack.models.get(self.needs)
        return spec is not None and (not self.model_kinds or spec.kind in (*self.model_kinds, "auto"))


def run_command(ctx: TaskContext, name: str, raw: dict[str, Any]) -> Result:
    """The ordinary command's own answer (on this worker thread): its snippet prints the key."""
    command = ctx.registry.get(name)
    return command.handler(ctx, command.validate(raw))


def all_kinds() -> dict[str, Kind]:
    from core.tutor.kinds import attention, decoder, generation, pipelines, tokenizers

    kinds = [*tokenizers.KINDS, *pipelines.KINDS, *attention.KINDS, *generation.KINDS, *decoder.KINDS]
    assert all(k.topic in TOPICS for k in kinds)
    return {k.name: k for k in kinds}


def servable(kinds: dict[str, Kind], pack: Pack) -> list[Kind]:
    return [k for k in kinds.values() if k.serves(pack)]
