"""What the conformance suite needs from each platform: a driver that types and clicks like a learner.

A driver sends a learner's line through the real platform path (a fake server speaking the
platform's own protocol, or the console's streams) and returns what that learner saw, normalised
as `Seen`. The scenarios in tests/test_conformance.py are written once against this protocol.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Seen:
    """Everything one learner saw in answer to one request."""

    texts: list[str] = field(default_factory=list)
    """Each message's visible text, in order (a long answer may span several)."""
    images: list[bytes] = field(default_factory=list)
    alts: list[str] = field(default_factory=list)
    actions: dict[str, str] = field(default_factory=dict)
    """Label -> the id the platform carries (custom_id, action value, console number)."""
    private: bool = False
    """Shown to the asker alone (ephemeral on Discord and Slack; stderr on the console)."""
    pings: bool = False
    """Would the platform notify anyone because of this message (@everyone, <!channel>, a user)?"""

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    def words(self) -> list[str]:
        return re.findall(r"word\d+", self.text)


class Driver(Protocol):
    name: str
    limit: int
    """The most characters one message may hold on this platform (its text, not attachments)."""

    async def ask(self, user: str, line: str) -> Seen: ...

    async def choose(self, user: str, seen: Seen, label: str) -> Seen: ...
