"""A quiz question: its prompt, four options, the key a model run computed, and what the reveal shows.

Questions are data (JSON in the round's row), so any bot process sharing the database can reveal a
round another one asked.
"""
from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from typing import Any

from core.results import Result, Table
from core.tutor.options import OPTIONS, NoQuestion, Option, arrange
from core.wording import ordinal

__all__ = ["LETTERS", "OPTIONS", "TOPICS", "Explore", "Item", "NoQuestion", "Picture", "Question", "from_result",
           "ordinal", "shuffled"]

TOPICS = ("tokenizers", "pipelines", "attention", "generation")
LETTERS = "ABCD"


@dataclass(frozen=True)
class Item:
    """One entry of the sentence bank, or a learner's own sentence made into one."""

    text: str
    target: str = ""
    """A word of `text` the question is about (a name for NER, the attending word for attention)."""
    extra: tuple[str, ...] = ()
    """More inputs: zero-shot labels, a question for /qa, a second text for padding."""


@dataclass(frozen=True)
class Picture:
    """One attention map, drawn at the reveal (rows attend to columns)."""

    tokens: list[str]
    weights: list[list[float]]
    noop: list[bool]
    title: str


@dataclass(frozen=True)
class Explore:
    """Open the question's run as an ordinary command ("Open as /attention")."""

    label: str
    command: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Question:
    kind: str
    topic: str
    prompt: str
    """Markup: the question itself."""
    options: tuple[str, ...]
    """Plain text, four of them, distinct."""
    key: int
    why: tuple[str, ...]
    """Markup, one per option: why it is right or wrong, with the run's numbers."""
    model: str
    code: str
    """The snippet, with what it prints (the key among it)."""
    explanation: str = ""
    table: Table | None = None
    picture: Picture | None = None
    explore: tuple[Explore, ...] = ()
    literal: bool = True
    """Options are tokens or text of the run: shown as code spans."""
    notes: tuple[str, ...] = field(default_factory=tuple)
    inputs: dict[str, Any] = field(default_factory=dict)
    """What the run read (the text, the word, the layer and head...): enough to run it again."""

    def __post_init__(self) -> None:
        if len(self.options) != OPTIONS or len(set(self.options)) != OPTIONS or len(self.why) != OPTIONS:
            raise NoQuestion(f"{self.kind}: need {OPTIONS} distinct options with reasons, got {self.options!r}")
        if not 0 <= self.key < OPTIONS:
            raise ValueError(f"key {self.key} out of range")

    @property
    def answer(self) -> str:
        return self.options[self.key]

    @property
    def subject(self) -> str:
        """The text the question is about (its word, sentence, prompt or context): what a review of the
        kind must not bring back."""
        for name in ("text", "word", "prompt", "context"):
            if isinstance(self.inputs.get(name), str):
                return self.inputs[name]
        texts = self.inputs.get("texts")
        return str(texts[0]) if texts else self.prompt

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Question:
        data = json.loads(text)
        table = data.pop("table")
        picture = data.pop("picture")
        return cls(**{**data, "options": tuple(data["options"]), "why": tuple(data["why"]),
                       "notes": tuple(data.get("notes", ())),
                       "explore": tuple(Explore(**e) for e in data["explore"]),
                       "table": _table(table),
                       "picture": Picture(**picture) if picture else None})


def _table(data: dict[str, Any] | None) -> Table | None:
    return Table(tuple(data["columns"]), tuple(tuple(r) for r in data["rows"])) if data else None


def shuffled(right: Option, wrong: list[Option], rng: random.Random) -> tuple[tuple[str, ...], int, tuple[str, ...]]:
    """Four (option, why) pairs, fairly arranged (core/tutor/options.py's `arrange`): the options, the
    key's index and the reasons. Fewer than three distinct wrong options is `NoQuestion`."""
    return arrange(right, wrong, rng)


def from_result(result: Result) -> dict[str, Any]:
    """The parts of an ordinary command's answer a reveal reuses: its table, explanation and snippet."""
    return {"table": result.table, "explanation": result.explanation, "code": result.code, "model": result.model}
