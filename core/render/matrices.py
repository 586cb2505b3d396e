"""Matrices side by side: the steps of one attention head, or two models' maps of the same sentence.

Each panel is one matrix with its row labels (and column labels when its columns are tokens): a map
of weights on the attention colour scale (0 to its largest value), or signed numbers (scores,
queries, keys, values) on a diverging scale centred on 0. Masked cells (-inf) are drawn grey, and one
row can be outlined, the row a table beside the picture reads out. Panels sit on a grid, `per_row`
to a row, each with its own scale. Only matplotlib's object API (`core.render.style.new_figure`).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.patches import Rectangle

from core.render.fonts import drawn_labels, panel_title, text_width_pt, tick_font_and_step, token_labels, wrap_title
from core.render.style import (
    CMAP,
    LABEL_FONT,
    PAD_IN,
    SUBTITLE_FONT,
    TICK_GAP_PT,
    TITLE_FONT,
    figure_to_png,
    new_figure,
)

SIGNED = "vlag"
"""seaborn's blue-white-red diverging map: negative blue, 0 white, positive red."""
MASKED = "#c8c8c8"
OUTLINE = "#00d5ff"
GAP_IN = 0.3


@dataclass(frozen=True)
class Panel:
    values: np.ndarray
    """(rows, columns); rows are tokens."""
    title: str
    rows: Sequence[str]
    columns: Sequence[str] = ()
    """Column labels when the columns are tokens too; empty for vectors (a head's d numbers)."""
    signed: bool = False
    hidden: np.ndarray | None = None
    """True where a cell is masked out (-inf): drawn grey, left out of the colour scale."""
    outline: int | None = None
    """A row to outline."""


def _scale(panel: Panel) -> tuple[Normalize, object]:
    import seaborn as sns

    seen = panel.values if panel.hidden is None else panel.values[~panel.hidden]
    finite = seen[np.isfinite(seen)] if seen.size else np.zeros(1)
    if panel.signed:
        top = float(np.abs(finite).max()) if finite.size else 1.0
        cmap = sns.color_palette(SIGNED, as_cmap=True).with_extremes(bad=MASKED)
        return Normalize(-top or -1.0, top or 1.0), cmap
    top = float(finite.max()) if finite.size else 1.0
    return Normalize(min(0.0, float(finite.min()) if finite.size else 0.0), top if top > 0 else 1.0), \
        CMAP.with_extremes(bad=MASKED)


def render_panels(panels: Sequence[Panel], *, title: str, per_row: int = 2) -> bytes:
    """One PNG with every panel on a grid, `per_row` to a row, under one title."""
    if not panels:
        raise ValueError("render_panels needs at least one panel")
    n = max(len(p.rows) for p in panels)
    side_in = min(max(n * 0.2, 1.6), 3.4)
    size, step = tick_font_and_step(n, side_in * 72.0)
    size = min(size, 8.0)
    labels = [drawn_labels(p.rows) for p in panels]
    left_in = max(text_width_pt(s, size) for row in labels for s in row[::step]) / 72.0 + TICK_GAP_PT / 72.0
    tokens_below = any(p.columns for p in panels)
    below_in = (max((text_width_pt(s, size) for p in panels for s in drawn_labels(p.columns)), default=0.0)
                + TICK_GAP_PT) / 72.0 if tokens_below else 0.1
    rows = math.ceil(len(panels) / per_row)
    cols = min(per_row, len(panels))
    slot_w, slot_h = left_in + side_in + GAP_IN, (SUBTITLE_FONT * 1.6) / 72.0 + side_in + below_in
    width = 2 * PAD_IN + cols * slot_w
    lines = wrap_title(title, (width - 2 * PAD_IN) * 72.0, TITLE_FONT)
    title_in = (len(lines) * TITLE_FONT * 1.3 + 8) / 72.0
    height = 2 * PAD_IN + title_in + rows * slot_h
    fig = new_figure(width, height)
    for at, panel in enumerate(panels):
        r, c = divmod(at, per_row)
        x = PAD_IN + c * slot_w + left_in
        y = height - PAD_IN - title_in - (r + 1) * slot_h + below_in
        _draw(fig.add_axes((x / width, y / height, side_in / width, side_in / height)), panel, labels[at], size, step)
    fig.text(0.5, 1.0 - PAD_IN / height, "\n".join(lines), ha="center", va="top", fontsize=TITLE_FONT,
             parse_math=False)
    return figure_to_png(fig)


def _draw(ax: object, panel: Panel, rows: list[str], size: float, step: int) -> None:
    values = np.asarray(panel.values, dtype=float)
    norm, cmap = _scale(panel)
    hidden = ~np.isfinite(values) if panel.hidden is None else (panel.hidden | ~np.isfinite(values))
    shown = np.ma.masked_array(values, mask=hidden)
    ax.imshow(shown, cmap=cmap, norm=norm, interpolation="nearest", aspect="auto")
    ax.set_axis_off()
    panel_title(ax, panel.title, SUBTITLE_FONT)
    token_labels(ax, "y", rows, size, step)
    if panel.columns:
        token_labels(ax, "x", drawn_labels(panel.columns), size, step, 90)
    if panel.outline is not None:
        ax.add_patch(Rectangle((-0.5, panel.outline - 0.5), values.shape[1], 1.0, fill=False, edgecolor=OUTLINE,
                               linewidth=1.6))
    ax.set_xlim(-0.5, values.shape[1] - 0.5)
    ax.set_ylim(values.shape[0] - 0.5, -0.5)
    if not panel.columns:
        trans = ax.transAxes
        ax.text(0.5, -0.02, f"{values.shape[1]} numbers per token", transform=trans, ha="center", va="top",
                fontsize=LABEL_FONT - 1, color="#444444")
