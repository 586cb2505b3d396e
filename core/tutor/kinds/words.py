"""Picking words out of a learner's own sentence, so a lesson's question can be about it."""
from __future__ import annotations

import re

WORD = re.compile(r"[^\W\d_]+")
PRONOUNS = ("it", "she", "he", "they", "them", "her", "him")
MASKS = re.compile(r"\[MASK\]|<mask>", re.IGNORECASE)


def words(text: str) -> list[str]:
    return WORD.findall(text)


def longest_word(text: str) -> str | None:
    found = words(text)
    return max(found, key=len) if found else None


def attending_word(text: str) -> str | None:
    """A pronoun (its attention is the classic example), else the last word of three letters or more."""
    found = words(text)
    pronoun = next((w for w in found if w.lower() in PRONOUNS), None)
    if pronoun:
        return pronoun
    long = [w for w in found if len(w) >= 3]
    return long[-1] if long else None


def name_word(text: str) -> str | None:
    """A capitalised word that does not start the sentence (likely a name), else None."""
    found = words(text)
    return next((w for w in found[1:] if w[:1].isupper()), None)


def masked(text: str) -> str | None:
    """The text with one `[MASK]`: the learner's own, or its longest word hidden."""
    if len(MASKS.findall(text)) == 1:
        return text
    if MASKS.search(text):
        return None
    word = longest_word(text)
    if word is None:
        return None
    return re.sub(rf"\b{re.escape(word)}\b", "[MASK]", text, count=1)


def span_of(text: str, word: str) -> tuple[int, int] | None:
    match = re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text)
    return (match.start(), match.end()) if match else None
