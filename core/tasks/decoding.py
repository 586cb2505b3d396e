"""Greedy decoding of several prompts at once, for /generate and the chat-model /summarize and /qa.

A decoder continues from the right end of its prompt, so the prompts are padded on the left and the
padding masked out. Every prompt runs to the largest limit, then each is cut at its own limit and at
its first end-of-text token: the first n greedy tokens do not depend on how many more follow, so each
caller gets what it would alone. One prompt is just `model.generate` on it, with no padding.
"""
from __future__ import annotations

from typing import Sequence

import torch

from core.models import Loaded


def greedy_continue(loaded: Loaded, prompts: Sequence[list[int]], limits: Sequence[int]) -> list[list[int]]:
    """The new token ids of each prompt (token ids in, token ids out)."""
    tokenizer = loaded.tokenizer
    stop = tokenizer.eos_token_id
    pad = next(t for t in (tokenizer.pad_token_id, stop, 0) if t is not None)  # masked out: any id will do
    width = max(len(ids) for ids in prompts)
    input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in prompts], device=loaded.device)
    mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in prompts], device=loaded.device)
    with torch.no_grad():
        out = loaded.model.generate(input_ids=input_ids, attention_mask=mask, max_new_tokens=max(limits),
                                    do_sample=False, pad_token_id=pad)
    new = []
    for row, limit in zip(out[:, width:].tolist(), limits):
        row = row[:limit]
        new.append(row[:row.index(stop) + 1] if stop in row else row)
    return new
