"""Teaching statements that depend on the model: each is read from the pack's own model, never assumed.

A lesson that says "this tokenizer maps what it cannot spell to [UNK]", "this classifier reads its
answer off [CLS]", "token_type_ids change this model's input" or "generate() samples by default"
says it because the tokenizer, the model's class, its config or its generation config says so.
tests/core/tutor/test_teaching_lessons.py checks each statement against a run of the same model.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.markup import code
from core.models import Loaded
from core.tokens import is_byte_level

UNSPELLABLE = "naïve café 😀x"
"""A text with an accent and an emoji: WordPiece cannot spell the emoji; byte-level BPE can spell anything."""

FIRST_TOKEN = ("bert", "distilbert", "roberta", "xlm-roberta", "camembert", "electra", "albert", "deberta",
               "deberta-v2", "mpnet", "modernbert")
"""Model types whose sequence classifier reads the final vector of the first token ([CLS] or <s>)."""
EOS_TOKEN = ("bart", "mbart")
"""Model types whose sequence classifier reads the final vector of the last end-of-sequence token."""


def algorithm(tok: Any) -> str:
    """WordPiece, byte-level BPE, BPE, Unigram or WordLevel: the tokenizer's model, as its backend names it."""
    model = type(getattr(getattr(tok, "backend_tokenizer", None), "model", None)).__name__
    if model == "BPE" and is_byte_level(tok):
        return "byte-level BPE"
    return model if model in ("WordPiece", "BPE", "Unigram", "WordLevel") else type(tok).__name__


def needs_unknown(tok: Any) -> bool:
    """True when the tokenizer can fall back on an unknown token: it has one, and is not byte-level."""
    return bool(getattr(tok, "unk_token", None)) and not is_byte_level(tok)


def vocabulary(tok: Any) -> str:
    """What this tokenizer does with a character it has no piece for, shown on `UNSPELLABLE`."""
    pieces = tok.tokenize(UNSPELLABLE)
    shown = " ".join(pieces)
    size = f"{len(tok):,}"
    if is_byte_level(tok):
        return (f"This tokenizer is byte-level BPE ({size} entries): any character is spelled from its UTF-8 bytes, "
                f"so it never needs an unknown token; {code(UNSPELLABLE)} becomes {len(pieces)} pieces.")
    unk = tok.unk_token
    used = unk in pieces
    whole = [w for w in UNSPELLABLE.split() if tok.tokenize(w) == [unk] and len(w) > 1
             and any(tok.tokenize(ch) != [unk] for ch in w)]
    if whole:  # WordPiece: one unknown character makes the whole word unknown
        word = whole[0]
        kept = next(ch for ch in word if tok.tokenize(ch) != [unk])
        return (f"This tokenizer is {algorithm(tok)} ({size} entries): a word that holds a character it has no "
                f"piece for becomes {code(unk)} whole, so some text is out of its vocabulary after all: "
                f"{code(UNSPELLABLE)} becomes {code(shown)}, and {code(word)} is one {code(unk)} though "
                f"{code(kept)} alone has a piece.")
    return (f"This tokenizer is {algorithm(tok)} ({size} entries): a character it has no piece for becomes "
            f"{code(unk)}, so some text is out of its vocabulary after all: {code(UNSPELLABLE)} becomes "
            f"{code(shown)}" + ("." if used else " (here every character had a piece; an emoji it lacks would "
                                                "not)."))


def classifier_reads(loaded: Loaded) -> str | None:
    """Which token's final vector a sequence classifier's head reads, from its model type; None if unknown."""
    kind = getattr(loaded.model.config, "model_type", "")
    name = type(loaded.model).__name__
    if kind in FIRST_TOKEN:
        first = loaded.tokenizer.cls_token or loaded.tokenizer.bos_token or ""
        return f"{name} reads its answer off the final vector of the first token ({code(first)})"
    if kind in EOS_TOKEN:
        return f"{name} reads its answer off the final vector of the last {code(loaded.tokenizer.eos_token)}"
    if getattr(loaded.model.config, "is_decoder", False) or kind in ("gpt2", "llama", "mistral", "qwen2"):
        return f"{name} reads its answer off the final vector of the last real token"
    return None


def pooling(source: str) -> str | None:
    """The sentence-transformers pooling of an embedding model folder: `mean`, `cls`, `max` or None."""
    config = _pooling_config(source)
    if not config:
        return None
    for mode, name in (("pooling_mode_mean_tokens", "mean"), ("pooling_mode_cls_token", "cls"),
                       ("pooling_mode_max_tokens", "max"), ("pooling_mode_mean_sqrt_len_tokens", "mean")):
        if config.get(mode):
            return name
    return None


def _pooling_config(source: str) -> dict[str, Any] | None:
    folder = Path(source)
    try:
        modules = json.loads((folder / "modules.json").read_text())
        path = next((folder / m["path"] / "config.json" for m in modules if m.get("type", "").endswith("Pooling")),
                    None)
        return json.loads(path.read_text()) if path else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def pooled(loaded: Loaded) -> str:
    """How an embedding model makes one vector of a text, from its sentence-transformers config."""
    how = pooling(loaded.spec.source) or "mean"  # the tutor's own /zeroshot averages when no config says otherwise
    if how == "cls":
        return f"The model {loaded.spec.hub_id} makes one vector of a text from its first token's vector"
    if how == "max":
        return f"The model {loaded.spec.hub_id} makes one vector of a text from the largest value of each dimension"
    return (f"The model {loaded.spec.hub_id} makes one vector of a text by averaging every token's vector (mean "
            f"pooling), so {code(loaded.tokenizer.cls_token or '[CLS]')} has no special role there")


def segments(loaded: Loaded) -> tuple[bool, str]:
    """Whether token_type_ids change this model's input (it has two or more segment embeddings), and the
    sentence that says so."""
    config = loaded.model.config
    types = getattr(config, "type_vocab_size", 0) or 0
    name = loaded.spec.hub_id
    if types >= 2:
        return True, (f"`token_type_ids` matter only for a model with segment embeddings: {name} has {types} "
                      "(`type_vocab_size`), so the second text's 1s change what it reads.")
    return False, (f"`token_type_ids` matter only for a model with segment embeddings, and {name} has "
                   f"{'one' if types == 1 else 'none'}: it reads both texts the same way, told apart by the separator.")


def decoding(loaded: Loaded) -> tuple[str, str]:
    """(how `generate()` decodes when asked nothing, a sentence saying so) from the model's generation config."""
    config = loaded.model.generation_config
    beams = int(getattr(config, "num_beams", 1) or 1)
    if getattr(config, "do_sample", False):
        parts = [f"temperature {config.temperature}" if getattr(config, "temperature", None) not in (None, 1.0)
                 else "", f"top_p {config.top_p}" if getattr(config, "top_p", None) not in (None, 1.0) else "",
                 f"top_k {config.top_k}" if getattr(config, "top_k", None) not in (None, 0, 50) else ""]
        how = "sampling" + (f" ({', '.join(p for p in parts if p)})" if any(parts) else "")
        mode = "sampling"
    elif beams > 1:
        how, mode = f"beam search with {beams} beams", "beams"
    else:
        how, mode = "greedy decoding", "greedy"
    return mode, (f"Called without `do_sample`, `generate()` follows the model's own generation config; for "
                  f"{loaded.spec.hub_id} that is {how} (`do_sample={bool(getattr(config, 'do_sample', False))}`, "
                  f"`num_beams={beams}`).")
