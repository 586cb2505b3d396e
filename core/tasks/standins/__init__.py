"""Stand-ins: a real model run where a pack has no model of the kind the guide teaches.

The offline pack has no sentiment classifier, no NER model and no masked language model; it has
SmolLM2-135M-Instruct, a small causal (left-to-right) chat model. Each module here uses that model in
another honest way, worth learning for itself (docs/substitutes.md says how each was chosen, by
measuring candidates on sentences with gold labels, and how well it does):

- `sentiment`: a generative model as a classifier: its next-token scores for " positive" / " negative".
- `fillmask`: a causal model proposes words from the left context, then every filled-in sentence is
  scored whole, which brings in the right context it cannot see.
- `ner`: capitalised spans proposed as names, each typed by the model's next-token scores for type words.

This module holds what they share: reading a causal model's log-probabilities, several texts per
forward pass, and the lines of a snippet that load the model on a learner's machine.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from core.errors import UserError
from core.models import Loaded
from core.tasks.shared.base import forward
from core.tasks.shared.common import max_tokens, model_line

if TYPE_CHECKING:  # pragma: no cover
    import torch

CAUSAL = ("chat", "causal-lm")
"""The roles of the models the stand-ins run on."""


def is_standin(loaded: Loaded) -> bool:
    return loaded.role in CAUSAL


def next_token_logprobs(loaded: Loaded, prompts: Sequence[list[int]]) -> torch.Tensor:
    """log-softmax of the next-token logits after each prompt (token ids), one row per prompt, in one
    forward pass: prompts padded on the left, the padding masked out and the positions counted from
    each prompt's own first token, so each row is what the prompt alone would give."""
    import torch
    width = max(len(ids) for ids in prompts)
    pad = _pad_id(loaded)
    input_ids = torch.tensor([[pad] * (width - len(ids)) + list(ids) for ids in prompts])
    mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in prompts])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    inputs = {"input_ids": input_ids, "attention_mask": mask, "position_ids": positions}
    logits = forward(loaded, inputs, logits_to_keep=1).logits  # the vocabulary's scores at the last position only
    return torch.log_softmax(logits[:, -1].float(), dim=-1)


def token_logprobs(loaded: Loaded, sequences: Sequence[list[int]], start: int = 1) -> list[list[float]]:
    """For each sequence of token ids, the log-probability of each of its tokens from position `start`
    on, given the tokens before it (how a language model scores a sentence), in one forward pass
    (padded on the right, which a left-to-right model never looks at). Only the positions that predict
    those tokens go through the vocabulary layer."""
    import torch
    width = max(len(ids) for ids in sequences)
    start = max(1, min(start, width - 1))
    pad = _pad_id(loaded)
    input_ids = torch.tensor([list(ids) + [pad] * (width - len(ids)) for ids in sequences])
    mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in sequences])
    kept = width - start + 1  # positions start-1 .. width-1 (the last one predicts nothing we score)
    logits = forward(loaded, {"input_ids": input_ids, "attention_mask": mask}, logits_to_keep=kept).logits
    picked = torch.log_softmax(logits[:, :-1].float(), dim=-1).gather(-1, input_ids[:, start:, None])[..., 0]
    return [picked[i, :max(0, len(ids) - start)].tolist() for i, ids in enumerate(sequences)]


def word_id(loaded: Loaded, word: str) -> int:
    """The one token `word` is (with its leading space, as it follows another word)."""
    ids = loaded.tokenizer(word, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        raise ValueError(f"{word!r} is {len(ids)} tokens for this tokenizer; a stand-in needs one")
    return int(ids[0])


def check_fits(loaded: Loaded, count: int, what: str = "Your text") -> None:
    """Refuse a prompt longer than the model's positions (SmolLM2: 8,192; the commands' limits keep
    texts far below it), rather than letting the position table overflow."""
    limit = max_tokens(loaded)
    if count > limit:
        raise UserError(f"{what} makes a prompt of {count} tokens; this model reads at most {limit}. "
                        "Shorten the text.")


def _pad_id(loaded: Loaded) -> int:
    tok = loaded.tokenizer
    return next(t for t in (tok.pad_token_id, tok.eos_token_id, 0) if t is not None)


def load_lines(loaded: Loaded) -> str:
    """The snippet's lines that load the tokenizer and the causal model (from the GGUF file when the
    pack's copy is one, as SmolLM2's is)."""
    gguf = ", gguf_file=GGUF" if loaded.spec.gguf_file else ""
    return (f"{model_line(loaded)}\n"
            f"tokenizer = AutoTokenizer.from_pretrained(MODEL{gguf})\n"
            f"model = AutoModelForCausalLM.from_pretrained(MODEL{gguf})")


def stand_in_line(text: str) -> str:
    """The line every stand-in answer carries under its headline."""
    return f"Stand-in: {text}"
