"""Turn a platform-neutral `Result` into a Slack message (Block Kit plus a text fallback).

Pure functions only, so the limits and the escaping can be unit-tested without Slack.
Every piece of text that reaches Slack goes through `escape`: results echo the learner's
words (and models echo tokens such as `<mask>`), and an unescaped `<!channel>` would ping
a whole channel; a lone surrogate (a JSON `"\\ud800"` escape) would not even encode.

Backticks. The core marks inline code the CommonMark way (a run of N backticks up to the next
run of exactly N, so `` a`b `` can hold a backtick). Slack's mrkdwn has no such rule and no
escape: any backtick opens or closes inline code, and any ``` opens or closes a code block.
So a backtick that belongs to the text, not to the markup, is shown as ˋ (U+02CB, modifier
letter grave accent), which Slack never pairs: everywhere in inline code and in plain text,
and in code blocks wherever three or more would run together (one or two are shown as they
are there). A zero-width space between backticks was the other candidate; it is invisible,
so a copied snippet would silently differ, and Slack may still pair the backticks around it.
A message where this happened says so in a note.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from core.results import Result
from core.text import clean_text

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

LOOKALIKE = "\u02cb"
"""ˋ: what a backtick of the learner's text is shown as where Slack would pair it."""
BACKTICK_NOTE = (f"Slack cannot show backticks inside code, so the backticks of this text appear as {LOOKALIKE}; "
                 "type backticks in their place if you copy it.")

_FENCE = "```"
_BOLD_MARK = re.compile(r"\*\*")
_RUN = re.compile(r"`+")
_FENCE_RUN = re.compile(r"`{3,}")


@dataclass(frozen=True)
class SlackMessage:
    """The arguments of chat.postMessage / a response_url payload."""

    text: str
    blocks: list[dict[str, Any]]

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def escape(text: str) -> str:
    """Cleaned (core.text: lone surrogates, control characters), then Slack's three control
    characters; `&` first so entities are not escaped twice."""
    text = clean_text(text).text
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Slack sends message text with `&`, `<`, `>` escaped; the models want the real characters."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_mrkdwn(text: str) -> str:
    """The core's markup in Slack's: `**bold**` -> `*bold*`, code spans with single backticks."""
    return convert(text)[0]


def convert(text: str) -> tuple[str, int]:
    """`to_mrkdwn`, and how many backticks of the text had to become ˋ."""
    pieces = code_spans(clean_text(text).text)  # first: a control character removed later could expose a space
    swapped = sum(piece.count("`") for _, piece in pieces)
    pieces = [(is_code, piece.replace("`", LOOKALIKE)) for is_code, piece in pieces]
    return "".join(_span(piece) if is_code else piece for is_code, piece in _bold(pieces)), swapped


def _span(content: str) -> str:
    """Slack may leave ` x ` unformatted (a space just inside the backticks), and its backticks would
    then pair with others: spaces go outside the span, and a span of spaces alone stays plain spaces."""
    core = content.strip()
    if not core:
        return content
    lead, trail = content[: len(content) - len(content.lstrip())], content[len(content.rstrip()):]
    return f"{lead}`{core}`{trail}"


