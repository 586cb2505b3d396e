"""Pictures for chat replies, and the words that stand for them.

This package imports nothing: a process that never draws never pays for matplotlib and seaborn
(about a second). `core.render.links` and `core.render.alt` need neither, so a task builds its table
and alt text without them; `core.render.heatmap` is the drawing API and loads them.
"""
