"""Where an answer goes, the same on every platform: a new message, a replacement, or a private copy.

`core.results.Show` says what the core wants; this is the one reading of it that every adapter uses, so a
quiz's reveal replaces its question and a stranger's click on someone else's answer gets a private copy on
Discord and on Slack alike. How each platform makes a message private (an ephemeral reply, a DM) stays in
its adapter.
"""
from __future__ import annotations

from typing import Literal

from core.results import Show

Placement = Literal["new", "replace", "private"]


def placement(show: Show, *, clicked: bool, mine: bool = True) -> Placement:
    """`clicked`: the answer comes from a button or select on a message; `mine`: the clicker asked that message.

    A typed command's answer is a new message unless it is private. A click's answer replaces the clicked
    message when it is an `update` (for everyone) or a `reply` to the clicker's own question; anyone else's
    `reply` is a private copy, so exploring never rewrites someone else's answer."""
    if show == "private":
        return "private"
    if not clicked:
        return "new"
    if show == "update" or mine:
        return "replace"
    return "private"
