"""Cleaning a learner's text where it enters the tutor.

Text reaches us from argv (undecodable bytes become lone surrogates under Python's
`surrogateescape`), from stdin, and from Discord and Slack JSON (where `"\\ud800"` is a legal
escape that decodes to a lone surrogate). Such a string cannot be encoded as UTF-8, so a
tokenizer, a log line or an HTTP reply would fail on it. Every adapter hands raw text to the
core, and the core cleans it once, here, and says what it changed.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""C0 and C1 control characters, except tab, newline and carriage return."""


@dataclass(frozen=True)
class Cleaned:
    text: str
    replaced: int = 0
    """Characters that were not valid Unicode (lone surrogates), now U+FFFD."""
    removed: int = 0
    """Invisible control characters dropped."""

    @property
    def notice(self) -> str | None:
        """One sentence for the answer, or None when nothing changed."""
        return notice_for(self.replaced, self.removed)


def notice_for(replaced: int, removed: int) -> str | None:
    """The sentence that tells the learner what cleaning changed, or None when nothing did."""
    parts = []
    if replaced:
        parts.append(f"{_count(replaced, 'character')} that {'was' if replaced == 1 else 'were'} "
                     f"not valid Unicode (often a broken copy-paste) became {REPLACEMENT}")
    if removed:
        parts.append(f"{_count(removed, 'invisible control character')} {'was' if removed == 1 else 'were'} removed")
    return ("In your text, " + " and ".join(parts) + ".") if parts else None


def clean_text(raw: str) -> Cleaned:
    """`raw` made safe to encode as UTF-8 and to show, and how much was changed.

    A high and a low surrogate side by side are one character written as UTF-16 (`"\\ud83e\\udd17"`
    is 🤗): they are joined, not replaced. Only the lone ones become U+FFFD."""
    if _SURROGATE.search(raw):
        raw = raw.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    text, replaced = _SURROGATE.subn(REPLACEMENT, raw)
    text, removed = _CONTROL.subn("", text)
    return Cleaned(text, replaced, removed)


FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e\u17b4\u17b5\u034f\u2062\u2063\u2064\u2061\u2060\u200b"
                    "\u200c\u200d\u200e\u200f\ufeff")
"""Characters that show as nothing. The Hangul fillers (U+115F, U+1160, U+3164, U+FFA0) and the Braille blank are
letters or symbols to Unicode, so they pass any "letters and digits" rule: chat's "empty message" tricks. NFKC turns
U+3164 and U+FFA0 into U+1160, listed all the same."""


def is_blank(text: str) -> bool:
    """Whether `text` shows nothing: only spaces, line breaks, fillers and format or control characters. (Not
    unassigned code points: an emoji newer than Python's Unicode tables is one, and shows.)"""
    return all(ch.isspace() or ch in FILLERS or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp")
               for ch in text)


def strip_blank(text: str) -> str:
    """`text` without what shows nothing (`is_blank`) at either end: `food\u200b` is `food`."""
    start, end = 0, len(text)
    while start < end and is_blank(text[start]):
        start += 1
    while end > start and is_blank(text[end - 1]):
        end -= 1
    return text[start:end]


def clean_values(values: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Typed options from a platform: every string name and value cleaned, and one notice for them all.

    Values that are not strings (numbers, booleans) pass through unchanged.
    """
    changes: list[Cleaned] = []

    def clean(item: Any) -> Any:
        if not isinstance(item, str):
            return item
        changes.append(clean_text(item))
        return changes[-1].text

    cleaned = {clean(key): clean(value) for key, value in values.items()}
    replaced, removed = sum(c.replaced for c in changes), sum(c.removed for c in changes)
    return cleaned, notice_for(replaced, removed)


def decode_bytes(data: bytes) -> Cleaned:
    """Bytes from a pipe or a file: invalid UTF-8 sequences become U+FFFD (counted), never an error."""
    text = data.decode("utf-8", errors="surrogateescape")
    return clean_text(text)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
