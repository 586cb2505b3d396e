"""Attention heatmaps as PNG bytes, plus plain-language summaries of them.

Everything here is a pure function that is safe to call from worker threads:
only matplotlib's object API on the Agg backend is used (``Figure`` +
``FigureCanvasAgg``), never ``pyplot``, so no global figure registry or
current-figure state is touched.  Each call builds its own ``Figure``, prints
it to an in-memory PNG and drops it.

Conventions (the same for every function):

* ``weights[q, k]`` is how much query token ``q`` (the row, the token that is
  *attending*) attends to key token ``k`` (the column, the token *attended
  to*).  Rows of a softmaxed attention map sum to 1.
* The colour scale runs from ``min(0, weights.min())`` to ``weights.max()``
  of the data being drawn (shared by all panels of a grid / overview, with one
  colour bar), so weak heads are not washed out while panels stay comparable.
* Tokens are drawn as given (``##`` subword marks kept); very long ones are cut
  with an ellipsis, control characters are escaped, and ``$`` is never taken
  as mathtext.  Characters the label font cannot draw (e.g. CJK without a CJK
  font installed) are drawn as ``U+XXXX`` markers rather than empty boxes; the
  plain-language summaries keep the original text.

Layout uses fixed margins computed from the label sizes (measured with a
per-character width table built once at import) instead of ``tight_layout`` or
constrained layout, which would each cost an extra layout pass per call.

Lower-level ``build_*_figure`` functions return the unrendered ``Figure`` so
tests (or callers wanting another format) can inspect it.
"""
from __future__ import annotations

import math
import re
import textwrap
from bisect import bisect_right
from functools import lru_cache
from io import BytesIO
from itertools import accumulate
from typing import Sequence

import numpy as np
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize, to_rgba_array
from matplotlib.figure import Figure
from matplotlib.collections import PathCollection
from matplotlib.font_manager import FontProperties, findfont, fontManager, get_font
from matplotlib.patches import Rectangle
from matplotlib.path import Path
from matplotlib.textpath import TextPath, TextToPath
from matplotlib.ticker import MaxNLocator

from core.render.cache import PerThreadCache
from matplotlib.transforms import Affine2D, offset_copy

__all__ = [
    "ANNOTATE_MAX_TOKENS",
    "DPI",
    "SPECIAL_TOKENS",
    "alt_text",
    "build_grid_figure",
    "build_head_figure",
    "build_overview_figure",
    "figure_to_png",
    "focus_per_token",
    "is_special_token",
    "render_grid",
    "render_head",
    "render_overview",
    "strongest_links",
]

# --------------------------------------------------------------------------
# Set-up shared by every call (built once at import, read-only afterwards).
# --------------------------------------------------------------------------

DPI = 100
#: Cell values are written into the cells of a single-head map up to this many
#: tokens (13 = a short BERT sentence with [CLS]/[SEP]); never in grids.
ANNOTATE_MAX_TOKENS = 16
#: Tokens longer than this many characters are cut with an ellipsis.
MAX_LABEL_CHARS = 12
#: zlib level for the PNG: 1 is several times faster to encode than the
#: default 6 and only slightly larger for these flat-colour images.
PNG_COMPRESS_LEVEL = 1

MIN_FONT = 6.0
TICK_FONT_MAX = 10.0
TITLE_FONT = 11.0
LABEL_FONT = 9.0
SUBTITLE_FONT = 8.0

CMAP = sns.color_palette("rocket", as_cmap=True)
CMAP(0.5)  # force the lazy LUT initialisation now, not racily in a worker
_LUT = np.asarray(CMAP(np.linspace(0.0, 1.0, CMAP.N)))
# Relative luminance (sRGB, WCAG) of every colormap entry -> text colour that
# contrasts with the cell: dark text on light cells, white on dark ones.
_lin = np.where(_LUT[:, :3] <= 0.04045, _LUT[:, :3] / 12.92, ((_LUT[:, :3] + 0.055) / 1.055) ** 2.4)
_LUMINANCE = _lin @ np.array([0.2126, 0.7152, 0.0722])
_TEXT_ON_CELL = np.where(
    (_LUMINANCE > 0.179)[:, None], to_rgba_array(["#111111"]), to_rgba_array(["#ffffff"])
)
del _lin

_PNG_KWARGS = {"compress_level": PNG_COMPRESS_LEVEL}
_PNG_METADATA = {"Software": None}


def _char_width_table() -> dict[str, float]:
    """Advance width in em of each printable ASCII character in the default font."""
    ttp = TextToPath()
    prop = FontProperties(size=100)
    return {
        c: ttp.get_text_width_height_descent(c, prop, ismath=False)[0] / 100.0
        for c in map(chr, range(32, 127))
    }


