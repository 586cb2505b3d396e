"""How a token is written in a picture or a summary: escaped, cut to fit, and never blank.

Plain text rules with no plotting library, shared by the heatmaps and their alt text. Tokens arrive
already readable (`core.tokens.readable_tokens`: byte-level `Ġ` shown as `␣`); this only makes them
safe to draw. Characters the label font cannot draw become `U+XXXX` markers in pictures, never empty
boxes; summaries keep the original text, since a screen reader can say it.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate

MAX_LABEL_CHARS = 12
"""Tokens longer than this are cut with an ellipsis in pictures."""

CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def label(token: str, max_chars: int = MAX_LABEL_CHARS, glyphs: frozenset[int] | None = None) -> str:
    """A token as drawn: control characters escaped, cut with '…' between whole characters or markers.

    With `glyphs` (the code points the font can draw), any other character becomes `U+XXXX`."""
    s = CONTROL_RE.sub(lambda m: repr(m.group())[1:-1], str(token)) or "''"
    parts = list(s) if glyphs is None else [c if ord(c) in glyphs else f"U+{ord(c):04X}" for c in s]
    text = "".join(parts)
    if len(text) > max_chars:
        keep = bisect_right(list(accumulate(map(len, parts))), max_chars - 1)
        text = "".join(parts[:keep]) + "\u2026"
    return text


def quote(token: str, max_chars: int = 20) -> str:
    """A token inside a sentence: quoted, so `␣` or a lone comma reads as a token."""
    return "'" + label(token, max_chars) + "'"


def one_line(text: str, max_chars: int) -> str:
    """A caller's title or description on one line, cut to `max_chars`."""
    s = CONTROL_RE.sub(" ", str(text)).strip()
    return s if len(s) <= max_chars else s[: max_chars - 1] + "\u2026"
