"""Exploring /fillmask: more guesses, and masking another word of the same sentence.

"Mask another word" (`word=N`) fills the learner's mask with the model's best guess, then hides
word N of that sentence instead, so one click asks the model about another word in the same
context; word numbers count the words of the filled sentence from 0 (the select names them).
The learner's text stays in the stored run; the button carries only the number.
"""
from __future__ import annotations

import re
from typing import Any

from core.actions import MAX_MENU_OPTIONS, THIS_RUN, Action, Choice, Menu
from core.errors import UserError
from core.markup import code
from core.tasks.shared import attribution

WORD = re.compile(r"\w+")
MASKS = re.compile(r"\[MASK\]|<mask>", re.IGNORECASE)
MAX_TOP_K = 20


def filled(text: str, guess: str) -> str:
    """The learner's text with its one mask replaced by the guess."""
    return MASKS.sub(lambda _: guess, text, count=1)


def words(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in WORD.finditer(text)]


def move_mask(text: str, guess: str, word: int) -> tuple[str, str]:
    """The sentence with the mask filled by `guess` and word `word` masked instead, and the notice
    that says what changed."""
    sentence = filled(text, guess)
    spans = words(sentence)
    if word >= len(spans):
        if not spans:
            raise UserError(f"The sentence {code(sentence)} has no word to mask.")
        which = "1 word (word 0)" if len(spans) == 1 else f"{len(spans)} words (0 to {len(spans) - 1})"
        raise UserError(f"The sentence {code(sentence)} has {which}; there is no word {word} to mask.")
    start, end = spans[word]
    moved = sentence[:start] + "[MASK]" + sentence[end:]
    notice = (f"Your mask was filled with the model's best guess, {code(guess)}, and word {word}, "
              f"{code(sentence[start:end])}, was masked instead: {code(moved)}.")
    return moved, notice


def fillmask_actions(args: dict[str, Any], text: str, guess: str, hidden_count: int) -> tuple[Choice, ...]:
    """More guesses (a larger top_k), which words mattered, and a select of the sentence's words to mask."""
    actions: list[Choice] = []
    top_k = args["top_k"]
    if top_k < MAX_TOP_K:
        more = min(MAX_TOP_K, max(10, top_k * 2))
        actions.append(Action.to(f"More guesses ({more})", "fillmask", run=THIS_RUN, top_k=more))
    actions.extend(attribution.why_action("fillmask", hidden_count))
    menu = word_menu(text, guess)
    return tuple(actions) + ((menu,) if menu is not None else ())


def word_menu(text: str, guess: str) -> Menu | None:
    """A select of the filled sentence's words (the first 25): choosing one masks it instead."""
    sentence = filled(text, guess)
    mask_at = MASKS.search(text)
    guessed = mask_at.start() if mask_at else -1
    options = []
    for n, (start, end) in enumerate(words(sentence)[:MAX_MENU_OPTIONS]):
        word = sentence[start:end]
        label = f"{n}: {word}" + (" (the guess)" if start == guessed else "")
        options.append(Action.to(label, "fillmask", run=THIS_RUN, word=n,
                                 description=f"Mask {word} instead and let the model guess it"))
    return Menu("Mask another word", tuple(options)) if options else None
