"""One attention head as a picture: rows attend to columns, values written in small maps.

Building a Figure with its Axes and some forty Text artists is a good part of a render's cost, so
`render_head` takes the engine's per-thread cache and reuses that thread's figure for the same token
count, swapping in data, strings and layout (a figure is never shared between threads).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from core.render.cache import PerThreadCache
from core.render.fonts import (
    axis_titles,
    drawn_labels,
    label_colours,
    place_axis_titles,
    text_width_pt,
    tick_font_and_step,
    token_labels,
    wrap_title,
)
from core.render.links import check_weights
from core.render.style import (
    ANNOTATE_MAX_TOKENS,
    CMAP,
    LABEL_FONT,
    MIN_FONT,
    PAD_IN,
    TICK_GAP_PT,
    TITLE_FONT,
    figure_to_png,
    limits,
    new_figure,
)
from core.render.values import CBAR_GAP_IN, CBAR_TEXT_IN, CBAR_W_IN, Colorbar, annotate_cells, set_cell_values


class HeadFigure:
    """A single-head figure for maps of `n` tokens that can be redrawn with new data."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.side_in = min(max(n * 0.42, 1.6), 10.0)
        side_pt = self.side_in * 72.0
        self.size, self.step = tick_font_and_step(n, side_pt)
        self.cell_pt = side_pt / n
        self.annotate = n <= ANNOTATE_MAX_TOKENS and self.cell_pt >= 20.0
        self.value_size = min(9.0, max(MIN_FONT, self.cell_pt * 0.3))

        self.fig = fig = new_figure(6.0, 6.0)
        self.ax = ax = fig.add_axes([0.1, 0.1, 0.6, 0.6])
        self.norm = Normalize(0.0, 1.0)
        self.image = ax.imshow(np.zeros((n, n)), cmap=CMAP, norm=self.norm, interpolation="nearest", aspect="auto")
        ax.set_axis_off()  # no spines or ticks: labels are plain text
        self.xlabels = token_labels(ax, "x", [""] * n, self.size, self.step, 0)
        self.ylabels = token_labels(ax, "y", [""] * n, self.size, self.step)
        self.axis_titles = axis_titles(fig, 0.0, 0.0, 1.0, 1.0)
        self.values = annotate_cells(ax, np.zeros((n, n)), self.norm, self.value_size) if self.annotate else None
        self.colorbar = Colorbar(fig, [0.8, 0.1, 0.05, 0.6])
        self.title = fig.text(0.5, 1.0, "", ha="center", va="top", fontsize=TITLE_FONT, parse_math=False)

    def update(self, tokens: Sequence[str], w: np.ndarray, title: str,
               noop: Sequence[bool] | None = None) -> Figure:
        """Draw `w` with these labels and title; sizes follow the labels' measured widths."""
        n, side_in, size, step = self.n, self.side_in, self.size, self.step
        labels, colours = drawn_labels(tokens), label_colours(noop, n)
        max_w = max(text_width_pt(s, size) for s in labels[::step])
        x_rot = 0 if max_w <= self.cell_pt * step * 0.9 else 90
        x_text_h = (size * 1.3) if x_rot == 0 else max_w

        left_in = (max_w + TICK_GAP_PT + LABEL_FONT * 1.6) / 72.0 + PAD_IN
        bottom_in = (x_text_h + TICK_GAP_PT + LABEL_FONT * 1.6) / 72.0 + PAD_IN
        body_w_in = left_in + side_in + CBAR_GAP_IN + CBAR_W_IN + CBAR_TEXT_IN + PAD_IN
        fig_w_in = max(body_w_in, 3.5)
        title_lines = wrap_title(title, fig_w_in * 72.0 - 2 * PAD_IN * 72.0, TITLE_FONT)
        fig_h_in = bottom_in + side_in + (len(title_lines) * TITLE_FONT * 1.3 + 8) / 72.0 + PAD_IN
        left_in += (fig_w_in - body_w_in) / 2.0  # centred when the minimum width applies

        self.fig.set_size_inches(fig_w_in, fig_h_in, forward=False)
        self.ax.set_position([left_in / fig_w_in, bottom_in / fig_h_in, side_in / fig_w_in, side_in / fig_h_in])
        self.norm.vmin, self.norm.vmax = limits(w)
        self.image.set_data(w)
        for text, i in zip(self.xlabels, range(0, n, step), strict=False):
            text.set_text(labels[i])
            text.set_rotation(x_rot)
            text.set_color(colours[i])
        for text, i in zip(self.ylabels, range(0, n, step), strict=False):
            text.set_text(labels[i])
            text.set_color(colours[i])
        place_axis_titles(self.axis_titles, left_in, bottom_in, side_in, side_in, fig_w_in, fig_h_in)
        if self.values is not None:
            set_cell_values(self.values, w, self.norm)
        x0 = (left_in + side_in + CBAR_GAP_IN) / fig_w_in
        self.colorbar.update(self.norm, [x0, bottom_in / fig_h_in, CBAR_W_IN / fig_w_in, side_in / fig_h_in])
        self.title.set_text("\n".join(title_lines))
        self.title.set_y(1.0 - (PAD_IN * 0.6) / fig_h_in)
        return self.fig


def build_head_figure(tokens: Sequence[str], weights: np.ndarray, *, title: str,
                      noop: Sequence[bool] | None = None) -> Figure:
    """A new figure for one head, `weights` of shape (n, n); grey labels where `noop` is true."""
    w = check_weights(tokens, weights, 2, "render_head")
    return HeadFigure(w.shape[0]).update(tokens, w, title, noop)


def render_head(tokens: Sequence[str], weights: np.ndarray, *, title: str,
                figures: PerThreadCache | None = None, noop: Sequence[bool] | None = None) -> bytes:
    """PNG of one head, `weights` of shape (n, n), rows attending to columns.

    With `figures` (the engine's cache) this thread's figure for this token count is reused."""
    w = check_weights(tokens, weights, 2, "render_head")
    n = w.shape[0]
    figure = figures.get(("head", n), lambda: HeadFigure(n)) if figures is not None else HeadFigure(n)
    return figure_to_png(figure.update(tokens, w, title, noop))
