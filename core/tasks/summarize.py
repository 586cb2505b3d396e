"""/summarize: a seq2seq model's `generate`, or a chat model asked for a summary.

transformers 5 removed `pipeline("summarization")`; both ways here are what it teaches now.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch

from core.context import TaskContext
from core.models import Loaded
from core.results import Result
from core.tasks import chat
from core.tasks.common import load, model_line, truncation_notice, with_output

MAX_NEW_TOKENS = 60
CHAT_NEW_TOKENS = 80
SNIPPET = """from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

{model}
tokenizer = AutoTokenizer.from_pretrained(MODEL)
model = AutoModelForSeq2SeqLM.from_pretrained(MODEL)
inputs = tokenizer({text!r}, truncation=True, return_tensors="pt")
summary_ids = model.generate(**inputs, max_new_tokens={n})
print(tokenizer.decode(summary_ids[0], skip_special_tokens=True))"""


def run(ctx: TaskContext, args: dict[str, Any]) -> Result:
    return run_batch(ctx, [args])[0]


def run_batch(ctx: TaskContext, batch: Sequence[dict[str, Any]]) -> list[Result]:
    """A chat model summarizes concurrent texts together; a seq2seq model one after another."""
    loaded = load(ctx, "summarize", "seq2seq", "chat", "causal-lm")
    if loaded.kind == "seq2seq":
        return [_seq2seq(loaded, args["text"]) for args in batch]
    conversations = [_messages(args["text"]) for args in batch]
    replies = chat.chat_batch(loaded, conversations, CHAT_NEW_TOKENS)
    return [_chat(loaded, messages, reply) for messages, reply in zip(conversations, replies)]


def _seq2seq(loaded: Loaded, text: str) -> Result:
    count, notice = truncation_notice(loaded, text)
    inputs = loaded.tokenizer(text, truncation=True, return_tensors="pt").to(loaded.device)
    with torch.no_grad():
        ids = loaded.model.generate(**inputs, max_new_tokens=MAX_NEW_TOKENS)
    summary = loaded.tokenizer.decode(ids[0], skip_special_tokens=True).strip()
    config = loaded.model.generation_config
    return Result(
        command="summarize",
        answer=f"**Summary:** {summary}",
        explanation=(
            "1. transformers 5 removed `pipeline(\"summarization\")` (it now raises KeyError); the steps it hid "
            "are tokenizer -> `model.generate()` -> `tokenizer.decode()`.\n"
            f"2. The encoder read your text ({count} tokens).\n"
            f"3. The decoder wrote {ids.shape[-1]} tokens, with the model's own generation settings "
            f"(beams: {config.num_beams or 1}, at most {MAX_NEW_TOKENS} new tokens), each looking back at the encoded text.\n"
            "4. decode turned the ids back into words, dropping special tokens."
        ),
        code=with_output(SNIPPET.format(model=model_line(loaded), text=text, n=MAX_NEW_TOKENS), [summary]),
        model=loaded.spec.hub_id,
        notices=(notice,) if notice else (),
    )


def _messages(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Summarize this text in one or two sentences:\n\n{text}"}]


def _chat(loaded: Loaded, messages: list[dict[str, str]], reply: tuple[str, int, int]) -> Result:
    summary, prompt_tokens, new_tokens = reply
    return Result(
        command="summarize",
        answer=f"**Summary:** {summary}",
        explanation=chat.explain("summarization", prompt_tokens, new_tokens),
        code=with_output(chat.snippet(loaded, messages, CHAT_NEW_TOKENS), [summary]),
        model=loaded.spec.hub_id,
    )
