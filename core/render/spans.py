"""/compare's picture: each tokenizer's tokens as coloured spans, one block per tokenizer.

Neighbouring tokens get different colours (as tiktokenizer shows them), so where one token ends
and the next begins is visible; special tokens the tokenizer added are grey with a dashed edge.
Tokens arrive readable (`core.tokens.readable_tokens`: `␣` for a byte-level space, byte pieces
named), so the `##` and `␣` markers are drawn as they are.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.render.tokenflow import Row, render_rows

PALETTE = ("#ffd6a5", "#caffbf", "#9bf6ff", "#bdb2ff", "#ffc6ff", "#fdffb6")
"""Light fills, so black token text reads on every one of them."""
SPECIAL_FILL = "#eeeeee"


@dataclass(frozen=True)
class Spans:
    """One tokenizer's tokens, as the learner reads them."""

    name: str
    tokens: Sequence[str]
    special: Sequence[bool]


def render_spans(blocks: Sequence[Spans], *, title: str) -> bytes:
    """PNG with one block per tokenizer: its name, its count and its tokens as coloured spans."""
    rows = []
    for block in blocks:
        fills = [SPECIAL_FILL if special else PALETTE[i % len(PALETTE)]
                 for i, special in enumerate(block.special)]
        count = f"{len(block.tokens)} token{'s' if len(block.tokens) != 1 else ''}"
        rows.append(Row(f"{block.name}: {count}", list(block.tokens), fills, list(block.special)))
    return render_rows(rows, title=title,
                       footer="Each box is one token; colours only separate neighbours. Dashed grey boxes are "
                              "special tokens the tokenizer added. ## continues a word; ␣ is a space.")
