"""/zeroshot: rank labels the learner chooses, with an NLI model or by embedding similarity.

Batched: concurrent requests share forward passes (see core/batching.py and `run_batch`).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from core import tiny
from core.context import TaskContext
from core.errors import UserError
from core.markup import bold, code, plain
from core.models import Loaded
from core.packs import MINILM, Offline, TaskModel
from core.results import Result, Table
from core.tasks.shared import attribution, occlusion
from core.tasks.shared.base import forward, one
from core.tasks.shared.common import (
    and_list,
    f4,
    kept_per_text,
    load,
    max_tokens,
    model_line,
    pct,
    truncation_notice,
    with_output,
)
from core.tasks.shared.zeroshot_rules import HYPOTHESIS, TEMPERATURE
from core.text import strip_blank

MODEL = TaskModel(roles=("nli", "embedding"), hub="facebook/bart-large-mnli", tiny=tiny.MNLI_BART,
                  offline=Offline(MINILM, "embedding"),
                  hub_classes=("BartForSequenceClassification", "RobertaTokenizer"))  # BartTokenizer: an alias in v5
"""An NLI classifier, or a sentence-embedding model (zero-shot by similarity)."""
MAX_LABELS = 10
MAX_LABEL_CHARS = 60

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
    batch = tokenizer(texts, padding=True, truncation=True, max_length={limit}, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)  # mean pooling

labels = {labels!r}
vectors = embed([{text!r}] + labels)
similarity = vectors[1:] @ vectors[0]  # cosine similarity of each label to the text
scores = {scores}
for i in scores.argsort(descending=True, stable=True):  # ties keep your order
    print(labels[i], f"{{float(scores[i]):.4f}}")"""


def parse_labels(raw: str) -> list[str]:
    """The learner's labels, each once (labels that differ only in capitals are one: `repeated` says which),
    without what shows nothing at their ends; a label of nothing visible is refused, not scored."""
    labels: list[str] = []
    for n, part in enumerate(raw.split(","), start=1):
        label = strip_blank(part)
        if part.strip() and not label:  # `| \u200b, sports`: an invisible label could win
            raise UserError(f"Label {n} holds only characters that show nothing (zero-width spaces and the like); "
                            "give labels in words.")
        if label and label.lower() not in (x.lower() for x in labels):
            labels.append(label)
    if not labels:
        raise UserError("Give 1 to 10 comma-separated labels after ` | `, "
                        "e.g. `/zeroshot I love pizza | food, sports`.")
    if len(labels) > MAX_LABELS:
        raise UserError(f"You gave {len(labels)} labels; /zeroshot takes at most {MAX_LABELS}.")
    long = [x for x in labels if len(x) > MAX_LABEL_CHARS]
    if long:
        raise UserError(f"Labels are at most {MAX_LABEL_CHARS} characters; {code(long[0][:20] + '...')} is longer.")
    return labels


def repeated(raw: str) -> list[str]:
    """The labels given more than once (in any capitals), as `parse_labels` keeps them: each is scored once."""
    given = [strip_blank(part).lower() for part in raw.split(",")]
    return [label for label in parse_labels(raw) if given.count(label.lower()) > 1]


def run_batch(ctx: TaskContext, batch: Sequence[dict[str, Any]]) -> list[Result]:
    """Embedding models: every request's text and labels in one padded forward pass. NLI models: one
    pass per request, holding all of its (text, label) pairs, since each request has its own labels."""
    if any(args.get("why") for args in batch):
        return attribution.each(batch, lambda plain: run_batch(ctx, plain), lambda args: why(ctx, args))
    label_sets = [parse_labels(args["labels"]) for args in batch]  # refuse bad labels before loading a model
    loaded = load(ctx, "zeroshot")
    multis = [bool(args["multi_label"]) for args in batch]
    if loaded.role == "nli":
        ranked = [_nli(loaded, args["text"], labels, multi)
                  for args, labels, multi in zip(batch, label_sets, multis, strict=True)]
    else:
        ranked = _embedding(loaded, [args["text"] for args in batch], label_sets, multis)
    return [with_why(loaded, _result(loaded, args, labels, ranks), args["text"], labels)
            for args, labels, ranks in zip(batch, label_sets, ranked, strict=True)]


def why(ctx: TaskContext, args: dict[str, Any]) -> Result:
    """`why=true`: which words mattered, by occlusion (core/tasks/shared/occlusion.py)."""
    labels = parse_labels(args["labels"])
    loaded = load(ctx, "zeroshot", "nli", "embedding")
    limit = embedding_limit(loaded) if loaded.role != "nli" else 0
    return occlusion.zeroshot(loaded, args["text"], labels, bool(args["multi_label"]), limit)


