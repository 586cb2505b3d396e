"""Attention heatmaps as PNG bytes, and the words that describe them: the one import for callers.

Importing this loads matplotlib and seaborn (about a second), so tasks import it on their first
picture. Each part lives in its own module: `head`, `grid` and `overview` draw, `fonts` and `labels`
write the tokens, `values` the numbers, `alt` the alt text and `links` (no plotting library) picks
the links that tables, headlines and alt text name. Every function is safe to call from worker
threads. Tokens are drawn as given: callers pass them readable (`core.tokens.readable_tokens`) with
a `noop` mask (`core.tokens.noop_mask`) whose tokens get grey labels and are left out of links.
"""
from __future__ import annotations

from core.render.alt import ALT_TEXT_MAX, alt_text
from core.render.grid import build_grid_figure, render_grid
from core.render.head import build_head_figure, render_head
from core.render.labels import MAX_LABEL_CHARS
from core.render.overview import build_overview_figure, render_overview
from core.render.style import ANNOTATE_MAX_TOKENS, DPI, figure_to_png

__all__ = [
    "ALT_TEXT_MAX", "ANNOTATE_MAX_TOKENS", "DPI", "MAX_LABEL_CHARS", "alt_text", "build_grid_figure",
    "build_head_figure", "build_overview_figure", "figure_to_png", "render_grid", "render_head",
    "render_overview",
]
