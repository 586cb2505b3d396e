"""The next token's candidates as bars: one row per token, one bar per stage of the distribution.

/nexttoken shows how one distribution changes: the model's probabilities (T = 1), the same at the
chosen temperature, and what is left after top-k and top-p (renormalised). Each candidate is a row
with one thin bar per stage, its value written beside it; a candidate the filters dropped is named
in grey with its last bar at 0. Tokens are drawn with the label fonts (`core.render.fonts`); only
matplotlib's object API (`core.render.style.new_figure`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.render.fonts import drawn_labels, label_fonts, text_width_pt, wrap_title
from core.render.style import LABEL_FONT, NOOP_COLOUR, PAD_IN, TEXT_COLOUR, TITLE_FONT, figure_to_png, new_figure

COLOURS = ("#c6dbef", "#6baed6", "#08519c")
"""Light to dark: the stages in order."""
BAR_H_IN, ROW_GAP_IN, BARS_W_IN = 0.16, 0.14, 4.2


@dataclass(frozen=True)
class Stage:
    label: str
    values: Sequence[float]


def render_bars(tokens: Sequence[str], stages: Sequence[Stage], *, title: str,
                dropped: Sequence[bool] = ()) -> bytes:
    """A PNG with a row of bars for each token (one per stage), and a legend naming the stages."""
    if not tokens or not stages or any(len(s.values) != len(tokens) for s in stages):
        raise ValueError("render_bars needs one value per token in every stage")
    labels = drawn_labels(tokens, 14)
    family = list(label_fonts()[0])
    label_w = max(text_width_pt(t, LABEL_FONT) for t in labels) / 72.0 + 0.15
    number_w = text_width_pt("0.0000", LABEL_FONT - 1) / 72.0 + 0.1
    width = 2 * PAD_IN + label_w + BARS_W_IN + number_w
    lines = wrap_title(title, (width - 2 * PAD_IN) * 72.0, TITLE_FONT)
    title_h = (len(lines) * TITLE_FONT * 1.35 + 6) / 72.0
    row_h = len(stages) * BAR_H_IN + ROW_GAP_IN
    legend_h = (LABEL_FONT * 1.8) / 72.0
    height = 2 * PAD_IN + title_h + legend_h + len(tokens) * row_h
    fig = new_figure(width, height)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    ax.text(width / 2, PAD_IN, "\n".join(lines), ha="center", va="top", fontsize=TITLE_FONT, parse_math=False)
    top = PAD_IN + title_h
    x0 = PAD_IN + label_w
    scale = max(max(s.values) for s in stages) or 1.0
    _legend(ax, stages, x0, top)
    top += legend_h
    for r, name in enumerate(labels):
        y = top + r * row_h
        grey = bool(dropped) and dropped[r]
        ax.text(x0 - 0.1, y + len(stages) * BAR_H_IN / 2, name, ha="right", va="center", fontsize=LABEL_FONT,
                family=family, color=NOOP_COLOUR if grey else TEXT_COLOUR, parse_math=False)
        for s, stage in enumerate(stages):
            value = float(stage.values[r])
            yb = y + s * BAR_H_IN
            ax.barh(yb + BAR_H_IN / 2, BARS_W_IN * value / scale, height=BAR_H_IN * 0.85, left=x0,
                    color=COLOURS[s % len(COLOURS)])
            ax.text(x0 + BARS_W_IN * value / scale + 0.05, yb + BAR_H_IN / 2, f"{value:.4f}", ha="left",
                    va="center", fontsize=LABEL_FONT - 2, color="#333333")
    return figure_to_png(fig)


def _legend(ax: object, stages: Sequence[Stage], x0: float, y: float) -> None:
    x = x0
    for s, stage in enumerate(stages):
        ax.barh(y + 0.08, 0.18, height=0.12, left=x, color=COLOURS[s % len(COLOURS)])
        ax.text(x + 0.24, y + 0.08, stage.label, ha="left", va="center", fontsize=LABEL_FONT - 1)
        x += 0.24 + text_width_pt(stage.label, LABEL_FONT - 1) / 72.0 + 0.3