def with_why(loaded: Loaded, result: Result, text: str, labels: list[str]) -> Result:
    """The answer with its "which words mattered" button, when the text is short enough for it."""
    return replace(result, actions=attribution.why_action("zeroshot", *occlusion.zeroshot_count(loaded, text, labels)))


run = one(run_batch)


def _result(loaded: Loaded, args: dict[str, Any], labels: list[str], ranked: list[tuple[str, float]]) -> Result:
    text, multi = args["text"], bool(args["multi_label"])
    if loaded.role == "nli":
        count, first, notice = _nli_notice(loaded, text, labels)
        explanation = _explain_nli(count, first, labels, multi)
    else:
        limit = embedding_limit(loaded)
        count, notice = truncation_notice(loaded, text, limit=limit)
        explanation = _explain_embedding(count, limit, labels, multi)
    snippet = NLI_SNIPPET if loaded.role == "nli" else EMBED_SNIPPET
    scores = "similarity.clamp(min=0)" if multi else f"torch.softmax(similarity / {TEMPERATURE}, dim=0)"
    rows = tuple((label, f4(score)) for label, score in ranked)
    similarity = multi and loaded.role != "nli"  # a cosine similarity, not a share of 100%
    best = f"similarity {f4(ranked[0][1])}" if similarity else pct(ranked[0][1])
    notices = tuple(n for n in (notice, same_tokens_notice(loaded.tokenizer, labels), repeated_notice(args["labels"]))
                    if n)
    # the pipeline scores a lone label on its own, as with multi_label
    alone = " (scored on its own)" if len(labels) == 1 and (multi or loaded.role == "nli") else \
        " (labels scored independently)" if multi else ""
    return Result(
        command="zeroshot",
        answer=f"{bold(plain(ranked[0][0]))} ({best})" + alone,
        table=Table(("label", "similarity" if similarity else "score"), rows),
        explanation=explanation,
        code=with_output(snippet.format(model=model_line(loaded), text=text, labels=labels, multi=multi,
                                        scores=scores, limit=embedding_limit(loaded) if loaded.role != "nli" else 0),
                         [f"{label} {score}" for label, score in rows]),
        model=loaded.spec.label,
        notices=notices,
    )


def embedding_limit(loaded: Loaded) -> int:
    """The longest input a sentence-embedding model was set up for: sentence-transformers'
    `max_seq_length` (256 for all-MiniLM-L6-v2, whose tokenizer alone would allow 512), else the
    model's own limit."""
    config = _sentence_config(loaded.spec.source)
    limit = max_tokens(loaded)
    if config and isinstance(config.get("max_seq_length"), int) and config["max_seq_length"] > 0:
        return min(limit, config["max_seq_length"])
    return limit


def _sentence_config(source: str) -> dict[str, Any] | None:
    path: Path | None = Path(source) / "sentence_bert_config.json"
    if not path.is_file():
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(source, "sentence_bert_config.json") if "/" in source else None
        path = Path(cached) if isinstance(cached, str) else None
    try:
        return json.loads(path.read_text()) if path else None
    except (OSError, ValueError):
        return None


def same_tokens_notice(tokenizer: Any, labels: list[str]) -> str | None:
    """Labels the tokenizer turns into the same tokens look identical to the model: say so."""
    groups: dict[tuple[int, ...], list[str]] = {}
    for label in labels:
        groups.setdefault(tuple(tokenizer(label, add_special_tokens=False)["input_ids"]), []).append(label)
    same = [group for group in groups.values() if len(group) > 1]
    if not same:
        return None
    group = same[0]
    tokens = " ".join(tokenizer.convert_ids_to_tokens(tokenizer(group[0], add_special_tokens=False)["input_ids"]))
    return (f"The labels {and_list([code(g) for g in group])} became the same tokens ({code(tokens)}) for this "
            "model's tokenizer, so the model cannot tell them apart: they get the same score, and which of them "
            "ranks first means nothing. Reword them, e.g. in words the vocabulary knows.")


def repeated_notice(raw: str) -> str | None:
    twice = repeated(raw)
    if not twice:
        return None
    return (f"You gave {and_list([code(label) for label in twice])} more than once (capitals aside): "
            f"{'each is' if len(twice) > 1 else 'it is'} scored once.")


def _nli(loaded: Any, text: str, labels: list[str], multi: bool) -> list[tuple[str, float]]:
    out = loaded.pipeline("zero-shot-classification")(text, candidate_labels=labels, multi_label=multi,
                                                      batch_size=len(labels))
    return list(zip(out["labels"], out["scores"], strict=True))


