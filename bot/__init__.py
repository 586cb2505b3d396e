"""Adapters: the console, Discord and Slack, each a thin layer over the core engine."""
