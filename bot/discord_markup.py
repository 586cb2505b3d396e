"""The core's markup in Discord's dialect: code spans and blocks that a learner's backticks cannot break.

The core's markup (core/results.py) is `**bold**` and code spans, read here by CommonMark's
rule: a run of n backticks up to the next run of exactly n, so text with backticks inside
needs a longer delimiter in the core's text. Discord's client does not read CommonMark. Its
parser (derived from simple-markdown; tests/fake_discord.py `read_markdown` models it) has
these rules for code:

- A code block is three backticks up to the next three backticks, anywhere in a message,
  even in the middle of a line. A longer fence does not help: the block still ends at the
  first three backticks inside it.
- Inline code is a run of backticks up to the next run of the same length. One space next to
  a backtick at either end is dropped, so two backticks with padding (`` `` `a` `` ``) show
  `` `a` ``. A delimiter of three or more would start a code block, so only one and two
  backticks can delimit inline code.
- A backslash escapes a backtick outside code (discord.py's `utils.escape_markdown` does the
  same).

So: inside inline code no two backticks touch (a zero-width space goes between them) and
the delimiter is two backticks, padded with a space where Discord would drop one. Inside a
code block no three touch. Outside code, a backtick is escaped, so it cannot open a span that
swallows the rest of the message. The zero-width space is invisible. It only changes text
copied out of a span or a table, never a snippet to run: bot.discord_render attaches a
snippet with three backticks in a row as a file.
"""
from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from core.text import clean_text

ZWSP = "\u200b"
_RUN = re.compile(r"`+")
_SLASHES_BEFORE_TICK = re.compile(r"(\\*)`")
_TRAILING_SLASHES = re.compile(r"(\\+)$")
_STARTS_WITH_TICK = re.compile(r" *`")
_ENDS_WITH_TICK = re.compile(r"` *$")


def outgoing(text: str) -> str:
    """Text that can be sent at all: lone surrogates (from a JSON `"\\ud800"`) become U+FFFD.

    A lone surrogate cannot be encoded as UTF-8, so a snippet file, an `orjson` payload (the
    `discord.py[speed]` extra) or a log handler would fail on it, so every outgoing string
    passes here first.
    """
    return clean_text(text).text


def break_runs(text: str, longest: int) -> str:
    """`text` with no more than `longest` backticks in a row: a zero-width space goes between."""
    pattern = re.compile("`" * longest + "(?=`)")
    return pattern.sub(lambda m: m.group() + ZWSP, text)


def inline_code(text: str) -> str:
    """`text` as one Discord inline code span that shows exactly `text` (line breaks as spaces).

    With backticks inside, the delimiter is two backticks, and a space is added on a side only
    where Discord drops one (next to a backtick), so the span shows no extra space.
    """
    text = break_runs(outgoing(text).replace("\r\n", " ").replace("\n", " "), 1)
    if "`" not in text:
        return f"`{text}`" if text else ""
    lead = " " if _STARTS_WITH_TICK.match(text) else ""
    trail = " " if _ENDS_WITH_TICK.search(text) else ""
    return f"``{lead}{text}{trail}``"


def code_spans(text: str) -> Iterator[tuple[bool, str]]:
    """(is_code, piece) in order, by CommonMark's rule: a run of n backticks opens a span that the
    next run of exactly n closes; a run with no partner is literal text.

    Span text is normalised as CommonMark does: line breaks become spaces, and one space is
    dropped from each end when both ends have one. Backslash escapes are not read (the core
    writes none).
    """
    runs = list(_RUN.finditer(text))
    by_length: dict[int, list[int]] = {}
    for index, run in enumerate(runs):
        by_length.setdefault(len(run.group()), []).append(index)
    start = index = 0
    while index < len(runs):
        opener = runs[index]
        same = by_length[len(opener.group())]
        later = bisect.bisect_right(same, index)
        if later == len(same):
            index += 1
            continue
        closer = runs[same[later]]
        yield False, text[start:opener.start()]
        yield True, _span_text(text[opener.end():closer.start()])
        start, index = closer.end(), same[later] + 1
    yield False, text[start:]


def _span_text(raw: str) -> str:
    text = raw.replace("\r\n", " ").replace("\n", " ")
    if len(text) >= 2 and text[0] == " " and text[-1] == " " and text.strip(" "):
        return text[1:-1]
    return text


def _plain(text: str, code_follows: bool) -> str:
    """Plain text with every backtick escaped (and the backslashes before it, so they stay literal)."""
    text = _SLASHES_BEFORE_TICK.sub(lambda m: m.group(1) * 2 + "\\`", text)
    if code_follows:  # a trailing backslash would escape the span's opening backtick
        text = _TRAILING_SLASHES.sub(lambda m: m.group(1) * 2, text)
    return text


def discord_markup(text: str) -> str:
    """The core's markup (`**bold**`, CommonMark code spans) as Discord message text."""
    pieces = list(code_spans(outgoing(text)))
    out = ""
    for i, (is_code, piece) in enumerate(pieces):
        shown = inline_code(piece) if is_code else _plain(piece, code_follows=i + 1 < len(pieces))
        if out.endswith("`") and shown.startswith("`"):
            out += ZWSP  # two spans side by side must not read as one longer delimiter
        out += shown
    return out
