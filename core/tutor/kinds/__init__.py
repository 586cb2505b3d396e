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

from core.packs import Pack
from core.tutor.kinds.base import Build, Kind, Steps, run_command
from core.tutor.questions import TOPICS


def all_kinds() -> dict[str, Kind]:
    from core.tutor.kinds import attention, decoder, generation, pipelines, tokenizers

    kinds = [*tokenizers.KINDS, *pipelines.KINDS, *attention.KINDS, *generation.KINDS, *decoder.KINDS]
    assert all(k.topic in TOPICS for k in kinds)
    return {k.name: k for k in kinds}


def servable(kinds: dict[str, Kind], pack: Pack) -> list[Kind]:
    return [k for k in kinds.values() if k.serves(pack)]


__all__ = ["Build", "Kind", "Steps", "all_kinds", "run_command", "servable"]
