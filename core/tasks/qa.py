"""/qa: extractive question answering from start/end logits, or a chat model's answer.

The extractive way is what the removed `pipeline("question-answering")` did, with its defaults: a
384-token window sliding by 128, and answers of at most 15 tokens (its `max_answer_len`), so that a
model unsure of the end does not return half the context.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from core import tiny
from core.context import TaskContext
from core.markup import bold, code, plain
from core.models import Loaded
from core.packs import SMOLLM2, Offline, TaskModel
from core.results import Result, Table
from core.tasks.shared import chat
from core.tasks.shared.base import forward, one
from core.tasks.shared.common import f4, load, model_line, pct, with_output
from core.tasks.standins import stand_in_line
from core.wording import plural

MAX_ANSWER_TOKENS = 15
"""The removed pipeline's default `max_answer_len`."""
CHAT_NEW_TOKENS = 48
CHAT_WROTE = ("a chat model wrote this answer: it is generated, so it may not be in the context (or may be wrong), "
              "where extractive QA (the hub and tiny packs) points to a span of the context itself.")
"""What a chat model's answer says of itself, in one line."""
MODEL = TaskModel(roles=("extractive-qa", "chat", "causal-lm"), hub="distilbert/distilbert-base-cased-distilled-squad",
                  tiny=tiny.SQUAD_DISTILBERT,
                  offline=Offline(SMOLLM2, "chat", stands_in="this pack has no extractive QA model, so SmolLM2, "
                                  "a chat model, writes the answer (generated: it may not be in the context), "
                                  "where extractive QA points to a span of the context."),
                  hub_classes=("DistilBertForQuestionAnswering", "DistilBertTokenizer"))
"""Extractive QA from start/end logits, or a chat model asked the question."""
SNIPPET = """import torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer

{model}
tokenizer = AutoTokenizer.from_pretrained(MODEL)
model = AutoModelForQuestionAnswering.from_pretrained(MODEL)
question, context = {question!r}, {context!r}
enc = tokenizer(question, context, truncation="only_second", max_length=384, stride=128, padding=True,
                return_overflowing_tokens=True, return_offsets_mapping=True, return_tensors="pt")
offsets = enc.pop("offset_mapping")
enc.pop("overflow_to_sample_mapping")
with torch.no_grad():
    out = model(**enc)
best = (-1.0, 0, 0)
for w in range(len(offsets)):  # long contexts are read in overlapping windows
    outside = torch.tensor([s != 1 for s in enc.sequence_ids(w)])  # only context tokens can answer
    start = torch.softmax(out.start_logits[w].masked_fill(outside, -1e4), dim=-1)
    end = torch.softmax(out.end_logits[w].masked_fill(outside, -1e4), dim=-1)
    spans = torch.triu(start[:, None] * end[None, :]).tril({max_len} - 1)  # end at or after start, short
    s, e = divmod(int(spans.argmax()), spans.shape[1])
    if float(spans[s, e]) > best[0]:
        best = (float(spans[s, e]), int(offsets[w][s][0]), int(offsets[w][e][1]))
score, a, b = best
print(context[a:b], f"{{score:.4f}}")"""

CHAT_SYSTEM = "Answer the question using only the context. Reply with the answer only, in a few words."


def run_batch(ctx: TaskContext, batch: Sequence[dict[str, Any]]) -> list[Result]:
    """A chat model answers concurrent questions together; an extractive model one after another."""
    loaded = load(ctx, "qa")
    if loaded.role == "extractive-qa":
        return [_extractive(loaded, args["question"], args["context"]) for args in batch]
    asks = [chat.Ask(args["context"], _asking(args["question"])) for args in batch]
    replies = chat.chat_batch(loaded, asks, CHAT_NEW_TOKENS)
    return [_chat(loaded, args["question"], reply) for args, reply in zip(batch, replies, strict=True)]


run = one(run_batch)


