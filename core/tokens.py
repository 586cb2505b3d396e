"""Tokens as a learner should see them, and the one rule for which tokens are "special".

Two questions every view of tokens answers the same way (tables, alt text, pictures, snippets):

1. Which tokens are structural no-ops? `[CLS]`, `[SEP]`, `<s>`, `</s>`, padding and the like:
   models often park attention on them (Clark et al. 2019), so link summaries leave them out.
   `[UNK]` and the mask token are *not* no-ops: they stand where the learner's words were, so
   they stay in every table (leaving them out silently hid the learner's own text).
2. How is a token shown? Byte-level BPE (GPT-2, RoBERTa, BART, SmolLM2) stores each byte as a
   printable stand-in: `Ġ` is a space, `Ċ` a newline, and `Ã¯` the two UTF-8 bytes of `ï`. Shown
   raw they look like noise, so a space becomes `␣`, a newline `↵`, a tab `⇥`, whole characters are
   decoded, and a piece that holds only part of a character is named by its bytes (`<0xE4 0xBD>`).
   WordPiece's `##` is kept: it *is* the lesson (this piece continues a word).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

SPACE, NEWLINE, TAB = "␣", "↵", "⇥"


@lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    """GPT-2's reversible map from printable stand-ins back to bytes (the inverse of `bytes_to_unicode`)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return {chr(code): byte for byte, code in zip(printable, codes, strict=True)}


def is_byte_level(tokenizer: Any) -> bool:
    """True for GPT-2-style byte-level BPE tokenizers (their decoder undoes the byte stand-ins)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    decoder = getattr(backend, "decoder", None)
    return type(decoder).__name__ == "ByteLevel"


def byte_level_readable(token: str) -> str:
    """`Ġworld` -> `␣world`, `Ã¯ve` -> `ïve`, `ä½` -> `<0xE4 0xBD>` (part of a character)."""
    table = _byte_decoder()
    if not token or any(ch not in table for ch in token):
        return token  # a special token such as <|endoftext|>, or not byte-level after all
    raw = bytes(table[ch] for ch in token)
    return _show_bytes(raw)


def _show_bytes(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="surrogateescape")
    out: list[str] = []
    pending: list[int] = []
    for ch in text:
        if 0xDC80 <= ord(ch) <= 0xDCFF:  # a byte that is only part of a character
            pending.append(ord(ch) - 0xDC00)
            continue
        if pending:
            out.append(_byte_names(pending))
            pending = []
        out.append({" ": SPACE, "\n": NEWLINE, "\t": TAB}.get(ch, ch))
    if pending:
        out.append(_byte_names(pending))
    return "".join(out)


def _byte_names(values: list[int]) -> str:
    return "<" + " ".join(f"0x{v:02X}" for v in values) + ">"


def readable_tokens(tokenizer: Any, tokens: Sequence[str]) -> list[str]:
    """Every token as a learner should read it (see the module docstring)."""
    if is_byte_level(tokenizer):
        special = set(getattr(tokenizer, "all_special_tokens", ()))
        return [t if t in special else byte_level_readable(t) for t in tokens]
    return [t.replace("▁", SPACE) for t in tokens]  # SentencePiece's word-start marker


def noop_tokens(tokenizer: Any) -> frozenset[str]:
    """The special tokens that carry no text of the learner's: everything but unknown and mask.

    A byte-level tokenizer never needs its unknown token (every byte has a piece), and some reuse a
    structural token for it (SmolLM2's unk is `<|endoftext|>`): there it stays a no-op."""
    special = set(getattr(tokenizer, "all_special_tokens", ()))
    structural = {getattr(tokenizer, name, None) for name in ("bos_token", "eos_token", "pad_token",
                                                               "cls_token", "sep_token")}
    keep = {getattr(tokenizer, "mask_token", None)}
    unk = getattr(tokenizer, "unk_token", None)
    if unk not in structural and not is_byte_level(tokenizer):
        keep.add(unk)
    return frozenset(t for t in special if t not in keep)


def noop_mask(tokens: Iterable[str], noops: frozenset[str]) -> list[bool]:
    """True where a token is a structural no-op."""
    return [t in noops for t in tokens]
