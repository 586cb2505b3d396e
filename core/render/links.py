"""Which token links an attention map's summaries name: one rule for tables, alt text and headlines.

Pure numpy, no plotting library, so a task can build its table without loading matplotlib.

`weights[q, k]` is how much the query token `q` (the row, the token attending) attends to the key
token `k` (the column, the token attended to); a softmaxed row sums to 1.

A token's focus is the real token its row weighs most; it may be the token itself, since that is
where the weight went. Structural no-op tokens (`[CLS]`, `[SEP]`, `<s>`...: `core.tokens.noop_mask`)
are left out as rows and as columns, because heads park attention on them (Clark et al. 2019). A text
of nothing but no-ops is ranked whole, so there is always something to show. Ties go to the earlier
row, then the earlier column, as `argmax` breaks them, so the learner's snippet agrees.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


class Link(NamedTuple):
    """Row `source` attends to column `target` with `weight` (indexes into the token list)."""

    source: int
    target: int
    weight: float


def check_weights(tokens: Sequence[str], weights: object, ndim: int, what: str) -> np.ndarray:
    """`weights` as a finite float array of `ndim` dimensions whose last two match the tokens."""
    if isinstance(tokens, str) or not isinstance(tokens, Sequence):
        raise TypeError(f"tokens must be a list of strings, got {type(tokens).__name__}")
    n = len(tokens)
    if n == 0:
        raise ValueError("tokens must not be empty")
    try:
        w = np.asarray(weights, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"weights must be numeric: {exc}") from None
    if w.ndim != ndim:
        raise ValueError(f"{what} expects weights with {ndim} dimensions, got shape {w.shape}")
    if w.shape[-2:] != (n, n):
        raise ValueError(f"weights shape {w.shape} does not match {n} tokens (last two dims must be ({n}, {n}))")
    if any(d == 0 for d in w.shape):
        raise ValueError(f"weights shape {w.shape} has an empty dimension")
    if not np.isfinite(w).all():
        raise ValueError("weights contain NaN or infinite values")
    return w


def check_noop(noop: Sequence[bool] | None, n: int) -> np.ndarray:
    """`noop` (true for each no-op token) as a boolean array of `n`; none is a no-op when not given."""
    if noop is None:
        return np.zeros(n, dtype=bool)
    if isinstance(noop, str) or len(noop) != n:
        raise ValueError(f"noop must mark each of the {n} tokens with true or false")
    return np.asarray(noop, dtype=bool)


def real_tokens(noop: Sequence[bool] | None, n: int) -> np.ndarray:
    """Which of `n` tokens links may start or end at: all but the no-ops, or all if only no-ops."""
    real = ~check_noop(noop, n)
    return real if real.any() else np.ones(n, dtype=bool)


def focus_per_token(weights: np.ndarray, noop: Sequence[bool] | None = None) -> list[Link]:
    """For each real token in order, the real token it attends to most."""
    w = np.asarray(weights, dtype=float)
    real = real_tokens(noop, w.shape[-1])
    targets = np.argmax(np.where(real[None, :], w, -np.inf), axis=1)
    return [Link(q, int(targets[q]), float(w[q, targets[q]])) for q in np.flatnonzero(real).tolist()]


def heaviest(links: Sequence[Link], k: int) -> list[int]:
    """Indexes of the `k` heaviest links, heaviest first; equal weights keep their order."""
    return sorted(range(len(links)), key=lambda i: -links[i].weight)[:max(k, 0)]


def strongest(links: Sequence[Link], k: int) -> list[Link]:
    """The `k` heaviest links, heaviest first; equal weights keep their order."""
    return [links[i] for i in heaviest(links, k)]


def strongest_links(weights: np.ndarray, noop: Sequence[bool] | None = None, k: int = 3) -> list[Link]:
    """The `k` heaviest of a map's per-token focus links: the rows of its table a headline names."""
    return strongest(focus_per_token(weights, noop), k)


def strongest_link(weights: np.ndarray, noop: Sequence[bool] | None = None) -> Link:
    """A map's single heaviest link between real tokens (each head's row in a table of heads)."""
    return strongest_links(weights, noop, 1)[0]


def strongest_per_map(weights: np.ndarray, noop: Sequence[bool] | None = None) -> list[Link]:
    """`strongest_link` of each map in a stack of shape (maps, n, n)."""
    return [strongest_link(m, noop) for m in np.asarray(weights, dtype=float)]
