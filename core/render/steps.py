"""/generate's decoding steps as a picture: one row per new token, its five most likely candidates.

Each cell is a candidate token with its probability, filled in proportion to that probability (a
bar behind the text), so a confident step reads as one long bar and an open one as several short
ones; the chosen token is outlined. When sampling draws a token outside the five, a sixth cell
shows it. Only matplotlib's object API (`core.render.style.new_figure`), never pyplot.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.patches import Rectangle

from core.render.fonts import drawn_labels, label_fonts, wrap_title
from core.render.style import LABEL_FONT, TITLE_FONT, figure_to_png, new_figure

CELL_W_IN, CELL_H_IN, STEP_W_IN, PAD_IN = 1.45, 0.34, 0.45, 0.15
BAR = "#9ecae1"
CHOSEN_EDGE = "#08306b"
OUTSIDE_FILL = "#fdd0a2"


@dataclass(frozen=True)
class StepRow:
    names: Sequence[str]
    probabilities: Sequence[float]
    chosen: str
    chosen_probability: float
    chosen_at: int | None
    """Which of the candidates was chosen; None when sampling drew a token outside them."""


def render_steps(rows: Sequence[StepRow], *, title: str) -> bytes:
    columns = 5 + (1 if any(r.chosen_at is None for r in rows) else 0)
    width = STEP_W_IN + columns * CELL_W_IN + 2 * PAD_IN
    lines = wrap_title(title, (width - 2 * PAD_IN) * 72.0, TITLE_FONT)
    title_h = (len(lines) * TITLE_FONT * 1.35 + 6) / 72.0
    height = title_h + (len(rows) + 1) * CELL_H_IN + 2 * PAD_IN
    fig = new_figure(width, height)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    family = list(label_fonts()[0])
    ax.text(width / 2, PAD_IN, "\n".join(lines), ha="center", va="top", fontsize=TITLE_FONT, parse_math=False)
    top = PAD_IN + title_h
    x0 = PAD_IN + STEP_W_IN
    headings = [f"#{n}" for n in range(1, 6)] + (["drawn"] if columns == 6 else [])
    ax.text(PAD_IN, top + CELL_H_IN / 2, "step", ha="left", va="center", fontsize=LABEL_FONT, color="#444444")
    for c, heading in enumerate(headings):
        ax.text(x0 + (c + 0.5) * CELL_W_IN, top + CELL_H_IN / 2, heading, ha="center", va="center",
                fontsize=LABEL_FONT, color="#444444")
    for r, row in enumerate(rows):
        y = top + (r + 1) * CELL_H_IN
        ax.text(PAD_IN, y + CELL_H_IN / 2, str(r + 1), ha="left", va="center", fontsize=LABEL_FONT)
        cells = list(zip(row.names, row.probabilities, strict=True))
        if row.chosen_at is None:
            cells.append((row.chosen, row.chosen_probability))
        labels = drawn_labels([name for name, _ in cells], 12)
        for c, ((_, p), label) in enumerate(zip(cells, labels, strict=True)):
            x = x0 + c * CELL_W_IN
            outside = c == 5
            ax.add_patch(Rectangle((x + 0.03, y + 0.03), CELL_W_IN - 0.06, CELL_H_IN - 0.06, facecolor="#f4f4f4",
                                   edgecolor="none"))
            ax.add_patch(Rectangle((x + 0.03, y + 0.03), (CELL_W_IN - 0.06) * max(0.0, min(1.0, p)),
                                   CELL_H_IN - 0.06, facecolor=OUTSIDE_FILL if outside else BAR, edgecolor="none"))
            chosen = c == row.chosen_at or outside
            if chosen:
                ax.add_patch(Rectangle((x + 0.03, y + 0.03), CELL_W_IN - 0.06, CELL_H_IN - 0.06, facecolor="none",
                                       edgecolor=CHOSEN_EDGE, linewidth=1.8))
            ax.text(x + 0.08, y + CELL_H_IN / 2, f"{label}  {p:.3f}", ha="left", va="center", fontsize=LABEL_FONT,
                    family=family, fontweight="bold" if chosen else "normal", parse_math=False)
    return figure_to_png(fig)
