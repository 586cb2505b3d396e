"""Rendering helpers (images for chat replies)."""
from core.render.heatmap import (
    alt_text,
    focus_per_token,
    render_grid,
    render_head,
    render_overview,
    strongest_links,
)

__all__ = [
    "alt_text",
    "focus_per_token",
    "render_grid",
    "render_head",
    "render_overview",
    "strongest_links",
]
