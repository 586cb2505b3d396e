"""Chat models for summaries and answers: how transformers 5 does them when there is no dedicated
model (the old one-line pipelines were removed). The snippet shows `pipeline("text-generation")` with
chat messages; the bot does the same steps itself, so that concurrent requests decode together."""
from __future__ import annotations

from typing import Sequence

from core.models import Loaded
from core.tasks.common import model_line
from core.tasks.decoding import greedy_continue

SNIPPET = """from transformers import {imports}

{model}
{build}
messages = {messages!r}
out = chat(messages, max_new_tokens={max_new_tokens}, do_sample=False)
print(out[0]["generated_text"][-1]["content"])"""

BUILD_GGUF = """tokenizer = AutoTokenizer.from_pretrained(MODEL, gguf_file=GGUF)
model = AutoModelForCausalLM.from_pretrained(MODEL, gguf_file=GGUF)
chat = pipeline("text-generation", model=model, tokenizer=tokenizer)"""


def chat_batch(loaded: Loaded, conversations: Sequence[list[dict[str, str]]],
               max_new_tokens: int) -> list[tuple[str, int, int]]:
    """What `pipeline("text-generation")(messages, do_sample=False)` replies to each conversation:
    the chat template with the assistant's turn opened, greedy decoding, the new tokens decoded.
    Several conversations decode together (core/tasks/decoding.py). Each item: the reply, the
    prompt's token count (chat template included) and the number of new tokens."""
    prompts = [_template_ids(loaded, messages) for messages in conversations]
    replies = greedy_continue(loaded, prompts, [max_new_tokens] * len(prompts))
    return [(loaded.tokenizer.decode(new, skip_special_tokens=True).strip(), len(prompt), len(new))
            for prompt, new in zip(prompts, replies)]


def _template_ids(loaded: Loaded, messages: list[dict[str, str]]) -> list[int]:
    ids = loaded.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    return list(ids["input_ids"] if hasattr(ids, "keys") else ids)


def snippet(loaded: Loaded, messages: list[dict[str, str]], max_new_tokens: int) -> str:
    if loaded.spec.gguf_file:
        imports, build = "AutoModelForCausalLM, AutoTokenizer, pipeline", BUILD_GGUF
    else:
        imports, build = "pipeline", 'chat = pipeline("text-generation", model=MODEL)'
    return SNIPPET.format(imports=imports, model=model_line(loaded), build=build, messages=messages,
                          max_new_tokens=max_new_tokens)


def explain(task: str, prompt_tokens: int, new_tokens: int, extra: str = "") -> str:
    return (
        f"1. transformers 5 removed `pipeline(\"{task}\")` (it now raises KeyError), so this pack asks an "
        "instruction-tuned chat model instead, through `pipeline(\"text-generation\")` with chat messages.\n"
        f"2. The chat template wrapped your request in the model's special role markers: {prompt_tokens} tokens.\n"
        f"3. The model generated {new_tokens} tokens one at a time, always taking the most likely next token "
        "(greedy decoding, `do_sample=False`), so the same question gives the same answer." + extra
    )

