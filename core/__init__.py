"""Transformers Tutor core: platform-neutral commands, models and results."""
