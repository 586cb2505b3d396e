"""The two choices /zeroshot makes, shared with its "which words mattered" view (core/tasks/shared/occlusion.py)."""
from __future__ import annotations

TEMPERATURE = 0.05
"""Cosine similarities sit close together; dividing by 0.05 before softmax spreads them out."""
HYPOTHESIS = "This example is {}."
"""The zero-shot pipeline's default hypothesis template."""
