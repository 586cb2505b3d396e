"""/ner: token classification, with neighbouring token labels grouped into entities.

Batched: concurrent requests share one padded forward pass (see core/batching.py). On the offline
pack, which has no token classifier, capitalised spans typed by SmolLM2 stand in
(core/tasks/standins/ner.py).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core import tiny
from core.context import TaskContext
from core.markup import bold, code, plain
from core.models import Loaded
from core.packs import SMOLLM2, Offline, TaskModel
from core.results import Result, Table
from core.tasks import standins
from core.tasks.shared.base import one
from core.tasks.shared.common import f4, load, model_line, row_lines, truncation_notice, with_output
from core.tasks.standins import ner as standin
from core.wording import plural

MODEL = TaskModel(roles=("token-classifier", "chat"), hub="dslim/bert-base-NER", tiny=tiny.CONLL_BERT,
                  offline=Offline(SMOLLM2, "chat", stands_in=standin.STANDS_IN),
                  hub_classes=("BertForTokenClassification", "BertTokenizer"))
"""A token classifier; on the offline pack, capitalised spans typed by a chat model stand in for one."""

SNIPPET = """from transformers import pipeline

{model}
ner = pipeline("token-classification", model=MODEL, aggregation_strategy="simple")
for e in ner({text!r}):
    print(e["word"], e["entity_group"], f"{{e['score']:.4f}}")"""


def run_batch(ctx: TaskContext, batch: Sequence[dict[str, Any]]) -> list[Result]:
    loaded = load(ctx, "ner")
    texts = [args["text"] for args in batch]
    if standins.is_standin(loaded):
        found = standin.find(loaded, texts)
        return [standin.result(loaded, text, entities, mark(text, [e.as_dict() for e in entities]))
                for text, entities in zip(texts, found, strict=True)]
    found = loaded.pipeline("token-classification")(texts, aggregation_strategy="simple", batch_size=len(texts))
    return [_result(loaded, text, entities) for text, entities in zip(texts, found, strict=True)]


run = one(run_batch)


def _result(loaded: Loaded, text: str, entities: list[dict[str, Any]]) -> Result:
    count, notice = truncation_notice(loaded, text)
    rows = tuple((e["word"], e["entity_group"], f4(float(e["score"]))) for e in entities)
    types = sorted({e["entity_group"] for e in entities})
    answer = (f"**{plural(len(rows), 'entity', 'entities')}**: {mark(text, entities)}" if rows
              else "No named entities found.")
    read = len(loaded.tokenizer(text, truncation=True)["input_ids"])
    labels = list(loaded.model.config.id2label.values())
    bio = (" (B- begins an entity, I- continues it, O is outside any entity)"
           if any(str(label).startswith("B-") for label in labels) else "")
    return Result(
        command="ner",
        answer=answer,
        table=Table(("entity", "type", "score"), rows) if rows else None,
        explanation=(
            f"1. The tokenizer split the text into {count} tokens"
            + (f", of which the model read the first {read}" if read < count else "") + ".\n"
            f"2. The model gave every token one label out of {len(labels)}{bio}.\n"
            f"3. {explain_simple(text, entities)}"
            + (f" Types found: {', '.join(plain(t) for t in types)}." if types else "")
        ),
        code=with_output(SNIPPET.format(model=model_line(loaded), text=text), row_lines(rows)),
        model=loaded.spec.label,
        notices=(notice,) if notice else (),
    )


def explain_simple(text: str, entities: list[dict[str, Any]]) -> str:
    """What `aggregation_strategy="simple"` did, and whether it cut a word this time."""
    out = ("`aggregation_strategy=\"simple\"` took each token's most likely label, then joined neighbouring "
           "tokens of the same type into one entity (a B- label starts a new one), averaging their scores, and "
           "left out tokens labelled O. It does not look at words: the pieces of one word can land in different "
           "entities, or outside any. `aggregation_strategy=\"first\"` (or \"average\", \"max\") would give every "
           "word, as the tokenizer splits words, a single label.")
    cut = cut_word(text, entities)
    if cut:
        piece, label, word = cut
        out += f" Here it cut a word: {code(piece)} [{plain(label)}] is only part of {code(word)}."
    return out


def cut_word(text: str, entities: list[dict[str, Any]], reach: int = 12) -> tuple[str, str, str] | None:
    """The first entity that starts or ends inside a run of letters: (its text, its type, the run)."""
    for e in sorted(entities, key=lambda e: e.get("start") or 0):
        start, end = e.get("start"), e.get("end")
        if start is None or end is None or start >= end:
            continue
        if not (_inside(text, start) or _inside(text, end)):
            continue
        left, right = start, end
        while left > max(0, start - reach) and text[left - 1].isalnum():
            left -= 1
        while right < min(len(text), end + reach) and text[right].isalnum():
            right += 1
        return text[start:end], e["entity_group"], text[left:right]
    return None


def _inside(text: str, i: int) -> bool:
    """True when position i falls between two letters or digits (inside a word)."""
    return 0 < i < len(text) and text[i - 1].isalnum() and text[i].isalnum()


def mark(text: str, entities: list[dict[str, Any]]) -> str:
    """The text with each entity shown as **word** [TYPE], using the character offsets: markup, the learner's
    text in it escaped (`plain`), so that its `*`, backticks and backslashes show as typed."""
    out, last = [], 0
    for e in sorted(entities, key=lambda e: e["start"]):
        if e["start"] < last:
            continue
        out.append(plain(text[last:e["start"]]))
        out.append(f"{bold(plain(text[e['start']:e['end']]))} [{plain(e['entity_group'])}]")
        last = e["end"]
    out.append(plain(text[last:]))
    return "".join(out)
