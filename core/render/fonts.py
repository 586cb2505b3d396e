"""Text on a heatmap: which fonts draw the token labels, how wide text is, and where it goes.

Tokens come from the learner's text, so they may hold characters (CJK, emoji) the default font
lacks; matplotlib would draw identical empty boxes and warn. The label fonts are the default ones
plus an installed CJK family if there is one, and their character maps say what can be drawn; the
rest becomes `U+XXXX` (`core.render.labels.label`). Layout uses fixed margins measured with a
per-character width table built once, not `tight_layout`, which costs a layout pass per picture.
Labels are plain Text artists rather than matplotlib's ticks (each tick is two lines and two texts).
"""
from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from functools import cache

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont, fontManager, get_font
from matplotlib.text import Text
from matplotlib.textpath import TextToPath
from matplotlib.transforms import offset_copy

from core.render.labels import CONTROL_RE, MAX_LABEL_CHARS, label
from core.render.links import check_noop
from core.render.style import LABEL_FONT, MIN_FONT, NOOP_COLOUR, PAD_IN, TEXT_COLOUR, TICK_FONT_MAX, TICK_PAD_PT

CJK_FALLBACK_FAMILIES = (
    "Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK KR",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback", "AR PL UMing CN",
)
"""Optional CJK fonts, the first installed one used as a fallback family; none is required."""


def _char_width_table() -> dict[str, float]:
    """Advance width in em of each printable ASCII character in the default font."""
    ttp, prop = TextToPath(), FontProperties(size=100)
    return {c: ttp.get_text_width_height_descent(c, prop, ismath=False)[0] / 100.0
            for c in map(chr, range(32, 127))}


CHAR_EM = _char_width_table()
WIDE_EM = 1.0  # anything else: assume a full em (CJK from a fallback font, symbols)


def text_width_pt(s: str, size: float) -> float:
    """Width in points of `s` at font `size` (kerning ignored: a slight overestimate)."""
    return size * sum(CHAR_EM.get(c, WIDE_EM) for c in s)


@cache
def label_fonts() -> tuple[tuple[str, ...], frozenset[int]]:
    """Font families for token labels, and the code points they can draw (built once, then read)."""
    installed = {entry.name for entry in fontManager.ttflist}
    families = list(FontProperties().get_family())
    families += [f for f in CJK_FALLBACK_FAMILIES if f in installed][:1]
    glyphs: set[int] = set()
    for family in families:
        glyphs.update(get_font(findfont(FontProperties(family=[family]))).get_charmap())
    return tuple(families), frozenset(glyphs)


def drawn_labels(tokens: Sequence[str], max_chars: int = MAX_LABEL_CHARS) -> list[str]:
    """Token labels as drawn in the image (measure these, not the raw tokens)."""
    glyphs = label_fonts()[1]
    return [label(t, max_chars, glyphs) for t in tokens]


def label_colours(noop: Sequence[bool] | None, n: int) -> list[str]:
    """Grey for the no-op tokens the tables leave out, black for the rest."""
    return [NOOP_COLOUR if grey else TEXT_COLOUR for grey in check_noop(noop, n)]


def tick_font_and_step(n: int, side_pt: float) -> tuple[float, int]:
    """Font size for `n` labels along an axis `side_pt` points long, and which to keep (every step-th)."""
    cell = side_pt / n
    size = min(TICK_FONT_MAX, max(MIN_FONT, cell * 0.75))
    return size, max(1, math.ceil(size * 1.25 / cell))


def wrap_title(title: str, width_pt: float, size: float) -> list[str]:
    """At most three lines that fit `width_pt`, the last cut with '…' if needed."""
    title = CONTROL_RE.sub(" ", str(title)).strip()
    if not title:
        return []
    chars = max(8, int(width_pt / (text_width_pt("abcdefghijklmnopqrstuvwxyz ", size) / 27.0 * 1.1)))
    lines = textwrap.wrap(title, chars) or [title]
    if len(lines) > 3:
        lines = lines[:3]
        lines[-1] = lines[-1][: max(1, chars - 1)] + "\u2026"
    return lines


def token_labels(ax: Axes, axis: str, labels: list[str], size: float, step: int, rotation: float = 0,
                 colours: list[str] | None = None) -> list[Text]:
    """Every `step`-th token name at the cell centres, under (`axis="x"`) or left of (`"y"`) `ax`."""
    fig, family = ax.figure, list(label_fonts()[0])
    colours = colours or [TEXT_COLOUR] * len(labels)
    if axis == "x":
        trans = offset_copy(ax.get_xaxis_transform(), fig=fig, y=-TICK_PAD_PT, units="points")
        return [ax.text(i, 0, labels[i], transform=trans, fontsize=size, rotation=rotation, family=family,
                        color=colours[i], ha="center", va="top", rotation_mode="default", parse_math=False)
                for i in range(0, len(labels), step)]
    trans = offset_copy(ax.get_yaxis_transform(), fig=fig, x=-TICK_PAD_PT, units="points")
    return [ax.text(0, i, labels[i], transform=trans, fontsize=size, family=family, color=colours[i],
                    ha="right", va="center", parse_math=False)
            for i in range(0, len(labels), step)]


def panel_title(ax: Axes, text: str, size: float) -> None:
    """A small title over a panel. Plain text: `ax.set_title` makes every draw compute the axes'
    tight box (creating ticks), which was more than half the cost of drawing a grid."""
    trans = offset_copy(ax.transAxes, fig=ax.figure, y=3.0, units="points")
    ax.text(0.5, 1.0, text, transform=trans, ha="center", va="bottom", fontsize=size, gid="panel-title")


def axis_titles(fig: Figure, left_in: float, bottom_in: float, w_in: float, h_in: float) -> tuple[Text, Text]:
    """What rows and columns mean, centred on the heatmap area (inch coordinates)."""
    texts = (fig.text(0, 0, "attended to (key)", ha="center", va="bottom", fontsize=LABEL_FONT),
             fig.text(0, 0, "attending (query)", ha="left", va="center", rotation=90, fontsize=LABEL_FONT))
    place_axis_titles(texts, left_in, bottom_in, w_in, h_in, *fig.get_size_inches())
    return texts


def place_axis_titles(texts: tuple[Text, Text], left_in: float, bottom_in: float, w_in: float, h_in: float,
                      fw: float, fh: float) -> None:
    texts[0].set_position(((left_in + w_in / 2) / fw, PAD_IN / fh))
    texts[1].set_position((PAD_IN / fw, (bottom_in + h_in / 2) / fh))
