"""Greedy decoding of several prompts at once, for /generate and the chat-model /summarize and /qa.

A decoder continues from the right end of its prompt, so the prompts are padded on the left and the
padding masked out. Every prompt of a group runs to the group's largest limit, then each is cut at its
own limit and at its first end-of-text token: the first n greedy tokens do not depend on how many more
follow, so each caller gets what it would alone. One prompt is just `model.generate` on it, with no
padding.

A model has a fixed number of positions (GPT-2 and its tiny twin: 1,024): the prompt and every new
token but the last each take one, and a position past the end raises IndexError in the position
embedding. Callers fit each prompt and its limit into them first (`fit`); prompts are grouped here so
that running to the group's largest limit never takes a prompt past them either.
"""
from __future__ import annotations

from collections.abc import Sequence

from core.errors import UserError
from core.models import Loaded
from core.tasks.shared.base import generate
from core.tasks.shared.common import max_tokens
from core.wording import ordinal, plural


def positions(loaded: Loaded) -> int:
    """How many tokens the prompt and the new tokens may take together."""
    return max_tokens(loaded)


def fit(prompt_tokens: int, wanted: int, room: int) -> tuple[int, int]:
    """(prompt tokens to keep, new tokens to allow) so that both fit in `room` positions.

    The learner's number of new tokens is kept and the prompt shortened (what
    `pipeline("text-generation", handle_long_generation="hole")` does); only a model with fewer
    positions than that number gets fewer new tokens, half its positions, with the rest for the prompt."""
    if prompt_tokens + wanted <= room:
        return prompt_tokens, wanted
    if room - wanted >= 1:
        return room - wanted, wanted
    if room < 2:
        raise UserError(f"This model has {room} position, too few to read a prompt and write a token.")
    keep = min(prompt_tokens, room // 2)
    return keep, room - keep


def stop_ids(loaded: Loaded) -> set[int]:
    """The end-of-text tokens: the tokenizer's, and those the model's generation config stops at."""
    stops = {loaded.tokenizer.eos_token_id}
    config = getattr(loaded.model, "generation_config", None)
    eos = getattr(config, "eos_token_id", None)
    stops.update(eos if isinstance(eos, (list, tuple)) else [eos])
    return {s for s in stops if isinstance(s, int)}


def ended(loaded: Loaded, new: list[int]) -> bool:
    """Whether the model ended its text itself, rather than being stopped by the limit."""
    return bool(new) and new[-1] in stop_ids(loaded)


def end_sentence(new_tokens: int, allowed: int) -> str:
    """How a generation that ended at its end-of-text token ended, true of the run: "stopped early" only when
    that token came before the limit; when it was the last token allowed, the whole budget was used."""
    if new_tokens < allowed:
        return (f"It stopped early, at its end-of-text token: {plural(new_tokens, 'new token')} of the {allowed} "
                "allowed.")
    return f"Its {ordinal(new_tokens)} and last allowed token was its end-of-text token."


def greedy_continue(loaded: Loaded, prompts: Sequence[list[int]], limits: Sequence[int]) -> list[list[int]]:
    """The new token ids of each prompt (token ids in, token ids out). Each prompt and its limit
    must fit in the model's positions (see `fit`)."""
    room = positions(loaded)
    if any(len(ids) + limit > room for ids, limit in zip(prompts, limits, strict=False)):
        raise ValueError(f"a prompt and its new tokens exceed the model's {room} positions: call fit() first")
    new: list[list[int]] = [[] for _ in prompts]
    for group in _groups([len(ids) for ids in prompts], limits, room):
        rows = _decode(loaded, [prompts[i] for i in group], [limits[i] for i in group])
        for i, row in zip(group, rows, strict=False):
            new[i] = row
    return new


def _groups(lengths: Sequence[int], limits: Sequence[int], room: int) -> list[list[int]]:
    """Prompts that can decode together: the longest prompt of a group and the group's largest limit
    fit in `room` (the padded width bounds the positions whether or not the model derives them from
    the attention mask). Usually one group; a long prompt with a small limit may need its own."""
    groups: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: -limits[i]):
        group = next((g for g in groups if max(lengths[j] for j in (*g, i)) + limits[g[0]] <= room), None)
        if group is None:
            groups.append([i])
        else:
            group.append(i)
    return [sorted(g) for g in groups]


def _decode(loaded: Loaded, prompts: Sequence[list[int]], limits: Sequence[int]) -> list[list[int]]:
    import torch
    tokenizer = loaded.tokenizer
    stops = stop_ids(loaded)
    pad = next(t for t in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0) if t is not None)  # masked out
    width = max(len(ids) for ids in prompts)
    input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in prompts])
    mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in prompts])
    out = generate(loaded, {"input_ids": input_ids, "attention_mask": mask}, max_new_tokens=max(limits),
                   do_sample=False, pad_token_id=pad)
    new = []
    for row, limit in zip(out[:, width:].tolist(), limits, strict=False):
        row = row[:limit]
        end = next((k for k, token in enumerate(row) if token in stops), None)
        new.append(row if end is None else row[:end + 1])
    return new


def keep_end(loaded: Loaded, prompt: str, ids: list[int], keep: int) -> list[int]:
    """The last `keep` tokens of the prompt, with the tokenizer's own special tokens kept where it puts
    them: what the tokenizer gives with `truncation_side="left"`, `truncation=True, max_length=keep`
    (the snippet's call), without changing the shared tokenizer."""
    if len(ids) <= keep:
        return ids
    text = loaded.tokenizer(prompt, add_special_tokens=False)["input_ids"]
    front = next((i for i in range(len(ids) - len(text) + 1) if ids[i:i + len(text)] == text), None)
    if front is None:  # the special tokens are not a plain frame around the text
        return ids[len(ids) - keep:]
    back = len(ids) - front - len(text)
    room = max(keep - front - back, 0)
    return ids[:front] + text[len(text) - room:] + ids[len(ids) - back:]
