"""/generate: continue a prompt, one most-likely token at a time.

Batched: concurrent prompts are decoded together (core/tasks/decoding.py, core/batching.py).
"""
from __future__ import annotations

from typing import Any, Sequence

from core.context import TaskContext
from core.models import Loaded
from core.results import Result
from core.tasks.common import load, model_line, truncation_notice, with_output
from core.tasks.decoding import greedy_continue

SNIPPET = """from transformers import {imports}

{model}
{build}
out = generator({prompt!r}, max_new_tokens={n}, do_sample=False, return_full_text=False)
print(out[0]["generated_text"])"""

BUILD = 'generator = pipeline("text-generation", model=MODEL)'
BUILD_GGUF = """tokenizer = AutoTokenizer.from_pretrained(MODEL, gguf_file=GGUF)
model = AutoModelForCausalLM.from_pretrained(MODEL, gguf_file=GGUF)
generator = pipeline("text-generation", model=model, tokenizer=tokenizer)"""


def continue_texts(loaded: Loaded, prompts: Sequence[str], limits: Sequence[int]) -> list[tuple[str, int]]:
    """What `pipeline("text-generation")(..., return_full_text=False)` returns for each prompt, without
    importing the pipeline machinery (about 2 s of a cold start): tokenize, greedy `generate`, decode.
    Each item: the continuation, and how many tokens the model generated for it."""
    ids = [loaded.tokenizer(prompt)["input_ids"] for prompt in prompts]
    return [(loaded.tokenizer.decode(new, skip_special_tokens=True), len(new))
            for new in greedy_continue(loaded, ids, limits)]


def run(ctx: TaskContext, args: dict[str, Any]) -> Result:
    return run_batch(ctx, [args])[0]


def run_batch(ctx: TaskContext, batch: Sequence[dict[str, Any]]) -> list[Result]:
    loaded = load(ctx, "generate", "causal-lm", "chat")
    prompts = [args["prompt"] for args in batch]
    continuations = continue_texts(loaded, prompts, [args["max_new_tokens"] for args in batch])
    return [_result(loaded, args, text, added) for args, (text, added) in zip(batch, continuations)]


def _result(loaded: Loaded, args: dict[str, Any], continuation: str, added: int) -> Result:
    prompt, n = args["prompt"], args["max_new_tokens"]
    count, notice = truncation_notice(loaded, prompt)
    gguf = bool(loaded.spec.gguf_file)
    code = SNIPPET.format(imports="AutoModelForCausalLM, AutoTokenizer, pipeline" if gguf else "pipeline",
                          model=model_line(loaded), build=BUILD_GGUF if gguf else BUILD, prompt=prompt, n=n)
    return Result(
        command="generate",
        answer=f"{prompt}**{continuation}**",
        explanation=(
            f"1. Your prompt became {count} tokens.\n"
            f"2. The model predicted a probability for every token of its vocabulary as the next one, took the "
            f"most likely (greedy decoding: `do_sample=False`), appended it, and repeated: {added} new "
            f"tokens (you allowed {n}).\n"
            "3. Greedy decoding always gives the same text; `do_sample=True, temperature=0.8` gives varied text, "
            "and small models can repeat themselves."
        ),
        code=with_output(code, [continuation]),
        model=loaded.spec.hub_id,
        notices=(notice,) if notice else (),
    )
