"""What every heatmap shares: sizes, the colour map, the colour scale and the PNG writer.

Everything is built once at import (this module is imported on the first picture, never at start,
so matplotlib and seaborn cost nothing to a process that draws none) and only read afterwards, so
worker threads can share it. Only matplotlib's object API on the Agg backend is used (`Figure` and
`FigureCanvasAgg`), never pyplot: no global figure registry, no current figure.
"""
from __future__ import annotations

from io import BytesIO

import numpy as np
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize, to_rgba_array
from matplotlib.figure import Figure

DPI = 100
ANNOTATE_MAX_TOKENS = 16
"""Cell values are written into single-head maps up to this many tokens, never into grids."""
PNG_COMPRESS_LEVEL = 1
"""zlib level 1 encodes several times faster than 6 and is barely larger for flat colours."""

MIN_FONT = 6.0
TICK_FONT_MAX = 10.0
TITLE_FONT = 11.0
LABEL_FONT = 9.0
SUBTITLE_FONT = 8.0
TEXT_COLOUR = "#000000"
NOOP_COLOUR = "#8c8c8c"
"""Labels of no-op tokens (`[CLS]`, `[SEP]`...) are grey: the tables leave them out."""

TICK_PAD_PT = 3.0
TICK_GAP_PT = 6.0  # label pad plus a little slack
PAD_IN = 0.12

CMAP = sns.color_palette("rocket", as_cmap=True)
CMAP(0.5)  # build the lazy lookup table now, not racily in a worker


def _text_on_cells() -> np.ndarray:
    """For each colour map entry, dark or white text, whichever contrasts (WCAG relative luminance)."""
    lut = np.asarray(CMAP(np.linspace(0.0, 1.0, CMAP.N)))[:, :3]
    linear = np.where(lut <= 0.04045, lut / 12.92, ((lut + 0.055) / 1.055) ** 2.4)
    luminance = linear @ np.array([0.2126, 0.7152, 0.0722])
    return np.where((luminance > 0.179)[:, None], to_rgba_array(["#111111"]), to_rgba_array(["#ffffff"]))


TEXT_ON_CELL = _text_on_cells()


def limits(w: np.ndarray) -> tuple[float, float]:
    """The colour scale: from min(0, smallest) to the largest weight drawn, so weak heads still show."""
    lo, hi = min(0.0, float(w.min())), float(w.max())
    return lo, (hi if hi > lo else lo + 1.0)


def norm_for(w: np.ndarray) -> Normalize:
    lo, hi = limits(w)
    return Normalize(vmin=lo, vmax=hi)


def new_figure(width_in: float, height_in: float) -> Figure:
    fig = Figure(figsize=(width_in, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def figure_to_png(fig: Figure) -> bytes:
    """Render `fig` with Agg as PNG bytes (zlib level 1, no metadata)."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    buf = BytesIO()
    canvas.print_png(buf, metadata={"Software": None}, pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
    return buf.getvalue()
