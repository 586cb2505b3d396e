"""The core's markup in Discord's dialect: code spans and blocks that a learner's backticks cannot break.

The core's markup (core/markup.py) is `**bold**`, code spans by CommonMark's rule and
backslash escapes; `core.markup.spans` reads it, and each span is written here in Discord's
dialect. Discord's client does not read CommonMark. Its parser (derived from simple-markdown;
tests/support/fake_discord.py `read_markdown` models it) has these rules for code:

- A code block is three backticks up to the next three backticks, anywhere in a message,
  even in the middle of a line. A longer fence does not help: the block still ends at the
  first three backticks inside it.
- Inline code is a run of backticks up to the next run of the same length. One space next to
  a backtick at either end is dropped, so two backticks with padding (`` `` `a` `` ``) show
  `` `a` ``. A delimiter of three or more would start a code block, so only one and two
  backticks can delimit inline code.
- A backslash escapes any character that is not a letter, a digit or a space.

So: inside inline code no two backticks touch (a zero-width space goes between them) and
the delimiter is two backticks, padded with a space where Discord would drop one. Inside a
code block no three touch. Outside code every character Discord would read as formatting is
escaped (`escape`): backticks, so none opens a span that swallows the rest of the message,
and `*`, `_`, `~`, `|`, a masked link's `[` and a quote, heading or list mark at a line's
start, so a learner's `__init__` or `# not a heading` shows as typed. Links stay as they are.
The zero-width space is invisible. It only changes text copied out of a span or a table,
never a snippet to run: bot.discord.render attaches a snippet with three backticks in a row
as a file.
"""
from __future__ import annotations

import re

from core.markup import Span, spans
from core.text import clean_text

ZWSP = "\u200b"
_STARTS_WITH_TICK = re.compile(r" *`")
_ENDS_WITH_TICK = re.compile(r"` *$")
_FORMATTING = re.compile(
    r"(?P<url><?https?://[^\s<>]+[^\s<>.,:;\"')\]])"  # a link: Discord does not format inside it
    r"|(?P<char>[\\*_~|`])"
    r"|(?P<link>\[(?=[^\]\n]*\]\())"  # the `[` of a masked link `[text](url)`
    r"|^(?P<indent>[ \t]*)(?P<mark>[>#-])",  # a quote, a heading, a list or a subtext at a line's start
    re.MULTILINE,
)


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


def escape(text: str) -> str:
    """Literal text as Discord text: every character Discord would read as formatting escaped."""

    def one(match: re.Match[str]) -> str:
        if match.group("url"):
            return match.group("url")
        if match.group("char") or match.group("link"):
            return "\\" + match.group(0)
        return match.group("indent") + "\\" + match.group("mark")

    return _FORMATTING.sub(one, text)


def _shown(span: Span) -> str:
    return inline_code(span.text) if span.code else escape(span.text)


def discord_markup(markup: str) -> str:
    """The core's markup (`**bold**`, CommonMark code spans, backslash escapes) as Discord message text.

    Neighbouring bold spans (bold text around a code span) share one pair of `**`."""
    out = ""
    parsed = spans(outgoing(markup))
    i = 0
    while i < len(parsed):
        run = [parsed[i]]
        while run[0].bold and i + len(run) < len(parsed) and parsed[i + len(run)].bold:
            run.append(parsed[i + len(run)])
        shown = _join([_shown(s) for s in run])
        if run[0].bold and shown:
            shown = f"**{shown}**"
        out = _join([out, shown])
        i += len(run)
    return out


def _join(pieces: list[str]) -> str:
    """Concatenate, with a zero-width space where two spans' backticks would touch and read as one delimiter."""
    out = ""
    for piece in pieces:
        if out.endswith("`") and piece.startswith("`"):
            out += ZWSP
        out += piece
    return out
