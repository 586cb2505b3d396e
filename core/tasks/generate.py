"""/generate: continue a prompt, one most-likely token at a time.

Batched: concurrent prompts are decoded together (core/tasks/shared/decoding.py, core/batching.py).
A prompt that leaves too few of the model's positions for the new tokens is cut at its start: the
continuation follows the end of the prompt, so the end is what the model must read.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from core import tiny
from core.context import TaskContext
from core.markup import bold, plain
from core.models import Loaded
from core.packs import SMOLLM2, Offline, TaskModel
from core.results import Result
from core.tasks.shared import attribution, steps
from core.tasks.shared.base import one
from core.tasks.shared.common import load, model_line, with_output
from core.tasks.shared.decoding import end_sentence, ended, fit, greedy_continue, keep_end, positions
from core.wording import plural

MODEL = TaskModel(roles=("causal-lm", "chat"), hub="openai-community/gpt2", tiny=tiny.GPT2,
                  offline=Offline(SMOLLM2, "chat"),
                  hub_classes=("GPT2LMHeadModel", "GPT2Tokenizer"))

SNIPPET = """from transformers import {imports}

{model}
{build}
{call}
print(out[0]["generated_text"])"""

CALL = "out = generator({prompt!r}, max_new_tokens={n}, do_sample=False, return_full_text=False)"
CALL_CUT = """generator.tokenizer.truncation_side = "left"  # keep the end of the prompt: the new tokens continue it
out = generator({prompt!r}, max_new_tokens={n}, do_sample=False, return_full_text=False,
                tokenizer_encode_kwargs={{"truncation": True, "max_length": {keep}}})"""

BUILD = 'generator = pipeline("text-generation", model=MODEL)'
BUILD_GGUF = """tokenizer = AutoTokenizer.from_pretrained(MODEL, gguf_file=GGUF)
model = AutoModelForCausalLM.from_pretrained(MODEL, gguf_file=GGUF)
generator = pipeline("text-generation", model=model, tokenizer=tokenizer)"""


@dataclass(frozen=True)
class Continuation:
    text: str
    """The new tokens, decoded: what `pipeline("text-generation")(..., return_full_text=False)` returns."""
    new_tokens: int
    prompt_tokens: int
    """The prompt's length in tokens, before any cut."""
    kept: int
    """Prompt tokens the model read: all of them, or the last ones when the prompt was cut."""
    allowed: int
    """New tokens allowed: the learner's number, or fewer on a model with very few positions."""
    room: int
    """The model's positions: the prompt and the new tokens together."""
    ended: bool
    """The model wrote its end-of-text token before the limit."""


def continue_texts(loaded: Loaded, prompts: Sequence[str], limits: Sequence[int]) -> list[Continuation]:
    """What `pipeline("text-generation")(..., return_full_text=False)` returns for each prompt, without
    importing the pipeline machinery (about 2 s of a cold start): tokenize, fit in the model's positions,
    greedy `generate`, decode."""
    room = positions(loaded)
    fitted = []
    for prompt, wanted in zip(prompts, limits, strict=False):
        ids = loaded.tokenizer(prompt)["input_ids"]
        keep, allowed = fit(len(ids), wanted, room)
        fitted.append((len(ids), keep_end(loaded, prompt, ids, keep), allowed))
    news = greedy_continue(loaded, [ids for _, ids, _ in fitted], [allowed for _, _, allowed in fitted])
    return [Continuation(loaded.tokenizer.decode(new, skip_special_tokens=True), len(new), count, len(ids),
                         allowed, room, ended(loaded, new))
            for (count, ids, allowed), new in zip(fitted, news, strict=False)]


def run_batch(ctx: TaskContext, batch: Sequence[dict[str, Any]]) -> list[Result]:
    if any(steps.explores(args) for args in batch):
        return attribution.each(batch, lambda plain: run_batch(ctx, plain), lambda args: steps.run(ctx, args),
                                apart=steps.explores)
    loaded = load(ctx, "generate", "causal-lm", "chat")
    prompts = [args["prompt"] for args in batch]
    continuations = continue_texts(loaded, prompts, [args["max_new_tokens"] for args in batch])
    return [with_actions(_result(loaded, args, c)) for args, c in zip(batch, continuations, strict=False)]


def with_actions(result: Result) -> Result:
    """Greedy's answer, with the buttons to see each step's candidates and to sample instead."""
    return replace(result, actions=steps.actions(None, 0, False))


run = one(run_batch)


def _result(loaded: Loaded, args: dict[str, Any], c: Continuation) -> Result:
    prompt, asked = args["prompt"], args["max_new_tokens"]
    cut = c.kept < c.prompt_tokens
    gguf = bool(loaded.spec.gguf_file)
    call = (CALL_CUT if cut else CALL).format(prompt=prompt, n=c.allowed, keep=c.kept)
    code = SNIPPET.format(imports="AutoModelForCausalLM, AutoTokenizer, pipeline" if gguf else "pipeline",
                          model=model_line(loaded), build=BUILD_GGUF if gguf else BUILD, call=call)
    read = f", and the model read the last {c.kept} of them" if cut else ""
    stop = f" {end_sentence(c.new_tokens, c.allowed)}" if c.ended else ""
    return Result(
        command="generate",
        answer=f"{plain(prompt)}{bold(plain(c.text))}",
        explanation=(
            f"1. Your prompt became {plural(c.prompt_tokens, 'token')}{read}.\n"
            "2. The model predicted a probability for every token of its vocabulary as the next one, took the "
            "most likely (greedy decoding: `do_sample=False`), appended it, and repeated: "
            f"{plural(c.new_tokens, 'new token')} (you allowed {asked}).{stop}\n"
            "3. Greedy decoding always gives the same text; `do_sample=True, temperature=0.8` gives varied text, "
            "and small models can repeat themselves."
        ),
        code=with_output(code, [c.text]),
        model=loaded.spec.label,
        notices=_notices(c, asked),
    )


def _notices(c: Continuation, asked: int) -> tuple[str, ...]:
    if c.kept == c.prompt_tokens and c.allowed == asked:
        return ()
    did = []
    if c.kept < c.prompt_tokens:
        did.append(f"read only the last {plural(c.kept, 'token')} of your prompt")
    if c.allowed < asked:
        did.append(f"wrote at most {plural(c.allowed, 'new token')} instead of {asked}")
    how = " (the snippet does the same with `truncation_side=\"left\"`)" if c.kept < c.prompt_tokens else ""
    notice = (f"Your prompt is {plural(c.prompt_tokens, 'token')}, and this model has {c.room} positions for the "
              f"prompt and the new tokens together, so it {' and '.join(did)}{how}.")
    return (notice,)
