"""Tokens as coloured boxes flowing like text: the layout /compare and "which words mattered" share.

Each row of the picture is a titled block of boxes, one box per token, wrapped at the picture's
width like words on a page (tiktokenizer's coloured spans). Each box has its own fill, an optional
dashed edge (a special token) and an optional small note under it (a score). Box widths come from
the per-character width table of `core.render.fonts`, so the layout needs no drawing pass; tokens
are drawn with `drawn_labels` (characters the font lacks become `U+XXXX`, long tokens are cut).

Only matplotlib's object API on Agg (`core.render.style.new_figure`), never pyplot; this module is
imported on the first picture only, like the heatmaps.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from matplotlib.patches import FancyBboxPatch

from core.render.fonts import drawn_labels, label_fonts, text_width_pt, wrap_title
from core.render.style import DPI, TITLE_FONT, figure_to_png, new_figure

WIDTH_PT = 640.0
MARGIN_PT = 12.0
TOKEN_FONT = 10.0
NOTE_FONT = 7.5
BOX_PAD_PT = 3.0
GAP_PT = 3.0
LINE_PT = TOKEN_FONT * 1.6
NOTE_PT = NOTE_FONT * 1.5
ROW_TITLE_FONT = 10.0
MAX_BOXES = 240
"""Boxes drawn per row at most; the row's title says how many more there were."""
MAX_TOKEN_CHARS = 16


@dataclass(frozen=True)
class Row:
    """One block of the picture: a title and its tokens."""

    title: str
    tokens: Sequence[str]
    fills: Sequence[str]
    special: Sequence[bool] = ()
    """Tokens drawn with a dashed edge and grey text: added by the tokenizer, not typed."""
    notes: Sequence[str] = ()
    """A small text under each box (a score), or nothing."""
    text_colours: Sequence[str] = field(default=())


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    width: float
    index: int


def _layout(labels: list[str], top: float, notes: Sequence[str]) -> tuple[list[_Box], float]:
    """Boxes placed left to right, wrapping at the width; returns them and the y below the last line.
    A box is as wide as its token, or as its note when that is wider."""
    line = LINE_PT + (NOTE_PT if notes else 0.0) + GAP_PT
    x, y, boxes = MARGIN_PT, top, []
    for i, text in enumerate(labels):
        note = text_width_pt(notes[i], NOTE_FONT) if notes else 0.0
        width = max(text_width_pt(text, TOKEN_FONT), note) + 2 * BOX_PAD_PT
        if x + width > WIDTH_PT - MARGIN_PT and x > MARGIN_PT:
            x, y = MARGIN_PT, y + line
        boxes.append(_Box(x, y, width, i))
        x += width + GAP_PT
    return boxes, y + line


def render_rows(rows: Sequence[Row], *, title: str, footer: str = "") -> bytes:
    """PNG of the rows one under the other, with a title on top and an optional footer (a legend)."""
    family = list(label_fonts()[0])
    title_lines = wrap_title(title, WIDTH_PT - 2 * MARGIN_PT, TITLE_FONT)
    y = MARGIN_PT + len(title_lines) * TITLE_FONT * 1.4
    placed = []
    for row in rows:
        shown = list(row.tokens[:MAX_BOXES])
        labels = drawn_labels(shown, MAX_TOKEN_CHARS)
        more = len(row.tokens) - len(shown)
        heading = row.title + (f" (first {len(shown)} drawn, {more} more)" if more else "")
        y += ROW_TITLE_FONT * 1.8
        boxes, bottom = _layout(labels, y, list(row.notes[:MAX_BOXES]))
        placed.append((row, heading, y, labels, boxes))
        y = bottom + GAP_PT * 2
    height = y + (NOTE_FONT * 3 if footer else 0.0) + MARGIN_PT
    fig = new_figure(WIDTH_PT / 72.0, height / 72.0)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, WIDTH_PT)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    for n, line in enumerate(title_lines):
        ax.text(WIDTH_PT / 2, MARGIN_PT + n * TITLE_FONT * 1.4, line, ha="center", va="top",
                fontsize=TITLE_FONT, parse_math=False)
    for row, heading, top, labels, boxes in placed:
        ax.text(MARGIN_PT, top - ROW_TITLE_FONT * 0.5, heading, ha="left", va="bottom", fontsize=ROW_TITLE_FONT,
                fontweight="bold", family=family, parse_math=False)
        _draw_boxes(ax, row, labels, boxes, family)
    if footer:
        ax.text(MARGIN_PT, height - MARGIN_PT, footer, ha="left", va="bottom", fontsize=NOTE_FONT,
                color="#444444", parse_math=False)
    return figure_to_png(fig)


def _draw_boxes(ax, row: Row, labels: list[str], boxes: list[_Box], family: list[str]) -> None:
    special = list(row.special) or [False] * len(labels)
    colours = list(row.text_colours) or ["#111111"] * len(labels)
    for box in boxes:
        i = box.index
        ax.add_patch(FancyBboxPatch((box.x, box.y), box.width, LINE_PT - 2, boxstyle="round,pad=0,rounding_size=2",
                                    facecolor=row.fills[i], edgecolor="#777777" if special[i] else "none",
                                    linestyle="--" if special[i] else "-", linewidth=0.8))
        ax.text(box.x + box.width / 2, box.y + (LINE_PT - 2) / 2, labels[i], ha="center", va="center",
                fontsize=TOKEN_FONT, color="#666666" if special[i] else colours[i], family=family, parse_math=False)
        if row.notes:
            ax.text(box.x + box.width / 2, box.y + LINE_PT, row.notes[i], ha="center", va="top", fontsize=NOTE_FONT,
                    color="#333333", parse_math=False)


__all__ = ["DPI", "MAX_BOXES", "Row", "render_rows"]
