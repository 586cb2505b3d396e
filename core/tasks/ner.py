"""/ner: token classification, with sub-word labels grouped into whole entities.

Batched: concurrent requests share one padded forward pass (see core/batching.py).
"""
from __future__ import annotations

from typing import Any, Sequence

from core.context import TaskContext
from core.models import Loaded
from core.results import Result, Table
from core.tasks.common import f4, load, model_line, row_lines, truncation_notice, with_output

SNIPPET = """from transformers import pipeline

{model}
ner = pipeline("token-classification", model=MODEL, aggregation_strategy="simple")
for e in ner({text!r}):
    print(e["word"], e["entity_group"], f"{{e['score']:.4f}}")"""


def run(ctx: TaskContext, args: dict[str, Any]) -> Result:
    return run_batch(ctx, [args])[0]


def run_batch(ctx: TaskContext, batch: Sequence[dict[str, Any]]) -> list[Result]:
    loaded = load(ctx, "ner", "token-classifier")
    texts = [args["text"] for args in batch]
    found = loaded.pipeline("token-classification")(texts, aggregation_strategy="simple", batch_size=len(texts))
    return [_result(loaded, text, entities) for text, entities in zip(texts, found)]


def _result(loaded: Loaded, text: str, entities: list[dict[str, Any]]) -> Result:
    count, notice = truncation_notice(loaded, text)
    rows = tuple((e["word"], e["entity_group"], f4(float(e["score"]))) for e in entities)
    types = sorted({e["entity_group"] for e in entities})
    answer = (f"**{len(rows)} entities**: {mark(text, entities)}" if rows else "No named entities found.")
    return Result(
        command="ner",
        answer=answer,
        table=Table(("entity", "type", "score"), rows) if rows else None,
        explanation=(
            f"1. The tokenizer split the text into {count} tokens.\n"
            f"2. The model gave every token one label out of {len(loaded.model.config.id2label)} "
            "(B- begins an entity, I- continues it, O is outside any entity).\n"
            "3. `aggregation_strategy=\"simple\"` grouped the sub-word pieces and B-/I- labels back into whole "
            "words and entities, averaging their scores"
            + (f". Types found: {', '.join(types)}." if types else ".")
        ),
        code=with_output(SNIPPET.format(model=model_line(loaded), text=text), row_lines(rows)),
        model=loaded.spec.hub_id,
        notices=(notice,) if notice else (),
    )


def mark(text: str, entities: list[dict[str, Any]]) -> str:
    """The text with each entity shown as **word** [TYPE], using the character offsets."""
    out, last = [], 0
    for e in sorted(entities, key=lambda e: e["start"]):
        if e["start"] < last:
            continue
        out.append(text[last:e["start"]])
        out.append(f"**{text[e['start']:e['end']]}** [{e['entity_group']}]")
        last = e["end"]
    out.append(text[last:])
    return "".join(out)
