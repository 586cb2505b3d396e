""""Which words mattered": the text's tokens shaded by how much each one moved the answer.

Blue tokens supported the label (hiding them lowered its probability), red ones worked against
it; the deeper the colour, the bigger the change, on a scale shared by the whole text (the
largest change is the deepest colour, unless every change is below `FLOOR`). Each token's change
is written under it, so the picture carries the numbers too. Special tokens the tokenizer added
were not hidden: dashed and grey.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_hex

from core.render.tokenflow import Row, render_rows

CMAP = colormaps["RdBu"]
UNSCORED_FILL = "#eeeeee"
FLOOR = 0.02
"""The colour scale spans at least +-0.02, so changes that are all near 0 stay pale, not deep."""


def shade(scores: Sequence[float | None]) -> tuple[list[str], list[str]]:
    """Fill and text colour for each score (None: not scored), on a scale of +- the largest |score|."""
    values = [abs(s) for s in scores if s is not None]
    top = max(max(values, default=0.0), FLOOR)
    fills, texts = [], []
    for s in scores:
        if s is None:
            fills.append(UNSCORED_FILL)
            texts.append("#666666")
            continue
        rgba = np.asarray(CMAP(0.5 + 0.5 * float(s) / top))
        fills.append(to_hex(rgba))
        luminance = float(rgba[:3] @ np.array([0.2126, 0.7152, 0.0722]))
        texts.append("#111111" if luminance > 0.45 else "#ffffff")
    return fills, texts


def render_shading(tokens: Sequence[str], scores: Sequence[float | None], *, title: str, what: str) -> bytes:
    """PNG of the tokens in reading order, shaded by `scores` (None for tokens that were not hidden);
    `what` names the number that changed ("the probability of POSITIVE")."""
    fills, texts = shade(scores)
    notes = ["" if s is None else f"{s:+.3f}" for s in scores]
    row = Row(f"How much {what} fell when each token was hidden", list(tokens), fills,
              [s is None for s in scores], notes, texts)
    return render_rows([row], title=title,
                       footer=f"Blue: hiding the token lowered {what} (the token supported it). Red: hiding it "
                              "raised it (the token worked against it). Deeper colour, bigger change.")
