"""/generate: continue a prompt, one most-likely token at a time.

Batched: concurrent prompts are left-padded and decoded together (see core/batching.py).
"""
from __future__ import annotations

from typing import Any, Sequence

import torch

from core.context import TaskContext
from core.models import Loaded
from core.results import Result
from core.tasks.common import load, model_line, truncation_notice, with_output

SNIPPET = """from transformers import {imports}

{model}
{build}
out = generator({prompt!r}, max_new_tokens={n}, do_sample=False, return_full_text=False)
print(out[0]["generated_text"])"""

BUILD = 'generator = pipeline("text-generation", model=MODEL)'
BUILD_GGUF = """tokenizer = AutoTokenizer.from_pretrained(MODEL, gguf_file=GGUF)
model = AutoModelForCausalLM.from_pretrained(MODEL, gguf_file=GGUF)
generator = pipeline("text-generation", model=model, tokenizer=tokenizer)"""


def continue_text(loaded: Loaded, prompt: str, max_new_tokens: int) -> str:
    """What `pipeline("text-generation")(..., return_full_text=False)` returns, without importing the
    pipeline machinery (about 2 s of a cold start): tokenize, greedy `generate`, decode the new tokens."""
    inputs = loaded.tokenizer(prompt, return_tensors="pt").to(loaded.device)
    with torch.no_grad():
        out = loaded.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
    return loaded.tokenizer.decode(out[0, inputs["input_ids"].shape[-1]:], skip_special_tokens=True)


def continue_texts(loaded: Loaded, prompts: Sequence[str], limits: Sequence[int]) -> list[str]:
    """Several prompts in one greedy `generate`: left-padded (a decoder continues from the right end),
    run to the largest limit, then each cut at its own limit and at its first end-of-text token. The
    first n greedy tokens do not depend on how many more follow, so each caller gets what it would alone."""
    if len(prompts) == 1:
        return [continue_text(loaded, prompts[0], limits[0])]
    tokenizer = loaded.tokenizer
    ids = [tokenizer(p)["input_ids"] for p in prompts]
    stop = tokenizer.eos_token_id
    pad = next(t for t in (tokenizer.pad_token_id, stop, 0) if t is not None)  # masked out: any id will do
    width = max(len(row) for row in ids)
    input_ids = torch.tensor([[pad] * (width - len(row)) + row for row in ids], device=loaded.device)
    mask = torch.tensor([[0] * (width - len(row)) + [1] * len(row) for row in ids], device=loaded.device)
    with torch.no_grad():
        out = loaded.model.generate(input_ids=input_ids, attention_mask=mask, max_new_tokens=max(limits),
                                    do_sample=False, pad_token_id=pad)
    texts = []
    for row, limit in zip(out[:, width:].tolist(), limits):
        row = row[:limit]
        row = row[:row.index(stop) + 1] if stop in row else row
        texts.append(tokenizer.decode(row, skip_special_tokens=True))
    return texts


def run(ctx: TaskContext, args: dict[str, Any]) -> Result:
    return run_batch(ctx, [args])[0]


def run_batch(ctx: TaskContext, batch: Sequence[dict[str, Any]]) -> list[Result]:
    loaded = load(ctx, "generate", "causal-lm", "chat")
    prompts = [args["prompt"] for args in batch]
    continuations = continue_texts(loaded, prompts, [args["max_new_tokens"] for args in batch])
    return [_result(loaded, args, text) for args, text in zip(batch, continuations)]


def _result(loaded: Loaded, args: dict[str, Any], continuation: str) -> Result:
    prompt, n = args["prompt"], args["max_new_tokens"]
    count, notice = truncation_notice(loaded, prompt)
    added = len(loaded.tokenizer(continuation, add_special_tokens=False)["input_ids"])
    gguf = bool(loaded.spec.gguf_file)
    code = SNIPPET.format(imports="AutoModelForCausalLM, AutoTokenizer, pipeline" if gguf else "pipeline",
                          model=model_line(loaded), build=BUILD_GGUF if gguf else BUILD, prompt=prompt, n=n)
    return Result(
        command="generate",
        answer=f"{prompt}**{continuation}**",
        explanation=(
            f"1. Your prompt became {count} tokens.\n"
            f"2. The model predicted a probability for every token of its vocabulary as the next one, took the "
            f"most likely (greedy decoding: `do_sample=False`), appended it, and repeated: about {added} new "
            f"tokens (you allowed {n}).\n"
            "3. Greedy decoding always gives the same text; `do_sample=True, temperature=0.8` gives varied text, "
            "and small models can repeat themselves."
        ),
        code=with_output(code, [continuation]),
        model=loaded.spec.hub_id,
        notices=(notice,) if notice else (),
    )
