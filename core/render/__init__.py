"""Rendering helpers (images for chat replies).

Import the submodules directly (``core.render.heatmap``): this package imports nothing, so a
process that never draws a heatmap never pays for matplotlib and seaborn (about a second).
"""
