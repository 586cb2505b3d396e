"""Picking words out of a learner's own sentence, so a lesson's question can be about it."""
from __future__ import annotations

import re
from collections.abc import Callable

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


def masked(text: str, one_token: Callable[[str, str], bool] | None = None) -> str | None:
    """The text with one `[MASK]`: the learner's own, or one of its words hidden.

    A fill-mask model fills exactly one token, so a word the model splits into several can never come
    back: with `one_token(text, word)` (the model's tokenizer's say, `one_token_word`) the longest word
    that is one token is hidden, and None is returned when no word is. Without it, the longest word."""
    if len(MASKS.findall(text)) == 1:
        return text
    word = hidden_word(text, one_token)
    if word is None:
        return None
    return re.sub(rf"\b{re.escape(word)}\b", "[MASK]", text, count=1)


def hidden_word(text: str, one_token: Callable[[str, str], bool] | None = None) -> str | None:
    """The word `masked` hides: the longest (that is one token, with `one_token`); None when the text
    already holds a mask or no word fits."""
    if MASKS.search(text):
        return None
    found = sorted(dict.fromkeys(words(text)), key=len, reverse=True)
    return next((w for w in found if one_token is None or one_token(text, w)), None)


def one_token_word(tokenizer: object) -> Callable[[str, str], bool]:
    """`one_token(text, word)` for `masked`: True when the tokenizer gives `word`, where it stands in
    `text`, exactly one token (with the space before it, for byte-level BPE, which folds a space into
    the next token)."""
    def check(text: str, word: str) -> bool:
        span = span_of(text, word)
        if span is None:
            return False
        spaced = span[0] > 0 and text[span[0] - 1] == " "
        pieces = tokenizer.tokenize((" " if spaced else "") + word)  # type: ignore[attr-defined]
        return len(pieces) == 1 and pieces[0] != getattr(tokenizer, "unk_token", None)
    return check


def span_of(text: str, word: str) -> tuple[int, int] | None:
    match = re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text)
    return (match.start(), match.end()) if match else None