def extract(loaded: Loaded, question: str, context: str) -> tuple[float, int, int, int, int]:
    """Best answer span as (score, char start, char end, windows, tokens in the first window)."""
    import torch
    enc = loaded.tokenizer(question, context, truncation="only_second", max_length=384, stride=128, padding=True,
                           return_overflowing_tokens=True, return_offsets_mapping=True, return_tensors="pt")
    offsets = enc.pop("offset_mapping")
    enc.pop("overflow_to_sample_mapping")
    out = forward(loaded, enc)
    best = (-1.0, 0, 0)
    for w in range(len(offsets)):
        outside = torch.tensor([s != 1 for s in enc.sequence_ids(w)])
        start = torch.softmax(out.start_logits[w].masked_fill(outside, -1e4), dim=-1)
        end = torch.softmax(out.end_logits[w].masked_fill(outside, -1e4), dim=-1)
        spans = torch.triu(start[:, None] * end[None, :]).tril(MAX_ANSWER_TOKENS - 1)
        s, e = divmod(int(spans.argmax()), spans.shape[1])
        if float(spans[s, e]) > best[0]:
            best = (float(spans[s, e]), int(offsets[w][s][0]), int(offsets[w][e][1]))
    return (*best, len(offsets), int(enc["attention_mask"][0].sum()))


def _extractive(loaded: Loaded, question: str, context: str) -> Result:
    score, a, b, windows, tokens = extract(loaded, question, context)
    answer = context[a:b]
    return Result(
        command="qa",
        answer=(f"{asked(question)}\n{bold(plain(answer))} (score {pct(score)}), a span of your context:\n"
                f"{plain(context[:a])}{bold(plain(answer))}{plain(context[b:])}"),
        table=Table(("answer", "score", "characters"), ((answer, f4(score), f"{a}-{b}"),)),
        explanation=(
            "1. transformers 5 removed `pipeline(\"question-answering\")`; this is what it did, step by step.\n"
            f"2. The question and context were tokenized together ({plural(tokens, 'token')}"
            + (f", in {windows} overlapping windows because the context is long" if windows > 1 else "")
            + "), keeping each token's character offsets in the context.\n"
            "3. The model gave every token two logits: how likely the answer starts there, and ends there.\n"
            f"4. The best span (end at or after start, inside the context, at most {MAX_ANSWER_TOKENS} tokens: "
            "the removed pipeline's default `max_answer_len`) scored start x end probability "
            f"{f4(score)}; its offsets cut characters {a}-{b} out of your context."
        ),
        code=with_output(SNIPPET.format(model=model_line(loaded), question=question, context=context,
                                        max_len=MAX_ANSWER_TOKENS), [f"{answer} {f4(score)}"]),
        model=loaded.spec.label,
    )


def _asking(question: str) -> Callable[[str], chat.Messages]:
    """The messages for a question about a context (the part that may be shortened to fit)."""
    def build(context: str) -> chat.Messages:
        return [{"role": "system", "content": CHAT_SYSTEM},
                {"role": "user", "content": f"Context: {context}\n\nQuestion: {question}"}]
    return build


def asked(question: str) -> str:
    """The answer's first line: the question it answers."""
    return f"Question: {code(question)}"


def _chat(loaded: Loaded, question: str, reply: chat.Reply) -> Result:
    context = reply.learner_text[:reply.kept_chars]
    answer = reply.text.rstrip(".")
    where = context.find(answer) if answer else -1
    shown = (f"\nFound in your context: {plain(context[:where])}{bold(plain(answer))}"
             f"{plain(context[where + len(answer):])}" if where >= 0
             else "\nNot a span of your context: the model worded it itself.")
    note = ("\n4. A chat model writes its answer instead of pointing into the context"
            + (": this one happens to be a span of it, but nothing made it one." if where >= 0 else
               ", so it may word it differently, or get it wrong: check it against the context."))
    return Result(
        command="qa",
        answer=(f"{asked(question)}\n{bold(plain(reply.text) or '(no answer)')}{shown}\n"
                f"{stand_in_line(CHAT_WROTE)}"),
        explanation=chat.explain("question-answering", reply, note),
        code=with_output(chat.snippet(loaded, reply.messages, reply.cap), [reply.text]),
        model=loaded.spec.label,
        notices=chat.notices(reply, "the context"),
    )
