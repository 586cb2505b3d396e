"""Every layer and every head in one picture: rows are layers, columns heads.

Panels shrink as the model grows, so a 12 x 12 model stays about ten inches wide; token labels sit
on the left column and bottom row only, and are left out (the picture says so) when panels are too
small to read them.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from core.render.fonts import drawn_labels, label_colours, panel_title, text_width_pt, token_labels, wrap_title
from core.render.links import check_weights
from core.render.style import (
    CMAP,
    LABEL_FONT,
    MIN_FONT,
    PAD_IN,
    TICK_GAP_PT,
    TITLE_FONT,
    figure_to_png,
    new_figure,
    norm_for,
)
from core.render.values import CBAR_GAP_IN, CBAR_TEXT_IN, CBAR_W_IN, colorbar


def build_overview_figure(tokens: Sequence[str], weights: np.ndarray, *, title: str,
                          noop: Sequence[bool] | None = None) -> Figure:
    """A figure of layers x heads small multiples, `weights` of shape (layers, heads, n, n)."""
    w = check_weights(tokens, weights, 4, "render_overview")
    layers, heads, n = w.shape[0], w.shape[1], w.shape[2]
    labels, colours = drawn_labels(tokens, 10), label_colours(noop, n)

    panel_in = min(1.6, max(0.45, 10.0 / max(heads, layers)))
    panel_pt = panel_in * 72.0
    size = MIN_FONT
    show_tokens = panel_pt / n >= size * 1.25
    max_w = max(text_width_pt(s, size) for s in labels) if show_tokens else 0.0

    gap_in = 0.04
    row_label_w = text_width_pt(f"layer {layers - 1}", LABEL_FONT) + 4
    col_label_h = LABEL_FONT * 1.4 + 3
    row_pad_in = ((max_w + TICK_GAP_PT) if show_tokens else 4.0) / 72.0
    left_in = row_label_w / 72.0 + row_pad_in + PAD_IN
    bottom_in = (max_w + TICK_GAP_PT if show_tokens else 0) / 72.0 + PAD_IN
    grid_w_in = heads * panel_in + (heads - 1) * gap_in
    grid_h_in = layers * panel_in + (layers - 1) * gap_in
    body_w_in = left_in + grid_w_in + CBAR_GAP_IN + CBAR_W_IN + CBAR_TEXT_IN + PAD_IN
    fig_w_in = max(body_w_in, 4.0)
    title_lines = wrap_title(title, fig_w_in * 72.0 - 2 * PAD_IN * 72.0, TITLE_FONT)
    note = f"rows attend to columns; {n} tokens" + ("" if show_tokens else " (labels omitted)")
    top_in = (len(title_lines) * TITLE_FONT * 1.3 + LABEL_FONT * 1.4 + 8 + col_label_h) / 72.0 + PAD_IN
    fig_h_in = bottom_in + grid_h_in + top_in
    left_in += (fig_w_in - body_w_in) / 2.0

    fig = new_figure(fig_w_in, fig_h_in)
    norm = norm_for(w)
    for li in range(layers):
        for hi in range(heads):
            x = left_in + hi * (panel_in + gap_in)
            y = bottom_in + (layers - 1 - li) * (panel_in + gap_in)
            ax = fig.add_axes([x / fig_w_in, y / fig_h_in, panel_in / fig_w_in, panel_in / fig_h_in])
            ax.imshow(w[li, hi], cmap=CMAP, norm=norm, interpolation="nearest", aspect="auto")
            ax.set_axis_off()
            if show_tokens and hi == 0:
                token_labels(ax, "y", labels, size, 1, colours=colours)
            if show_tokens and li == layers - 1:
                token_labels(ax, "x", labels, size, 1, 90, colours=colours)
            if li == 0:
                panel_title(ax, f"head {hi}", LABEL_FONT)
            if hi == 0:
                fig.text((left_in - row_pad_in) / fig_w_in, (y + panel_in / 2) / fig_h_in,
                         f"layer {li}", ha="right", va="center", fontsize=LABEL_FONT)
    colorbar(fig, norm, [(left_in + grid_w_in + CBAR_GAP_IN) / fig_w_in, bottom_in / fig_h_in,
                         CBAR_W_IN / fig_w_in, grid_h_in / fig_h_in])
    top_y = 1.0 - (PAD_IN * 0.6) / fig_h_in
    if title_lines:
        fig.text(0.5, top_y, "\n".join(title_lines), ha="center", va="top", fontsize=TITLE_FONT, parse_math=False)
    fig.text(0.5, top_y - (len(title_lines) * TITLE_FONT * 1.3 + 2) / 72.0 / fig_h_in, note,
             ha="center", va="top", fontsize=LABEL_FONT - 1, color="#444444")
    return fig


def render_overview(tokens: Sequence[str], weights: np.ndarray, *, title: str,
                    noop: Sequence[bool] | None = None) -> bytes:
    """PNG of every layer and head, `weights` of shape (layers, heads, n, n)."""
    return figure_to_png(build_overview_figure(tokens, weights, title=title, noop=noop))
