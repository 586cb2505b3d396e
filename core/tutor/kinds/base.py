"""What every question kind is: a `Kind`, its two `Steps`, and how a kind runs an ordinary command."""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from core.context import TaskContext
from core.packs import Pack
from core.results import Result
from core.tutor.questions import Item, Question

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
    model_roles: tuple[str, ...] = ()
    """The sorts of model (`ModelSpec.role`) it can use; empty for any. Read from the pack, so a pack whose
    model is of another sort (a chat model for extractive QA) is known not to serve it without a load."""

    def serves(self, pack: Pack) -> bool:
        spec = pack.models.get(self.needs)
        return spec is not None and (not self.model_roles or spec.role in (*self.model_roles, "auto"))


def run_command(ctx: TaskContext, name: str, raw: dict[str, Any]) -> Result:
    """The ordinary command's own answer (on this worker thread): its snippet prints the key."""
    command = ctx.registry.get(name)
    return command.handler(ctx, command.validate(raw))
