"""Part IV's answer keys computed again from a question's inputs, by another engine and the bare model (shared
by tests/core/tutor/test_decoder_kinds.py and the all-kinds check in tests/core/tutor/test_tutor_keys.py)."""
from __future__ import annotations

from typing import Any

import torch

from core.engine import Engine
from core.tasks.shared.common import load
from core.tokens import readable_tokens
from core.tutor.kinds.decoder import KINDS, LESSON_TEMPERATURE, probability
from core.tutor.questions import Question
from core.tutor.service import context_of

DECODER_KINDS = tuple(k.name for k in KINDS)


def decoder_key(engine: Engine, q: Question) -> Any:
    """The key of a Part IV question, computed again from `q.inputs`."""
    i, ctx = q.inputs, context_of(engine)
    if q.kind in ("causal-zeros", "qkv-mask"):
        return _attention_key(engine, q)
    loaded = load(ctx, "generate", "causal-lm", "chat")
    tok = loaded.tokenizer
    if q.kind == "temperature-top":
        with torch.no_grad():
            logits = loaded.model(torch.tensor([tok(i["prompt"])["input_ids"]])).logits[0, -1]
        return probability(float(torch.softmax(logits / LESSON_TEMPERATURE, -1).max()))
    messages = [{"role": "user", "content": i["prompt"]}]
    if not q.literal:  # how many tokens the model reads: the template's, or (none) the tokenizer's alone
        if tok.chat_template is None:
            return str(len(tok(i["prompt"])["input_ids"]))
        return str(len(tok.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)["input_ids"]))
    ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)["input_ids"]
    with torch.no_grad():
        first = loaded.model.generate(torch.tensor([ids]), do_sample=False, max_new_tokens=1,
                                      pad_token_id=tok.eos_token_id)[0, -1]
    return readable_tokens(tok, tok.convert_ids_to_tokens([int(first)]))[0]


def _attention_key(engine: Engine, q: Question) -> str:
    i = q.inputs
    loaded = load(context_of(engine), "qkv")
    inputs = loaded.tokenizer(i["text"], return_tensors="pt")
    with torch.no_grad():
        maps = loaded.model(**inputs, output_attentions=True).attentions
    if q.kind == "causal-zeros":
        return str(int((maps[0][0, 0] == 0).sum()))
    row = maps[i["layer"]][0, i["head"], i["token"]]
    if not q.literal:
        return str(int((row == 0).sum()))
    tokens = readable_tokens(loaded.tokenizer, loaded.tokenizer.convert_ids_to_tokens(inputs["input_ids"][0]))
    j = int(row.argmax())
    return tokens[j] if tokens.count(tokens[j]) == 1 else f"{tokens[j]} ({j})"
