"""Numbers on a heatmap: the colour bar and the weights written into the cells of small maps.

Both are drawn more cheaply than matplotlib's own: the cell values are one collection of cached
glyph outlines instead of n*n Text artists (one draw call instead of n*n text layouts), and the
colour bar is a gradient image with a few labels, without the Axis and Tick machinery of
`fig.colorbar` (about a fifth of a single-head render). Both can be re-targeted to new data, which
is what lets a head figure be reused.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Rectangle
from matplotlib.path import Path
from matplotlib.textpath import TextPath
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Affine2D, offset_copy

from core.render.fonts import text_width_pt
from core.render.style import CMAP, LABEL_FONT, TEXT_ON_CELL

CBAR_W_IN = 0.18
CBAR_GAP_IN = 0.15
CBAR_TEXT_IN = (3 + text_width_pt("0.00", LABEL_FONT - 1) + 4 + (LABEL_FONT - 1) * 1.3 + 2) / 72.0
"""Room right of the bar: tick labels like "0.25", a gap, and the rotated "attention weight"."""

_VALUE_PROP = FontProperties()
_GRADIENT = np.linspace(0.0, 1.0, 256)[:, None]


@lru_cache(maxsize=4096)
def _value_path(s: str) -> Path:
    """Outline of `s` at font size 1, centred on (0, 0) (cached and read-only)."""
    tp = TextPath((0, 0), s, size=1, prop=_VALUE_PROP)
    ext = tp.get_extents()
    return Path(tp.vertices - [(ext.x0 + ext.x1) / 2.0, (ext.y0 + ext.y1) / 2.0], tp.codes, readonly=True)


def annotate_cells(ax: Axes, w: np.ndarray, norm: Normalize, size: float) -> PathCollection:
    """Each cell's value, dark or light to contrast with the cell, in one collection (gid "cell-values")."""
    n = w.shape[0]
    q, k = np.divmod(np.arange(n * n), n)
    coll = PathCollection([], offsets=np.column_stack([k, q]).astype(float), offset_transform=ax.transData,
                          edgecolors="none", linewidths=0, zorder=3,
                          transform=Affine2D().scale(size * ax.figure.dpi / 72.0))
    coll.set_gid("cell-values")
    ax.add_artist(coll)
    set_cell_values(coll, w, norm)
    return coll


def set_cell_values(coll: PathCollection, w: np.ndarray, norm: Normalize) -> None:
    """Write `w` into the cells; the strings are kept as the label, joined by "\\x1f", for tests."""
    strings = [f"{v:.2f}" for v in w.ravel()]
    coll.set_paths([_value_path(t) for t in strings])
    idx = np.clip((norm(w) * (CMAP.N - 1)).astype(int), 0, CMAP.N - 1).ravel()
    coll.set_facecolor(TEXT_ON_CELL[idx])
    coll.set_label("\x1f".join(strings))


class Colorbar:
    """A gradient with up to eight value labels and a title; its axes has gid "colorbar"."""

    MAX_TICKS = 8

    def __init__(self, fig: Figure, rect: list[float]) -> None:
        cax = fig.add_axes(rect)
        cax.set_gid("colorbar")
        cax.set_axis_off()
        self.ax = cax
        self.image = cax.imshow(_GRADIENT, cmap=CMAP, aspect="auto", origin="lower",
                                extent=(0.0, 1.0, 0.0, 1.0), interpolation="nearest")
        cax.set_xlim(0.0, 1.0)
        cax.add_patch(Rectangle((0.0, 0.0), 1.0, 1.0, transform=cax.transAxes, fill=False,
                                linewidth=0.5, edgecolor="#333333"))
        size = LABEL_FONT - 1
        trans = offset_copy(cax.get_yaxis_transform(), fig=fig, x=3.0, units="points")
        self.ticks = [cax.text(1.0, 0.0, "", transform=trans, fontsize=size, ha="left", va="center",
                               visible=False) for _ in range(self.MAX_TICKS)]
        label_x = offset_copy(cax.transAxes, fig=fig, x=3.0 + text_width_pt("0.00", size) + 4.0, units="points")
        cax.text(1.0, 0.5, "attention weight", transform=label_x, fontsize=size, rotation=90,
                 ha="left", va="center")

    def update(self, norm: Normalize, rect: list[float] | None = None) -> None:
        """Show the scale of `norm`, optionally at a new place (figure reuse)."""
        if rect is not None:
            self.ax.set_position(rect)
        lo, hi = norm.vmin, norm.vmax
        self.image.set_extent((0.0, 1.0, lo, hi))
        self.ax.set_ylim(lo, hi)
        values = [v for v in MaxNLocator(nbins=5, steps=[1, 2, 5, 10]).tick_values(lo, hi)
                  if lo - 1e-12 <= v <= hi + 1e-12][: self.MAX_TICKS]
        for i, t in enumerate(self.ticks):
            t.set_visible(i < len(values))
            if i < len(values):
                t.set_position((1.0, values[i]))
                t.set_text(f"{values[i]:.2f}".rstrip("0").rstrip(".") if values[i] else "0")


def colorbar(fig: Figure, norm: Normalize, rect: list[float]) -> Colorbar:
    cb = Colorbar(fig, rect)
    cb.update(norm)
    return cb
