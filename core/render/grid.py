"""Every head of one layer as small multiples: a near-square grid with one shared colour scale.

One scale (and one colour bar) for all panels keeps the heads comparable; token labels sit only on
the left column and under the lowest panel of each column, and no values are written, so a twelve-head
grid stays readable in a chat window.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from core.render.fonts import (
    axis_titles,
    drawn_labels,
    label_colours,
    panel_title,
    text_width_pt,
    tick_font_and_step,
    token_labels,
    wrap_title,
)
from core.render.links import check_weights
from core.render.style import (
    CMAP,
    LABEL_FONT,
    PAD_IN,
    SUBTITLE_FONT,
    TICK_GAP_PT,
    TITLE_FONT,
    figure_to_png,
    new_figure,
    norm_for,
)
from core.render.values import CBAR_GAP_IN, CBAR_TEXT_IN, CBAR_W_IN, colorbar


def grid_shape(count: int) -> tuple[int, int]:
    """Rows and columns for `count` panels, near square (12 heads: 3 x 4)."""
    cols = math.ceil(math.sqrt(count))
    return math.ceil(count / cols), cols


def build_grid_figure(tokens: Sequence[str], weights: np.ndarray, *, title: str,
                      noop: Sequence[bool] | None = None) -> Figure:
    """A figure with one small heatmap per head, `weights` of shape (heads, n, n), "head i" over each."""
    w = check_weights(tokens, weights, 3, "render_grid")
    heads, n = w.shape[0], w.shape[1]
    rows, cols = grid_shape(heads)
    labels, colours = drawn_labels(tokens), label_colours(noop, n)

    panel_in = min(max(n * 0.16, 1.5), 3.2)
    panel_pt = panel_in * 72.0
    size, step = tick_font_and_step(n, panel_pt)
    size = min(size, 8.0)
    show_tokens = panel_pt / n * step >= size * 1.2
    max_w = max(text_width_pt(s, size) for s in labels[::step]) if show_tokens else 0.0
    x_rot = 0 if max_w <= panel_pt / n * step * 0.9 else 90
    x_text_h = ((size * 1.3) if x_rot == 0 else max_w) if show_tokens else 0.0

    gap_x_in = 0.15
    sub_in = (SUBTITLE_FONT * 1.4 + 3) / 72.0
    gap_y_in = sub_in + 0.08
    left_in = (max_w + TICK_GAP_PT + LABEL_FONT * 1.6) / 72.0 + PAD_IN
    # x labels hang under the lowest panel of each column: into the empty slot below when the last
    # row is incomplete (at least a panel high), else into the bottom margin.
    bottom_in = (x_text_h + TICK_GAP_PT + LABEL_FONT * 1.6) / 72.0 + PAD_IN
    grid_w_in = cols * panel_in + (cols - 1) * gap_x_in
    grid_h_in = rows * panel_in + (rows - 1) * gap_y_in
    body_w_in = left_in + grid_w_in + CBAR_GAP_IN + CBAR_W_IN + CBAR_TEXT_IN + PAD_IN
    fig_w_in = max(body_w_in, 3.5)
    title_lines = wrap_title(title, fig_w_in * 72.0 - 2 * PAD_IN * 72.0, TITLE_FONT)
    top_in = (len(title_lines) * TITLE_FONT * 1.3 + 8) / 72.0 + PAD_IN + sub_in
    fig_h_in = bottom_in + grid_h_in + top_in
    left_in += (fig_w_in - body_w_in) / 2.0

    fig = new_figure(fig_w_in, fig_h_in)
    norm = norm_for(w)
    last_row_of_col = [max(r for r in range(rows) if r * cols + c < heads) for c in range(cols)]
    for h in range(heads):
        r, c = divmod(h, cols)
        x = left_in + c * (panel_in + gap_x_in)
        y = bottom_in + (rows - 1 - r) * (panel_in + gap_y_in)
        ax = fig.add_axes([x / fig_w_in, y / fig_h_in, panel_in / fig_w_in, panel_in / fig_h_in])
        ax.imshow(w[h], cmap=CMAP, norm=norm, interpolation="nearest", aspect="auto")
        panel_title(ax, f"head {h}", SUBTITLE_FONT)
        ax.set_axis_off()
        if show_tokens and c == 0:
            token_labels(ax, "y", labels, size, step, colours=colours)
        if show_tokens and r == last_row_of_col[c]:
            token_labels(ax, "x", labels, size, step, x_rot, colours=colours)
    colorbar(fig, norm, [(left_in + grid_w_in + CBAR_GAP_IN) / fig_w_in, bottom_in / fig_h_in,
                         CBAR_W_IN / fig_w_in, grid_h_in / fig_h_in])
    axis_titles(fig, left_in, bottom_in, grid_w_in, grid_h_in)
    if title_lines:
        fig.text(0.5, 1.0 - (PAD_IN * 0.6) / fig_h_in, "\n".join(title_lines),
                 ha="center", va="top", fontsize=TITLE_FONT, parse_math=False)
    return fig


def render_grid(tokens: Sequence[str], weights: np.ndarray, *, title: str,
                noop: Sequence[bool] | None = None) -> bytes:
    """PNG of all heads of one layer, `weights` of shape (heads, n, n)."""
    return figure_to_png(build_grid_figure(tokens, weights, title=title, noop=noop))
