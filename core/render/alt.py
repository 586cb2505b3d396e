"""The words that stand for a heatmap: alt text a screen reader says in place of the picture.

It names the same links as the answer's table (`core.render.links`), with the same four decimals,
so a learner who cannot see the picture hears what the others read. No plotting library here.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from core.render.labels import one_line, quote
from core.render.links import Link, check_weights, heaviest, strongest_links, strongest_per_map

ALT_TEXT_MAX = 400
"""Discord allows 1,024 characters of attachment description; a screen reader wants far fewer."""

AXES = "rows are the token attending, columns the token attended to"


def alt_text(tokens: Sequence[str], weights: np.ndarray, *, what: str,
             noop: Sequence[bool] | None = None) -> str:
    """One or two sentences describing the picture, at most `ALT_TEXT_MAX` characters.

    `weights` is one map (n, n), a layer's heads (heads, n, n) or every layer (layers, heads, n, n);
    `what` names it ("layer 0, head 3"); `noop` marks the tokens links leave out."""
    ndim = np.ndim(weights)
    if ndim not in (2, 3, 4):
        raise ValueError(f"alt_text expects 2, 3 or 4 dimensional weights, got shape {np.shape(weights)}")
    w = check_weights(tokens, weights, ndim, "alt_text")
    n, what = len(tokens), one_line(what, 80)
    over = f"over {n} {'token' if n == 1 else 'tokens'}; {AXES}"
    if ndim == 2:
        head = f"Heatmap of {what} attention {over}"
        named = [("", link) for link in strongest_links(w, noop, 3)]
    elif ndim == 3:
        head = f"Grid of {w.shape[0]} attention heatmaps ({what}), one per head, {over}"
        named = _top_maps(strongest_per_map(w, noop), lambda h: f"head {h} ")
    else:
        layers, heads = w.shape[:2]
        head = f"Overview of {what} attention: {layers} layers x {heads} heads {over}"
        named = _top_maps(strongest_per_map(w.reshape(-1, n, n), noop),
                          lambda m: f"layer {m // heads}, head {m % heads} ", k=1)
    phrase = ", ".join(f"{where}{quote(tokens[link.source])} -> {quote(tokens[link.target])} "
                       f"({link.weight:.4f})" for where, link in named)
    text = f"{head}; strongest: {phrase}."
    return text if len(text) <= ALT_TEXT_MAX else text[: ALT_TEXT_MAX - 1].rstrip() + "\u2026"


def _top_maps(per_map: list[Link], name: Callable[[int], str], k: int = 3) -> list[tuple[str, Link]]:
    """The maps with the heaviest links, heaviest first, each named by `name(index)`."""
    return [(name(i), per_map[i]) for i in heaviest(per_map, k)]
