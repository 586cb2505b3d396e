"""Turn a platform-neutral `Result` into a Slack message (Block Kit plus a text fallback).

Pure functions only, so the limits and the escaping can be unit-tested without Slack.
Every piece of text that reaches Slack goes through `escape`: results echo the learner's
words (and models echo tokens such as `<mask>`), and an unescaped `<!channel>` would ping
a whole channel.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.results import Result

SECTION_LIMIT = 3000
"""Slack refuses a section whose text is longer than this."""
BLOCK_LIMIT = 50
"""Slack refuses a message with more blocks than this."""
FALLBACK_LIMIT = 3000
"""Our cap for the `text` fallback (notifications, screen readers); Slack's own is 40,000."""
MAX_SECTIONS_PER_PART = 5
"""Keeps one huge part (a long token table) from pushing the others out of the message."""
ECHO_LIMIT = 200
"""How much of the learner's question a slash-command answer repeats."""

_FENCE = "```"
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
_CODE_SPAN = re.compile(r"(`[^`\n]*`)")


@dataclass(frozen=True)
class SlackMessage:
    """The arguments of chat.postMessage / a response_url payload."""

    text: str
    blocks: list[dict[str, Any]]

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def escape(text: str) -> str:
    """Slack's three control characters; `&` first so entities are not escaped twice."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Slack sends message text with `&`, `<`, `>` escaped; the models want the real characters."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_mrkdwn(text: str) -> str:
    """`**bold**` (the core's markup) -> `*bold*` (Slack's), leaving `code spans` untouched."""
    parts = _CODE_SPAN.split(text)
    return "".join(p if p.startswith("`") else _BOLD.sub(r"*\1*", p) for p in parts)


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Chunks of raw `text` whose *escaped* length fits `limit`, cut at line ends when possible.

    Measuring the escaped length means an entity such as `&lt;` is never cut in half.
    """
    chunks: list[str] = []
    current, size = "", 0
    for line in text.splitlines(keepends=True):
        cost = len(escape(line))
        if cost > limit:
            if current:
                chunks.append(current)
                current, size = "", 0
            pieces = _hard_split(line, limit)
            chunks.extend(pieces[:-1])
            current, size = pieces[-1], len(escape(pieces[-1]))
        elif size + cost > limit:
            chunks.append(current)
            current, size = line, cost
        else:
            current, size = current + line, size + cost
    if current or not chunks:
        chunks.append(current)
    return [c.rstrip("\n") for c in chunks]


def _hard_split(line: str, limit: int) -> list[str]:
    pieces: list[str] = []
    current, size = "", 0
    for char in line:
        cost = len(escape(char))
        if size + cost > limit:
            pieces.append(current)
            current, size = "", 0
        current, size = current + char, size + cost
    pieces.append(current)
    return pieces


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def _context(mrkdwn: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn}]}


def _sections(raw: str, *, code: bool = False) -> list[dict[str, Any]]:
    """`raw` (already in Slack markup, not yet escaped) as sections; trimmed with a notice if huge."""
    budget = SECTION_LIMIT - (2 * len(_FENCE) + 2 if code else 0)
    chunks = split_text(raw, budget)
    trimmed = len(chunks) > MAX_SECTIONS_PER_PART
    chunks = chunks[:MAX_SECTIONS_PER_PART]
    blocks = [_section(f"{_FENCE}\n{escape(c)}\n{_FENCE}" if code else escape(c)) for c in chunks]
    if trimmed:
        blocks.append(_context(f"_Trimmed: Slack shows at most {MAX_SECTIONS_PER_PART} sections of "
                               f"{SECTION_LIMIT} characters here._"))
    return blocks


def render_result(result: Result, *, question: str | None = None, asker: str | None = None) -> SlackMessage:
    """The whole answer: answer, notices, table, what happened, code, model (in that order).

    `question`/`asker` are repeated on top for slash commands, whose question nobody else sees.
    """
    blocks: list[dict[str, Any]] = []
    if question is not None:
        blocks.append(_context(_echo(question, asker)))
    blocks += _sections(to_mrkdwn(result.answer) or "(no answer)")
    blocks += [_context(":information_source: " + escape(to_mrkdwn(n))[: SECTION_LIMIT - 30])
               for n in result.notices[:MAX_SECTIONS_PER_PART]]
    if result.table is not None:
        blocks += _sections(result.table.as_text(), code=True)
    blocks.append(_section("*What happened*"))
    blocks += _sections(to_mrkdwn(result.explanation) or "-")
    blocks.append(_section("*Try it yourself*"))
    blocks += _sections(result.code, code=True)
    blocks.append(_context(f"Model: `{escape(result.model)}`"[:SECTION_LIMIT]))
    return SlackMessage(text=fallback_text(result.answer), blocks=fit_blocks(blocks))


def _echo(question: str, asker: str | None) -> str:
    shown = question if len(question) <= ECHO_LIMIT else question[: ECHO_LIMIT - 1] + "…"
    who = f" (asked by <@{asker}>)" if asker and re.fullmatch(r"[A-Z0-9]+", asker) else ""
    safe = escape(shown.replace("`", "'"))
    return f"`{safe}`{who}"


def fallback_text(raw: str) -> str:
    """The `text` field Slack shows in notifications: plain, escaped, short."""
    text = escape(to_mrkdwn(raw).strip()) or "Answer"
    return text if len(text) <= FALLBACK_LIMIT else text[: FALLBACK_LIMIT - 1] + "…"


def fit_blocks(blocks: list[dict[str, Any]], limit: int = BLOCK_LIMIT) -> list[dict[str, Any]]:
    """At most `limit` blocks; the last one (the model line) is kept and a notice says so."""
    if len(blocks) <= limit:
        return blocks
    notice = _context(f"_Trimmed: Slack shows at most {limit} blocks in a message._")
    return blocks[: limit - 2] + [notice, blocks[-1]]


def render_error(message: str) -> SlackMessage:
    """A learner-facing error (already safe wording from the core), escaped for Slack."""
    text = fallback_text(f":warning: {message}")
    return SlackMessage(text=text, blocks=[_section(text)])