_CHAR_EM = _char_width_table()
_VALUE_PROP = FontProperties()
_WIDE_EM = 1.0  # non-ASCII: assume a full em (CJK from a fallback font, symbols)


def _text_width_pt(s: str, size: float) -> float:
    """Width in points of ``s`` at font ``size`` (kerning ignored: slight overestimate)."""
    return size * sum(_CHAR_EM.get(c, _WIDE_EM) for c in s)


# --------------------------------------------------------------------------
# Tokens and validation
# --------------------------------------------------------------------------

SPECIAL_TOKENS = frozenset(
    {
        "[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]",
        "<s>", "</s>", "<pad>", "<unk>", "<mask>", "<bos>", "<eos>",
        "<|endoftext|>", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>",
    }
)
_SPECIAL_RE = re.compile(r"^(\[[A-Z_]+\]|<\|[^|<>\s]+\|>|<extra_id_\d+>)$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def is_special_token(token: str) -> bool:
    """True for tokenizer bookkeeping tokens such as ``[CLS]``, ``</s>``, ``<pad>``.

    Besides :data:`SPECIAL_TOKENS` this matches any ``[UPPER_CASE]``,
    ``<|name|>`` and ``<extra_id_N>`` token.
    """
    t = token.strip()
    return t in SPECIAL_TOKENS or bool(_SPECIAL_RE.match(t))


#: Fonts with CJK coverage used, the first one matplotlib knows, as a fallback
#: family for token labels.  Optional: none is required or downloaded.
CJK_FALLBACK_FAMILIES = (
    "Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK KR",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback", "AR PL UMing CN",
)


@lru_cache(maxsize=None)
def _label_fonts() -> tuple[tuple[str, ...], frozenset[int]]:
    """Font families for token labels, and the code points those fonts can draw.

    Tokens come from the learner's text, so they may hold characters (CJK,
    emoji) that the default font lacks; matplotlib would draw them as identical
    empty boxes and warn.  Coverage is read from the character maps of the
    fonts matplotlib picks for the labels' properties (default ones plus a CJK
    fallback family if one is installed).  Built on first use, then only read:
    safe to share between threads.
    """
    installed = {entry.name for entry in fontManager.ttflist}
    families = list(FontProperties().get_family())
    families += [f for f in CJK_FALLBACK_FAMILIES if f in installed][:1]
    glyphs: set[int] = set()
    for family in families:
        glyphs.update(get_font(findfont(FontProperties(family=[family]))).get_charmap())
    return tuple(families), frozenset(glyphs)


def _label(token: str, max_chars: int = MAX_LABEL_CHARS, glyphs: frozenset[int] | None = None) -> str:
    """Display form of a token: control chars escaped, long tokens cut with '…'.

    With ``glyphs`` (the code points the font can draw), any other character is
    written as a ``U+XXXX`` marker, and the cut never splits a marker.
    """
    s = _CONTROL_RE.sub(lambda m: repr(m.group())[1:-1], str(token))
    if s == "":
        s = "''"
    parts = s if glyphs is None else [c if ord(c) in glyphs else f"U+{ord(c):04X}" for c in s]
    text = "".join(parts)
    if len(text) > max_chars:  # cut between whole characters / markers
        keep = bisect_right(list(accumulate(map(len, parts))), max_chars - 1)
        text = "".join(parts[:keep]) + "\u2026"
    return text


def _drawn_labels(tokens: Sequence[str], max_chars: int = MAX_LABEL_CHARS) -> list[str]:
    """Token labels as drawn in the image (measure these, not the raw tokens)."""
    glyphs = _label_fonts()[1]
    return [_label(t, max_chars, glyphs) for t in tokens]


def _quote(token: str, max_chars: int = 20) -> str:
    return "'" + _label(token, max_chars) + "'"


def _validate(tokens: Sequence[str], weights: np.ndarray, ndim: int, what: str) -> np.ndarray:
    """Return ``weights`` as a float array after checking its shape against ``tokens``."""
    if isinstance(tokens, str) or not isinstance(tokens, Sequence):
        raise ValueError(f"tokens must be a list of strings, got {type(tokens).__name__}")
    n = len(tokens)
    if n == 0:
        raise ValueError("tokens must not be empty")
    try:
        w = np.asarray(weights, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"weights must be numeric: {exc}") from None
    if w.ndim != ndim:
        raise ValueError(f"{what} expects weights with {ndim} dimensions, got shape {w.shape}")
    if w.shape[-2:] != (n, n):
        raise ValueError(
            f"weights shape {w.shape} does not match {n} tokens (last two dims must be ({n}, {n}))"
        )
    if any(d == 0 for d in w.shape):
        raise ValueError(f"weights shape {w.shape} has an empty dimension")
    if not np.isfinite(w).all():
        raise ValueError("weights contain NaN or infinite values")
    return w


def _limits(w: np.ndarray) -> tuple[float, float]:
    lo = min(0.0, float(w.min()))
    hi = float(w.max())
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def _norm(w: np.ndarray) -> Normalize:
    lo, hi = _limits(w)
    return Normalize(vmin=lo, vmax=hi)


# --------------------------------------------------------------------------
# Layout helpers
# --------------------------------------------------------------------------


def _tick_font_and_step(n: int, side_pt: float) -> tuple[float, int]:
    """Font size for n labels along an axis of ``side_pt`` points, and label stride."""
    cell = side_pt / n
    size = min(TICK_FONT_MAX, max(MIN_FONT, cell * 0.75))
    step = max(1, math.ceil(size * 1.25 / cell))
    return size, step


def _wrap_title(title: str, width_pt: float, size: float) -> list[str]:
    title = _CONTROL_RE.sub(" ", str(title)).strip()
    if not title:
        return []
    avg = _text_width_pt("abcdefghijklmnopqrstuvwxyz ", size) / 27.0
    chars = max(8, int(width_pt / (avg * 1.1)))
    lines = textwrap.wrap(title, chars) or [title]
    if len(lines) > 3:
        lines = lines[:3]
        lines[-1] = lines[-1][: max(1, chars - 1)] + "\u2026"
    return lines


def _token_labels(ax, axis: str, labels: list[str], size: float, step: int, rotation: float = 0) -> list:
    """Token names along the bottom (``axis="x"``) or left (``"y"``) edge of ``ax``.

    Plain Text artists placed at the cell centres: much cheaper than
    matplotlib's Tick machinery (each tick is two lines and two texts), and the
    axes themselves are switched off.
    """
    fig = ax.figure
    family = list(_label_fonts()[0])
    if axis == "x":
        trans = offset_copy(ax.get_xaxis_transform(), fig=fig, y=-_TICK_PAD_PT, units="points")
        return [
            ax.text(i, 0, labels[i], transform=trans, fontsize=size, rotation=rotation,
                    family=family, ha="center", va="top", rotation_mode="default",
                    parse_math=False)
            for i in range(0, len(labels), step)
        ]
    trans = offset_copy(ax.get_yaxis_transform(), fig=fig, x=-_TICK_PAD_PT, units="points")
    return [
        ax.text(0, i, labels[i], transform=trans, fontsize=size, family=family,
                ha="right", va="center", parse_math=False)
        for i in range(0, len(labels), step)
    ]


@lru_cache(maxsize=4096)
def _value_path(s: str) -> Path:
    """Outline of the string ``s`` at font size 1, centred on (0, 0) (cached, read-only)."""
    tp = TextPath((0, 0), s, size=1, prop=_VALUE_PROP)
    ext = tp.get_extents()
    verts = tp.vertices - [(ext.x0 + ext.x1) / 2.0, (ext.y0 + ext.y1) / 2.0]
    path = Path(verts, tp.codes, readonly=True)
    return path


def _annotate_cells(ax, w: np.ndarray, norm: Normalize, size: float) -> PathCollection:
    """Write each cell's value into it, dark or light to contrast with the cell.

    All values go into ONE PathCollection of cached glyph outlines (gid
    ``"cell-values"``) instead of n*n Text artists: one draw call rather than
    n*n text layouts, which is what makes annotated maps fast.  The written
    strings are kept as the collection's label, joined by ``"\\x1f"``.
    """
    n = w.shape[0]
    q, k = np.divmod(np.arange(n * n), n)
    coll = PathCollection(
        [],
        offsets=np.column_stack([k, q]).astype(float),
        offset_transform=ax.transData,
        edgecolors="none",
        linewidths=0,
        transform=Affine2D().scale(size * ax.figure.dpi / 72.0),
        zorder=3,
    )
    coll.set_gid("cell-values")
    ax.add_artist(coll)
    _set_cell_values(coll, w, norm)
    return coll


def _set_cell_values(coll: PathCollection, w: np.ndarray, norm: Normalize) -> None:
    strings = [f"{v:.2f}" for v in w.ravel()]
    coll.set_paths([_value_path(t) for t in strings])
    idx = np.clip((norm(w) * (CMAP.N - 1)).astype(int), 0, CMAP.N - 1).ravel()
    coll.set_facecolor(_TEXT_ON_CELL[idx])
    coll.set_label("\x1f".join(strings))


_TICK_PAD_PT = 3.0
_TICK_GAP_PT = 6.0  # label pad + a little slack
_PAD_IN = 0.12


def _finish_axes(ax) -> None:
    """No spines, ticks or axis labels: labels are drawn as plain text instead."""
    ax.set_axis_off()


def _panel_title(ax, text: str, size: float) -> None:
    """Small title over a panel.  A plain Text, not ``ax.set_title``: the latter
    makes every draw compute the axes' tight bbox (creating ticks), which was
    more than half the cost of drawing a grid."""
    trans = offset_copy(ax.transAxes, fig=ax.figure, y=3.0, units="points")
    ax.text(0.5, 1.0, text, transform=trans, ha="center", va="bottom", fontsize=size, gid="panel-title")


def _axis_titles(fig: Figure, left_in: float, bottom_in: float, w_in: float, h_in: float) -> tuple:
    """What rows and columns mean, centred on the heatmap area (inch coordinates)."""
    texts = (
        fig.text(0, 0, "attended to (key)", ha="center", va="bottom", fontsize=LABEL_FONT),
        fig.text(0, 0, "attending (query)", ha="left", va="center", rotation=90, fontsize=LABEL_FONT),
    )
    fw, fh = fig.get_size_inches()
    _place_axis_titles(texts, left_in, bottom_in, w_in, h_in, fw, fh)
    return texts


def _place_axis_titles(texts: tuple, left_in: float, bottom_in: float, w_in: float, h_in: float,
                       fw: float, fh: float) -> None:
    texts[0].set_position(((left_in + w_in / 2) / fw, _PAD_IN / fh))
    texts[1].set_position((_PAD_IN / fw, (bottom_in + h_in / 2) / fh))


class _Colorbar:
    """A light-weight colour bar: a gradient image plus a few value labels.

    Same look as ``fig.colorbar`` without its Axis/Tick machinery (which cost
    about a fifth of a single-head render).  The axes gets gid ``"colorbar"``.
    :meth:`update` re-targets it to a new normalisation (figure reuse).
    """

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
        self.ticks = [
            cax.text(1.0, 0.0, "", transform=trans, fontsize=size, ha="left", va="center",
                     visible=False)
            for _ in range(self.MAX_TICKS)
        ]
        label_x = offset_copy(cax.transAxes, fig=fig, x=3.0 + _text_width_pt("0.00", size) + 4.0,
                              units="points")
        cax.text(1.0, 0.5, "attention weight", transform=label_x, fontsize=size, rotation=90,
                 ha="left", va="center")

    def update(self, norm: Normalize, rect: list[float] | None = None) -> None:
        if rect is not None:
            self.ax.set_position(rect)
        lo, hi = norm.vmin, norm.vmax
        self.image.set_extent((0.0, 1.0, lo, hi))
        self.ax.set_ylim(lo, hi)
        values = [v for v in MaxNLocator(nbins=5, steps=[1, 2, 5, 10]).tick_values(lo, hi)
                  if lo - 1e-12 <= v <= hi + 1e-12][: self.MAX_TICKS]
        for i, t in enumerate(self.ticks):
            if i < len(values):
                v = values[i]
                t.set_position((1.0, v))
                t.set_text(f"{v:.2f}".rstrip("0").rstrip(".") if v else "0")
                t.set_visible(True)
            else:
                t.set_visible(False)


def _colorbar(fig: Figure, norm: Normalize, rect: list[float]) -> _Colorbar:
    cb = _Colorbar(fig, rect)
    cb.update(norm)
    return cb


_GRADIENT = np.linspace(0.0, 1.0, 256)[:, None]


_CBAR_W_IN = 0.18
_CBAR_GAP_IN = 0.15
# tick labels like "0.25" + gap + rotated "attention weight" label
_CBAR_TEXT_IN = (3 + _text_width_pt("0.00", LABEL_FONT - 1) + 4 + (LABEL_FONT - 1) * 1.3 + 2) / 72.0


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------


class _HeadFigure:
    """A single-head figure for maps of ``n`` tokens that can be redrawn with new data.

    Creating a Figure, its Axes and ~40 Text artists is a good part of a render's cost, so
    :func:`render_head` reuses these from the caller's per-thread cache (a figure is never
    shared between threads) and only swaps data, strings and layout.
    :func:`build_head_figure` uses the same class on a fresh instance.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.side_in = min(max(n * 0.42, 1.6), 10.0)
        side_pt = self.side_in * 72.0
        self.size, self.step = _tick_font_and_step(n, side_pt)
        self.cell_pt = side_pt / n
        self.annotate = n <= ANNOTATE_MAX_TOKENS and self.cell_pt >= 20.0
        self.value_size = min(9.0, max(MIN_FONT, self.cell_pt * 0.3))

        fig = Figure(figsize=(6.0, 6.0), dpi=DPI)
        FigureCanvasAgg(fig)
        self.fig = fig
        ax = fig.add_axes([0.1, 0.1, 0.6, 0.6])
        self.ax = ax
        self.norm = Normalize(0.0, 1.0)
        self.image = ax.imshow(np.zeros((n, n)), cmap=CMAP, norm=self.norm,
                               interpolation="nearest", aspect="auto")
        _finish_axes(ax)
        self.xlabels = _token_labels(ax, "x", [""] * n, self.size, self.step, 0)
        self.ylabels = _token_labels(ax, "y", [""] * n, self.size, self.step)
        self.axis_titles = _axis_titles(fig, 0.0, 0.0, 1.0, 1.0)
        self.values = _annotate_cells(ax, np.zeros((n, n)), self.norm, self.value_size) if self.annotate else None
        self.colorbar = _Colorbar(fig, [0.8, 0.1, 0.05, 0.6])
        self.title = fig.text(0.5, 1.0, "", ha="center", va="top", fontsize=TITLE_FONT,
                              parse_math=False)

    def update(self, tokens: Sequence[str], w: np.ndarray, title: str) -> Figure:
        n, side_in, size, step = self.n, self.side_in, self.size, self.step
        labels = _drawn_labels(tokens)
        shown = labels[::step]
        max_w = max(_text_width_pt(s, size) for s in shown)
        x_rot = 0 if max_w <= self.cell_pt * step * 0.9 else 90
        x_text_h = (size * 1.3) if x_rot == 0 else max_w

        left_in = (max_w + _TICK_GAP_PT + LABEL_FONT * 1.6) / 72.0 + _PAD_IN
        bottom_in = (x_text_h + _TICK_GAP_PT + LABEL_FONT * 1.6) / 72.0 + _PAD_IN
        right_in = _CBAR_GAP_IN + _CBAR_W_IN + _CBAR_TEXT_IN + _PAD_IN
        body_w_in = left_in + side_in + right_in
        fig_w_in = max(body_w_in, 3.5)
        title_lines = _wrap_title(title, fig_w_in * 72.0 - 2 * _PAD_IN * 72.0, TITLE_FONT)
        top_in = (len(title_lines) * TITLE_FONT * 1.3 + 8) / 72.0 + _PAD_IN
        fig_h_in = bottom_in + side_in + top_in
        left_in += (fig_w_in - body_w_in) / 2.0  # centre when the minimum width kicks in

        fig = self.fig
        fig.set_size_inches(fig_w_in, fig_h_in, forward=False)
        self.ax.set_position(
            [left_in / fig_w_in, bottom_in / fig_h_in, side_in / fig_w_in, side_in / fig_h_in])
        lo, hi = _limits(w)
        self.norm.vmin, self.norm.vmax = lo, hi
        self.image.set_data(w)
        for text, i in zip(self.xlabels, range(0, n, step)):
            text.set_text(labels[i])
            text.set_rotation(x_rot)
        for text, i in zip(self.ylabels, range(0, n, step)):
            text.set_text(labels[i])
        _place_axis_titles(self.axis_titles, left_in, bottom_in, side_in, side_in, fig_w_in, fig_h_in)
        if self.values is not None:
            _set_cell_values(self.values, w, self.norm)
        x0 = (left_in + side_in + _CBAR_GAP_IN) / fig_w_in
        self.colorbar.update(
            self.norm, [x0, bottom_in / fig_h_in, _CBAR_W_IN / fig_w_in, side_in / fig_h_in])
        self.title.set_text("\n".join(title_lines))
        self.title.set_y(1.0 - (_PAD_IN * 0.6) / fig_h_in)
        return fig


def build_head_figure(tokens: Sequence[str], weights: np.ndarray, *, title: str) -> Figure:
    """Figure for one head: ``weights`` (n, n), rows = query (attending), cols = key.

    Always a new Figure (callers may keep or modify it).
    """
    w = _validate(tokens, weights, 2, "render_head")
    return _HeadFigure(w.shape[0]).update(tokens, w, title)




def _grid_shape(count: int) -> tuple[int, int]:
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    return rows, cols


def build_grid_figure(tokens: Sequence[str], weights: np.ndarray, *, title: str) -> Figure:
    """Figure with one small heatmap per head: ``weights`` (heads, n, n).

    Near-square grid (12 heads -> 3 rows x 4 columns), "head i" over each
    panel, token labels only on the left column and under the lowest panel of
    each column, one shared colour scale and colour bar, no cell values.
    """
    w = _validate(tokens, weights, 3, "render_grid")
    heads, n = w.shape[0], w.shape[1]
    rows, cols = _grid_shape(heads)
    labels = _drawn_labels(tokens)

    panel_in = min(max(n * 0.16, 1.5), 3.2)
    panel_pt = panel_in * 72.0
    size, step = _tick_font_and_step(n, panel_pt)
    size = min(size, 8.0)
    show_tokens = panel_pt / n * step >= size * 1.2
    shown = labels[::step]
    max_w = max(_text_width_pt(s, size) for s in shown) if show_tokens else 0.0
    cell_pt = panel_pt / n
    x_rot = 0 if max_w <= cell_pt * step * 0.9 else 90
    x_text_h = ((size * 1.3) if x_rot == 0 else max_w) if show_tokens else 0.0

    gap_x_in = 0.15
    sub_in = (SUBTITLE_FONT * 1.4 + 3) / 72.0
    gap_y_in = sub_in + 0.08
    left_in = (max_w + _TICK_GAP_PT + LABEL_FONT * 1.6) / 72.0 + _PAD_IN
    # The x labels hang under the lowest panel of each column.  When the last
    # row is incomplete they hang into the empty slot below, which is at least
    # a panel high; otherwise the bottom margin holds them.
    bottom_in = (x_text_h + _TICK_GAP_PT + LABEL_FONT * 1.6) / 72.0 + _PAD_IN
    right_in = _CBAR_GAP_IN + _CBAR_W_IN + _CBAR_TEXT_IN + _PAD_IN
    grid_w_in = cols * panel_in + (cols - 1) * gap_x_in
    grid_h_in = rows * panel_in + (rows - 1) * gap_y_in
    body_w_in = left_in + grid_w_in + right_in
    fig_w_in = max(body_w_in, 3.5)
    title_lines = _wrap_title(title, fig_w_in * 72.0 - 2 * _PAD_IN * 72.0, TITLE_FONT)
    top_in = (len(title_lines) * TITLE_FONT * 1.3 + 8) / 72.0 + _PAD_IN + sub_in
    fig_h_in = bottom_in + grid_h_in + top_in
    left_in += (fig_w_in - body_w_in) / 2.0

    fig = Figure(figsize=(fig_w_in, fig_h_in), dpi=DPI)
    FigureCanvasAgg(fig)
    norm = _norm(w)
    last_row_of_col = [max(r for r in range(rows) if r * cols + c < heads) for c in range(cols)]
    for h in range(heads):
        r, c = divmod(h, cols)
        x = left_in + c * (panel_in + gap_x_in)
        y = bottom_in + (rows - 1 - r) * (panel_in + gap_y_in)
        ax = fig.add_axes([x / fig_w_in, y / fig_h_in, panel_in / fig_w_in, panel_in / fig_h_in])
        ax.imshow(w[h], cmap=CMAP, norm=norm, interpolation="nearest", aspect="auto")
        _panel_title(ax, f"head {h}", SUBTITLE_FONT)
        _finish_axes(ax)
        if show_tokens and c == 0:
            _token_labels(ax, "y", labels, size, step)
        if show_tokens and r == last_row_of_col[c]:
            _token_labels(ax, "x", labels, size, step, x_rot)
    _colorbar(
        fig, norm,
        [(left_in + grid_w_in + _CBAR_GAP_IN) / fig_w_in, bottom_in / fig_h_in,
         _CBAR_W_IN / fig_w_in, grid_h_in / fig_h_in],
    )
    _axis_titles(fig, left_in, bottom_in, grid_w_in, grid_h_in)
    if title_lines:
        fig.text(
            0.5, 1.0 - (_PAD_IN * 0.6) / fig_h_in, "\n".join(title_lines),
            ha="center", va="top", fontsize=TITLE_FONT, parse_math=False,
        )
    return fig


def build_overview_figure(tokens: Sequence[str], weights: np.ndarray, *, title: str) -> Figure:
    """Figure with layers x heads small multiples: ``weights`` (layers, heads, n, n).

    Rows are layers ("layer i" on the left edge), columns heads ("head j" on
    the top edge).  Token labels appear only on the left column and bottom row,
    and are omitted when the panels are too small to read them.
    """
    w = _validate(tokens, weights, 4, "render_overview")
    layers, heads, n = w.shape[0], w.shape[1], w.shape[2]
    labels = _drawn_labels(tokens, 10)

    # Panels shrink as the grid grows, so a 12 x 12 model stays ~10 inches wide.
    panel_in = min(1.6, max(0.45, 10.0 / max(heads, layers)))
    panel_pt = panel_in * 72.0
    size = MIN_FONT
    show_tokens = panel_pt / n >= size * 1.25
    max_w = max(_text_width_pt(s, size) for s in labels) if show_tokens else 0.0
    x_text_h = max_w

    gap_in = 0.04
    row_label_w = _text_width_pt(f"layer {layers - 1}", LABEL_FONT) + 4
    col_label_h = LABEL_FONT * 1.4 + 3
    row_pad_in = ((max_w + _TICK_GAP_PT) if show_tokens else 4.0) / 72.0
    left_in = row_label_w / 72.0 + row_pad_in + _PAD_IN
    bottom_in = (x_text_h + _TICK_GAP_PT if show_tokens else 0) / 72.0 + _PAD_IN
    right_in = _CBAR_GAP_IN + _CBAR_W_IN + _CBAR_TEXT_IN + _PAD_IN
    grid_w_in = heads * panel_in + (heads - 1) * gap_in
    grid_h_in = layers * panel_in + (layers - 1) * gap_in
    body_w_in = left_in + grid_w_in + right_in
    fig_w_in = max(body_w_in, 4.0)
    title_lines = _wrap_title(title, fig_w_in * 72.0 - 2 * _PAD_IN * 72.0, TITLE_FONT)
    note = f"rows attend to columns; {n} tokens" + ("" if show_tokens else " (labels omitted)")
    top_in = (len(title_lines) * TITLE_FONT * 1.3 + LABEL_FONT * 1.4 + 8 + col_label_h) / 72.0 + _PAD_IN
    fig_h_in = bottom_in + grid_h_in + top_in
    left_in += (fig_w_in - body_w_in) / 2.0

    fig = Figure(figsize=(fig_w_in, fig_h_in), dpi=DPI)
    FigureCanvasAgg(fig)
    norm = _norm(w)
    for li in range(layers):
        for hi in range(heads):
            x = left_in + hi * (panel_in + gap_in)
            y = bottom_in + (layers - 1 - li) * (panel_in + gap_in)
            ax = fig.add_axes([x / fig_w_in, y / fig_h_in, panel_in / fig_w_in, panel_in / fig_h_in])
            ax.imshow(w[li, hi], cmap=CMAP, norm=norm, interpolation="nearest", aspect="auto")
            _finish_axes(ax)
            if show_tokens and hi == 0:
                _token_labels(ax, "y", labels, size, 1)
            if show_tokens and li == layers - 1:
                _token_labels(ax, "x", labels, size, 1, 90)
            if li == 0:
                _panel_title(ax, f"head {hi}", LABEL_FONT)
            if hi == 0:
                fig.text((left_in - row_pad_in) / fig_w_in, (y + panel_in / 2) / fig_h_in,
                         f"layer {li}", ha="right", va="center", fontsize=LABEL_FONT)
    _colorbar(
        fig, norm,
        [(left_in + grid_w_in + _CBAR_GAP_IN) / fig_w_in, bottom_in / fig_h_in,
         _CBAR_W_IN / fig_w_in, grid_h_in / fig_h_in],
    )
    text = "\n".join(title_lines)
    top_y = 1.0 - (_PAD_IN * 0.6) / fig_h_in
    if text:
        fig.text(0.5, top_y, text, ha="center", va="top", fontsize=TITLE_FONT, parse_math=False)
    fig.text(
        0.5, top_y - (len(title_lines) * TITLE_FONT * 1.3 + 2) / 72.0 / fig_h_in, note,
        ha="center", va="top", fontsize=LABEL_FONT - 1, color="#444444",
    )
    return fig


def figure_to_png(fig: Figure) -> bytes:
    """Render ``fig`` with Agg and return PNG bytes (zlib level 1, no metadata)."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    buf = BytesIO()
    canvas.print_png(buf, metadata=_PNG_METADATA, pil_kwargs=dict(_PNG_KWARGS))
    return buf.getvalue()


def render_head(tokens: list[str], weights: np.ndarray, *, title: str,
                figures: PerThreadCache | None = None) -> bytes:
    """PNG of one attention head, ``weights`` shape (n, n) (rows attend to columns).

    With `figures` (the engine's cache), reuses this thread's figure for this token count:
    swapping the data into a built figure is much faster than building one.
    """
    w = _validate(tokens, weights, 2, "render_head")
    n = w.shape[0]
    figure = figures.get(("head", n), lambda: _HeadFigure(n)) if figures is not None else _HeadFigure(n)
    return figure_to_png(figure.update(tokens, w, title))


def render_grid(tokens: list[str], weights: np.ndarray, *, title: str) -> bytes:
    """PNG of all heads of one layer, ``weights`` shape (heads, n, n)."""
    return figure_to_png(build_grid_figure(tokens, weights, title=title))


def render_overview(tokens: list[str], weights: np.ndarray, *, title: str) -> bytes:
    """PNG of every layer and head, ``weights`` shape (layers, heads, n, n)."""
    return figure_to_png(build_overview_figure(tokens, weights, title=title))


# --------------------------------------------------------------------------
# Words about the picture
# --------------------------------------------------------------------------


def _link_mask(tokens: Sequence[str], n: int, skip_special: bool, include_self: bool) -> np.ndarray:
    mask = np.ones((n, n), dtype=bool)
    if not include_self:
        np.fill_diagonal(mask, False)
    if skip_special:
        special = np.array([is_special_token(t) for t in tokens], dtype=bool)
        mask[special, :] = False
        mask[:, special] = False
    return mask


def strongest_links(
    tokens: list[str],
    weights: np.ndarray,
    k: int = 3,
    skip_special: bool = True,
    *,
    include_self: bool = False,
) -> list[tuple[str, str, float]]:
    """The ``k`` strongest query -> key links of one (n, n) map, strongest first.

    Returns ``(from_token, to_token, weight)`` where ``from_token`` is the
    attending (row) token and ``to_token`` the attended (column) token.

    * Self-links (the diagonal) are left out by default: "the token looks at
      itself" is common and rarely what a learner is asking about.  Pass
      ``include_self=True`` to keep them.
    * With ``skip_special`` (default) links that start or end at a special
      token (``[CLS]``, ``[SEP]``, ``<s>``, ``</s>``, ``<pad>``... see
      :func:`is_special_token`) are ignored, because those tokens soak up
      attention as a "no-op" target.
    * Ties are broken by position (earlier row, then earlier column), so the
      result is deterministic.  Fewer than ``k`` links come back when fewer
      exist (e.g. one token, or only special tokens).
    """
    w = _validate(tokens, weights, 2, "strongest_links")
    n = w.shape[0]
    if k <= 0:
        return []
    mask = _link_mask(tokens, n, skip_special, include_self)
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return []
    vals = w[rows, cols]
    # Stable sort on -value keeps row-major order among equal weights.
    order = np.argsort(-vals, kind="stable")[:k]
    return [(tokens[rows[i]], tokens[cols[i]], float(vals[i])) for i in order]


def focus_per_token(
    tokens: list[str],
    weights: np.ndarray,
    *,
    skip_special: bool = True,
    include_self: bool = False,
) -> list[tuple[str, str, float]]:
    """For each attending token, where it attends most: ``(from, to, weight)``.

    One entry per query row in token order, with the same self-link and
    special-token rules as :func:`strongest_links` (rows with no eligible
    column, e.g. special tokens when ``skip_special``, are left out).
    """
    w = _validate(tokens, weights, 2, "focus_per_token")
    n = w.shape[0]
    mask = _link_mask(tokens, n, skip_special, include_self)
    out: list[tuple[str, str, float]] = []
    masked = np.where(mask, w, -np.inf)
    for q in range(n):
        if not mask[q].any():
            continue
        kcol = int(np.argmax(masked[q]))
        out.append((tokens[q], tokens[kcol], float(w[q, kcol])))
    return out


ALT_TEXT_MAX = 400


def _links_phrase(links: list[tuple[str, str, float]]) -> str:
    return ", ".join(f"{_quote(a)} -> {_quote(b)} ({v:.2f})" for a, b, v in links)


def alt_text(tokens: list[str], weights: np.ndarray, *, what: str) -> str:
    """One or two sentences describing the picture, under ~400 characters.

    ``weights`` may be one head (n, n), a layer's heads (heads, n, n) or the
    whole model (layers, heads, n, n); ``what`` names it, e.g. "layer 0, head 3".
    The strongest links follow :func:`strongest_links` (no self-links, special
    tokens skipped when any other token exists).
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim not in (2, 3, 4):
        raise ValueError(f"alt_text expects 2, 3 or 4 dimensional weights, got shape {w.shape}")
    w = _validate(tokens, w, w.ndim, "alt_text")
    n = len(tokens)
    what = _CONTROL_RE.sub(" ", str(what)).strip()
    if len(what) > 80:
        what = what[:79] + "\u2026"
    axes_phrase = "rows are the token attending, columns the token attended to"
    word = "token" if n == 1 else "tokens"

    def links_for(m: np.ndarray, k: int) -> list[tuple[str, str, float]]:
        links = strongest_links(tokens, m, k)
        if not links:  # e.g. only special tokens: fall back to all tokens
            links = strongest_links(tokens, m, k, skip_special=False)
        return links

    if w.ndim == 2:
        head = f"Heatmap of {what} attention over {n} {word}; {axes_phrase}"
        links = links_for(w, 3)
        tail = f"; strongest: {_links_phrase(links)}." if links else "."
    else:
        flat = w.reshape(-1, n, n)
        best = int(np.argmax([(m * _link_mask(tokens, n, True, False)).max() for m in flat]))
        if w.ndim == 3:
            head = f"Grid of {w.shape[0]} attention heatmaps ({what}), one per head, over {n} {word}; {axes_phrase}"
            where = f"head {best}"
        else:
            head = (
                f"Overview of {what} attention: {w.shape[0]} layers x {w.shape[1]} heads "
                f"over {n} {word}; {axes_phrase}"
            )
            where = f"layer {best // w.shape[1]}, head {best % w.shape[1]}"
        links = links_for(flat[best], 1)
        tail = f"; strongest: {where} {_links_phrase(links)}." if links else "."
    text = head + tail
    if len(text) > ALT_TEXT_MAX:
        text = text[: ALT_TEXT_MAX - 1].rstrip() + "\u2026"
    return text
