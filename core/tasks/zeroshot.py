"""/zeroshot: rank labels the learner chooses, with an NLI model or by embedding similarity.

Batched: concurrent requests share forward passes (see core/batching.py and `run_batch`).
"""
from __future__ import annotations

from typing import Any, Sequence

import torch

from core.context import TaskContext
from core.errors import UserError
from core.results import Result, Table
from core.tasks.common import f4, load, model_line, pct, truncation_notice, with_output

MAX_LABELS = 10
MAX_LABEL_CHARS = 60
TEMPERATURE = 0.05
"""Cosine similarities sit close together; dividing by 0.05 before softmax spreads them out."""

NLI_SNIPPET = """from transformers import pipeline

{model}
classifier = pipeline("zero-shot-classification", model=MODEL)
out = classifier({text!r}, candidate_labels={labels!r}, multi_label={multi})
for label, score in zip(out["labels"], out["scores"]):
    print(label, f"{{score:.4f}}")"""

EMBED_SNIPPET = """import torch
from transformers import AutoModel, AutoTokenizer

{model}
tokenizer = AutoTokenizer.from_pretrained(MODEL)
model = AutoModel.from_pretrained(MODEL)

def embed(texts):
    batch = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)  # mean pooling

labels = {labels!r}
vectors = embed([{text!r}] + labels)
similarity = vectors[1:] @ vectors[0]  # cosine similarity of each label to the text
scores = {scores}
for i in scores.argsort(descending=True):
    print(labels[i], f"{{float(scores[i]):.4f}}")"""


def parse_labels(raw: str) -> list[str]:
    labels: list[str] = []
    for label in (part.strip() for part in raw.split(",")):
        if label and label.lower() not in (x.lower() for x in labels):
            labels.append(label)
    if not labels:
        raise UserError("Give 1 to 10 comma-separated labels after ` | `, e.g. `/zeroshot I love pizza | food, sports`.")
    if len(labels) > MAX_LABELS:
        raise UserError(f"You gave {len(labels)} labels; /zeroshot takes at most {MAX_LABELS}.")
    long = [x for x in labels if len(x) > MAX_LABEL_CHARS]
    if long:
        raise UserError(f"Labels are at most {MAX_LABEL_CHARS} characters; `{long[0][:20]}...` is longer.")
    return labels


def run(ctx: TaskContext, args: dict[str, Any]) -> Result:
    return run_batch(ctx, [args])[0]


def run_batch(ctx: TaskContext, batch: Sequence[dict[str, Any]]) -> list[Result]:
    """Embedding models: every request's text and labels in one padded forward pass. NLI models: one
    pass per request, holding all of its (text, label) pairs, since each request has its own labels."""
    label_sets = [parse_labels(args["labels"]) for args in batch]  # refuse bad labels before loading a model
    loaded = load(ctx, "zeroshot", "nli", "embedding")
    multis = [bool(args["multi_label"]) for args in batch]
    if loaded.kind == "nli":
        ranked = [_nli(loaded, args["text"], labels, multi) for args, labels, multi in zip(batch, label_sets, multis)]
    else:
        ranked = _embedding(loaded, [args["text"] for args in batch], label_sets, multis)
    return [_result(loaded, args, labels, ranks) for args, labels, ranks in zip(batch, label_sets, ranked)]


def _result(loaded: Any, args: dict[str, Any], labels: list[str], ranked: list[tuple[str, float]]) -> Result:
    text, multi = args["text"], bool(args["multi_label"])
    count, notice = truncation_notice(loaded, text)
    explain = _explain_nli if loaded.kind == "nli" else _explain_embedding
    snippet = NLI_SNIPPET if loaded.kind == "nli" else EMBED_SNIPPET
    scores = "similarity.clamp(min=0)" if multi else f"torch.softmax(similarity / {TEMPERATURE}, dim=0)"
    rows = tuple((label, f4(score)) for label, score in ranked)
    return Result(
        command="zeroshot",
        answer=f"**{ranked[0][0]}** ({pct(ranked[0][1])})" + (" (labels scored independently)" if multi else ""),
        table=Table(("label", "score"), rows),
        explanation=explain(count, labels, multi),
        code=with_output(snippet.format(model=model_line(loaded), text=text, labels=labels, multi=multi, scores=scores),
                         [f"{label} {score}" for label, score in rows]),
        model=loaded.spec.hub_id,
        notices=(notice,) if notice else (),
    )


def _nli(loaded: Any, text: str, labels: list[str], multi: bool) -> list[tuple[str, float]]:
    out = loaded.pipeline("zero-shot-classification")(text, candidate_labels=labels, multi_label=multi,
                                                      batch_size=len(labels))
    return list(zip(out["labels"], out["scores"]))


def _embedding(loaded: Any, texts: list[str], label_sets: list[list[str]],
               multis: list[bool]) -> list[list[tuple[str, float]]]:
    sentences = [s for text, labels in zip(texts, label_sets) for s in (text, *labels)]
    batch = loaded.tokenizer(sentences, padding=True, truncation=True, return_tensors="pt").to(loaded.device)
    with torch.no_grad():
        hidden = loaded.model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    vectors = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).float().cpu()
    ranked, start = [], 0
    for labels, multi in zip(label_sets, multis):
        similarity = vectors[start + 1:start + 1 + len(labels)] @ vectors[start]
        start += 1 + len(labels)
        scores = similarity.clamp(min=0) if multi else torch.softmax(similarity / TEMPERATURE, dim=0)
        ranked.append([(labels[int(i)], float(scores[i])) for i in scores.argsort(descending=True)])
    return ranked


def _explain_nli(count: int, labels: list[str], multi: bool) -> str:
    return (
        f"1. Each of your {len(labels)} labels became a hypothesis like \"This example is {labels[0]}.\"\n"
        f"2. A natural-language-inference model read your text ({count} tokens) with each hypothesis and "
        "scored entailment vs contradiction.\n"
        + ("3. With multi_label, each label's entailment probability stands alone (they need not add up to 1)."
           if multi else "3. Softmax over the labels' entailment scores shares 100% between them.")
    )


def _explain_embedding(count: int, labels: list[str], multi: bool) -> str:
    return (
        f"1. This pack's model is a sentence-embedding model, not an NLI classifier, so zero-shot works by "
        f"similarity: your text ({count} tokens) and each of the {len(labels)} labels became one vector "
        "(the mean of their token vectors).\n"
        "2. Cosine similarity measured how close each label's vector is to the text's.\n"
        + ("3. With multi_label, each label keeps its own similarity (below 0 counts as 0)."
           if multi else f"3. Softmax over similarity / {TEMPERATURE} turned them into shares of 100%.")
    )
