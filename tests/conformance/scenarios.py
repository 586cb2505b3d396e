"""What the conformance suite needs from each platform: a driver that types and clicks like a learner.

A driver sends a learner's line through the real platform path (a fake server speaking the
platform's own protocol, or the console's streams) and returns what that learner saw, normalised
as `Seen`. The scenarios in tests/conformance/test_conformance.py are written once against this protocol.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from core.policy import Policy


@dataclass
class Seen:
    """Everything one learner saw in answer to one request."""

    texts: list[str] = field(default_factory=list)
    """Each message's visible text, in order (a long answer may span several)."""
    images: list[bytes] = field(default_factory=list)
    alts: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    """Other attachments by name (a snippet too long for a message, attached as a file)."""
    actions: dict[str, str] = field(default_factory=dict)
    """Label -> the id the platform carries (custom_id, action value, console number)."""
    private: bool = False
    """Shown to the asker alone (ephemeral on Discord and Slack; stderr on the console)."""
    pings: bool = False
    """Would the platform notify anyone because of this message (@everyone, <!channel>, a user)?"""
    replaced: bool = False
    """The answer changed the message whose action was chosen, in place (only where `Driver.replaces`)."""

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def flat(self) -> str:
        """The text with each run of white space made one space: a phrase that a long answer's split into
        messages cut at a word break (split_text) still reads whole."""
        return " ".join(self.text.split())

    @property
    def everything(self) -> str:
        """The text and every text attachment: all a learner can read of the answer."""
        return "\n".join([self.text, *(data.decode("utf-8", "replace") for data in self.files.values())])

    def words(self) -> list[str]:
        return re.findall(r"word\d+", self.text)


class Driver(Protocol):
    name: str
    limit: int
    """The most characters one message may hold on this platform (its text, not attachments)."""
    shared: bool
    """Learners share a conversation here (a channel): a public answer is seen by others, a private one
    by its learner alone. False for the console, where each learner has their own terminal."""
    replaces: bool
    """A choice's answer may change the message it was chosen on, in place (Discord's edit, Slack's
    chat.update or response_url). False where every answer is a new one (the console prints; the fake appends)."""
    restarts: bool
    """An answer's actions outlive the bot's process: a choice on an answer from before a restart still works.
    False for the console, whose numbered choices live in its process (a new console has none to choose)."""

    async def ask(self, user: str, line: str, *, admin: bool = False) -> Seen:
        """`user` types `line` in the platform's shared channel (the console: their terminal); `admin`:
        the platform says they may manage the server or workspace (a platform without admins ignores it)."""
        ...

    async def choose(self, user: str, seen: Seen, label: str) -> Seen: ...

    async def fill(self, user: str, seen: Seen, label: str, text: str) -> Seen:
        """Choose an action that asks for a text first (a Discord modal, a Slack modal, the console's
        prompt) and type `text` into it."""
        ...

    async def after(self, user: str, seconds: float) -> Seen:
        """Let `seconds` pass with nobody typing; what `user` saw arrive or change meanwhile (a timer's answer).
        The adapter's timers due within them fire now (bot/timers.py `Timers.skip`): no real wait."""
        ...

    async def restart(self, policy: Policy) -> None:
        """Stop the bot and serve `policy` in its place on the same platform: a new process (nothing in memory
        kept), the same conversations and messages."""
        ...