def _embedding(loaded: Any, texts: list[str], label_sets: list[list[str]],
               multis: list[bool]) -> list[list[tuple[str, float]]]:
    import torch
    sentences = [s for text, labels in zip(texts, label_sets, strict=True) for s in (text, *labels)]
    batch = loaded.tokenizer(sentences, padding=True, truncation=True, max_length=embedding_limit(loaded),
                             return_tensors="pt")
    hidden = forward(loaded, batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    vectors = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    ranked, start = [], 0
    for labels, multi in zip(label_sets, multis, strict=True):
        similarity = vectors[start + 1:start + 1 + len(labels)] @ vectors[start]
        start += 1 + len(labels)
        scores = similarity.clamp(min=0) if multi else torch.softmax(similarity / TEMPERATURE, dim=0)
        ranked.append([(labels[int(i)], float(scores[i])) for i in scores.argsort(descending=True, stable=True)])
    return ranked


def _nli_notice(loaded: Loaded, text: str, labels: list[str]) -> tuple[int, str | None, str | None]:
    """The text's token count, how much of it the model read (None: all) and a notice when the pipeline
    cut it: it reads the text with each hypothesis and cuts only the text (`only_first`) to fit."""
    tok, limit = loaded.tokenizer, max_tokens(loaded)
    count = len(tok(text, add_special_tokens=False)["input_ids"])
    pairs = [(text, HYPOTHESIS.format(label)) for label in labels]
    if all(len(tok(*pair)["input_ids"]) <= limit for pair in pairs):
        return count, None, None
    kept = sorted({kept_per_text(tok, pair, limit, "only_first")[0] for pair in pairs})
    first = f"{kept[0]}" if len(kept) == 1 else f"{kept[0]} to {kept[-1]} (depending on the label)"
    return count, first, (f"Your text is {count} tokens long, but this model reads at most {limit} tokens of text and "
                   f"hypothesis together, so the pipeline cut your text (`truncation=\"only_first\"`) to its first "
                   f"{first} tokens; the model never saw the rest.")


def _explain_nli(count: int, first: str | None, labels: list[str], multi: bool) -> str:
    read = f"{count} tokens" if first is None else f"{count} tokens, of which it read the first {first}"
    return (
        (f"1. Your label became the hypothesis \"{plain(HYPOTHESIS.format(labels[0]))}\"\n" if len(labels) == 1 else
           f"1. Each of your {len(labels)} labels became a hypothesis like \"{plain(HYPOTHESIS.format(labels[0]))}\"\n")
        + f"2. A natural-language-inference model read your text ({read}) with each hypothesis and "
        "gave each pair a score for entailment, neutral and contradiction.\n"
        + ("3. With multi_label, each label stands alone: softmax over its own entailment and contradiction "
           "scores (neutral left out) gives its probability, and the labels need not add up to 1."
           if multi else "3. With a single label there is nothing to share out, so the pipeline scores it on its "
                         "own, as with multi_label: softmax over its entailment and contradiction scores (neutral "
                         "left out) gives its probability."
           if len(labels) == 1 else
           "3. With one label to pick, only the entailment scores count: softmax across the labels shares 100% "
                         "between them, so each percentage is a label's share among the labels you "
                         "gave, not a probability on its own.")
    )


def _explain_embedding(count: int, limit: int, labels: list[str], multi: bool) -> str:
    read = f"{count} tokens" if count <= limit else f"{count} tokens, of which the model read the first {limit}"
    return (
        f"1. This pack's model is a sentence-embedding model, not an NLI classifier, so zero-shot works by "
        f"similarity: your text ({read}) and "
        + ("your label" if len(labels) == 1 else f"each of the {len(labels)} labels")
        + " became one vector (the mean of their token vectors).\n"
        "2. Cosine similarity measured how close each label's vector is to the text's.\n"
        + ("3. With multi_label, each label keeps its own cosine similarity (below 0 counts as 0): a number "
           "from 0 to 1, not a probability or a share of 100%."
           if multi else "3. With one label, softmax has nothing to share out: it gives the label 100% whatever the "
                         "text says. Give two or more labels to compare, or `multi_label=true` to see the label's "
                         "cosine similarity."
           if len(labels) == 1 else
           f"3. Softmax over similarity / {TEMPERATURE} (a temperature the tutor chose, to spread "
                         "similarities that sit close together) turned them into shares of 100%: a label's share "
                         "among the labels you gave, which changes with the set of labels, not the probability "
                         "that the text is about it.")
    )
