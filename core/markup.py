"""The core's markup, defined once: what tasks write, and what every adapter parses.

A result's text uses two marks, with CommonMark's rules: `**bold**` and code spans. A code span
opens with a run of backticks and closes with the next run of the same length, so a learner's
text that holds backticks is wrapped in a longer run (`code("a`b")` gives ``` ``a`b`` ```). Any
other `*`, `` ` `` or `\\` in a learner's text is escaped with a backslash (`plain`). Tasks build
their sentences with `code()` and `plain()`; adapters call `spans()` and render each span in
their own dialect (bot/console.py, bot/discord_render.py, bot/slack_render.py), so a backtick or
a `**` in a learner's text can never close a span early on any platform.

The section labels and their order live here too, so every adapter says the same words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from core.results import Result

EXPLANATION = "What happened"
CODE = "Try it yourself"
NOTE = "Note"
MODEL = "Model"
SECTIONS = ("answer", "table", "notices", "explanation", "code", "model")
"""The order in which every adapter shows a result's parts."""

_ESCAPABLE = "\\`*"
_RUN = re.compile(r"`+")


@dataclass(frozen=True)
class Span:
    text: str
    bold: bool = False
    code: bool = False


def plain(text: str) -> str:
    """A learner's text as literal markup: its `*`, `` ` `` and `\\` can open nothing."""
    return "".join("\\" + ch if ch in _ESCAPABLE else ch for ch in text)


def code(text: str) -> str:
    """A code span that holds `text` exactly, whatever backticks it contains."""
    if not text:
        return "` `"  # CommonMark has no empty code span; a lone space reads the same
    longest = max((len(m) for m in _RUN.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or (text[:1] == " " and text[-1:] == " " and
                                                                  text.strip()) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def bold(markup: str) -> str:
    """Bold around markup that is already safe (built with `plain` and `code`)."""
    return f"**{markup}**"


def spans(markup: str) -> list[Span]:
    """Parse markup into spans: escapes undone, code spans exact, `**` toggling bold."""
    out: list[Span] = []
    buffer: list[str] = []
    is_bold = False
    i = 0
    while i < len(markup):
        ch = markup[i]
        if ch == "\\" and i + 1 < len(markup) and markup[i + 1] in _ESCAPABLE:
            buffer.append(markup[i + 1])
            i += 2
        elif ch == "`":
            i = _code_span(markup, i, buffer, out, is_bold)
        elif markup.startswith("**", i):
            _flush(buffer, out, is_bold)
            is_bold = not is_bold
            i += 2
        else:
            buffer.append(ch)
            i += 1
    _flush(buffer, out, is_bold)
    return out


def _code_span(markup: str, start: int, buffer: list[str], out: list[Span], is_bold: bool) -> int:
    """At a backtick run: a code span up to the next run of the same length, else literal backticks."""
    run = _RUN.match(markup, start)
    assert run is not None
    fence = run.group(0)
    closing = _closing_run(markup, run.end(), len(fence))
    if closing is None:
        buffer.append(fence)
        return run.end()
    _flush(buffer, out, is_bold)
    content = markup[run.end():closing]
    if len(content) >= 2 and content[0] == " " and content[-1] == " " and content.strip():
        content = content[1:-1]
    out.append(Span(content, bold=is_bold, code=True))
    return closing + len(fence)


def _closing_run(markup: str, start: int, length: int) -> int | None:
    for match in _RUN.finditer(markup, start):
        if len(match.group(0)) == length:
            return match.start()
    return None


def _flush(buffer: list[str], out: list[Span], is_bold: bool) -> None:
    if buffer:
        out.append(Span("".join(buffer), bold=is_bold))
        buffer.clear()


def to_plain(markup: str) -> str:
    """The text with every mark removed (alt text, logs, search)."""
    return "".join(s.text for s in spans(markup))


def longest_backtick_run(text: str) -> int:
    return max((len(m) for m in _RUN.findall(text)), default=0)


def split_text(text: str, size: int) -> list[str]:
    """Chunks of at most `size` characters, cut at paragraph, line or word breaks when possible."""
    chunks: list[str] = []
    rest = text.strip()
    while len(rest) > size:
        cut = max(rest.rfind(sep, 0, size + 1) for sep in ("\n\n", "\n", " "))
        if cut <= size // 2:
            cut = size
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks


def sections(result: Result) -> list[tuple[str, str]]:
    """A result's parts in `SECTIONS` order, each `(label, markup)`; the answer has no label.

    The table comes as fixed-width text (a code block on platforms that have them); notices and the
    model line are markup like the answer. Every adapter lays these out in its own dialect. A section
    with nothing in it (a cancelled /forget explains nothing, /help runs no model) is left out,
    heading and all: no placeholder such as "Model: -" is ever shown."""
    parts: list[tuple[str, str]] = [("", result.answer)]
    if result.table is not None:
        parts.append(("table", result.table.as_text()))
    parts.extend((NOTE, notice) for notice in result.notices)
    parts.extend((label, body) for label, body in ((EXPLANATION, result.explanation), (CODE, result.code))
                 if body.strip())
    if has_model(result.model):
        parts.append((MODEL, plain(result.model)))
    return parts


NO_MODEL = ("", "-")
"""What a result that ran no model gives as its `model` (older code wrote "-")."""


def has_model(model: str) -> bool:
    """True when `model` names a model: an answer that ran none has no model line at all."""
    return model.strip() not in NO_MODEL