def _bold(pieces: list[tuple[bool, str]]) -> list[tuple[bool, str]]:
    """`**` pairs (counted over the plain pieces only, so bold may enclose code) become Slack's `*`."""
    marks = [(index, m.start()) for index, (is_code, piece) in enumerate(pieces) if not is_code
             for m in _BOLD_MARK.finditer(piece)]
    paired: dict[int, list[int]] = {}
    for index, start in marks[: len(marks) // 2 * 2]:
        paired.setdefault(index, []).append(start)
    out = []
    for index, (is_code, piece) in enumerate(pieces):
        for start in reversed(paired.get(index, [])):
            piece = piece[:start] + "*" + piece[start + 2:]
        out.append((is_code, piece))
    return out


def code_spans(text: str) -> list[tuple[bool, str]]:
    """`text` cut into (is_code, content) pieces by CommonMark's code-span rule.

    A run of N backticks opens a span that the next run of exactly N closes; a run that is
    never closed is plain text. Inside a span, line ends become spaces and one space of
    padding on both sides is dropped (`` `x` `` holds "`x`"). Linear apart from a bisect per run.
    """
    runs = [(m.start(), m.end()) for m in _RUN.finditer(text)]
    by_length: dict[int, list[int]] = {}
    for index, (start, end) in enumerate(runs):
        by_length.setdefault(end - start, []).append(index)
    pieces: list[tuple[bool, str]] = []
    plain_from, index = 0, 0
    while index < len(runs):
        start, end = runs[index]
        same = by_length[end - start]
        later = bisect_right(same, index)
        if later == len(same):
            index += 1
            continue
        close = same[later]
        pieces += [(False, text[plain_from:start]), (True, _span_content(text[end:runs[close][0]]))]
        plain_from, index = runs[close][1], close + 1
    pieces.append((False, text[plain_from:]))
    return [(is_code, piece) for is_code, piece in pieces if piece or is_code]


def _span_content(raw: str) -> str:
    content = raw.replace("\n", " ")
    if len(content) >= 2 and content[0] == content[-1] == " " and content.strip(" "):
        content = content[1:-1]
    return content


def inline_code(text: str) -> str:
    """`text` as one Slack inline code span (raw text, not markup), escaped and unbreakable."""
    return _span(escape(text.replace("`", LOOKALIKE).replace("\n", " ")))


def fence_safe(text: str) -> tuple[str, int]:
    """Text for inside a ``` block: runs of three or more backticks become ˋ; and how many did."""
    text = clean_text(text).text  # first: removing a control character could join two runs
    swapped = sum(len(m.group()) for m in _FENCE_RUN.finditer(text))
    return _FENCE_RUN.sub(lambda m: LOOKALIKE * len(m.group()), text), swapped


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
    budget = SECTION_LIMIT - (2 * len(_FENCE) + 2 if code else 2)
    chunks = split_text(raw, budget)
    trimmed = len(chunks) > MAX_SECTIONS_PER_PART
    chunks = chunks[:MAX_SECTIONS_PER_PART]
    blocks = ([_section(f"{_FENCE}\n{escape(c)}\n{_FENCE}") for c in chunks] if code
              else [_section(escape(c)) for c in _balance_spans(chunks)])
    if trimmed:
        blocks.append(_context(f"_Trimmed: Slack shows at most {MAX_SECTIONS_PER_PART} sections of "
                               f"{SECTION_LIMIT} characters here._"))
    return blocks


def _balance_spans(chunks: list[str]) -> list[str]:
    """A code span cut by a section boundary is closed at the cut and reopened after it.

    In converted text every backtick is a span delimiter (the text's own are ˋ), so parity
    tells whether a chunk ends inside a span.
    """
    balanced, open_span = [], False
    for chunk in chunks:
        chunk = "`" + chunk if open_span else chunk
        open_span = chunk.count("`") % 2 == 1
        balanced.append(chunk + "`" if open_span else chunk)
    return balanced


def render_result(result: Result, *, question: str | None = None, asker: str | None = None) -> SlackMessage:
    """The whole answer: answer, notices, table, what happened, code, model (in that order).

    `question`/`asker` are repeated on top for slash commands, whose question nobody else sees.
    """
    answer, swapped = convert(result.answer)
    explanation, in_explanation = convert(result.explanation)
    notices = [convert(n) for n in result.notices[:MAX_SECTIONS_PER_PART]]
    table, in_table = fence_safe(result.table.as_text()) if result.table is not None else ("", 0)
    code, in_code = fence_safe(result.code)
    swapped += in_explanation + in_table + in_code + sum(n for _, n in notices)
    blocks: list[dict[str, Any]] = []
    if question is not None:
        blocks.append(_context(_echo(question, asker)))
        swapped += question.count("`")
    blocks += _sections(answer or "(no answer)")
    blocks += [_context(_close_span(":information_source: " + escape(n)[: SECTION_LIMIT - 30])) for n, _ in notices]
    if swapped:
        blocks.append(_context(f":information_source: {escape(BACKTICK_NOTE)}"))
    if result.table is not None:
        blocks += _sections(table, code=True)
    blocks.append(_section("*What happened*"))
    blocks += _sections(explanation or "-")
    blocks.append(_section("*Try it yourself*"))
    blocks += _sections(code, code=True)
    blocks.append(_context(f"Model: {inline_code(result.model[:SECTION_LIMIT // 2])}"))
    return SlackMessage(text=fallback_text(result.answer), blocks=fit_blocks(blocks))


def _close_span(mrkdwn: str) -> str:
    """A cut that fell inside a code span: close it (converted text's backticks are all delimiters)."""
    return mrkdwn + "`" if mrkdwn.count("`") % 2 else mrkdwn


def _echo(question: str, asker: str | None) -> str:
    shown = question if len(question) <= ECHO_LIMIT else question[: ECHO_LIMIT - 1] + "…"
    who = f" (asked by <@{asker}>)" if asker and re.fullmatch(r"[A-Z0-9]+", asker) else ""
    return f"{inline_code(shown)}{who}"


def fallback_text(raw: str) -> str:
    """The `text` field Slack shows in notifications: plain, escaped, short."""
    text = escape(to_mrkdwn(raw).strip()) or "Answer"
    return text if len(text) <= FALLBACK_LIMIT else _close_span(text[: FALLBACK_LIMIT - 2]) + "…"


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
