"""Answers on a terminal, drawn with rich: wrapped to the terminal's width, tables that fit it, each token
of /tokenize and /compare on its own background, snippets highlighted.

Only for a terminal: piped or redirected, the console prints `bot.console.render_text`'s plain text, byte for
byte what scripts and tests read, and never imports rich. NO_COLOR (https://no-color.org: set to anything but
the empty string) keeps the wrapping and drops every escape code, colour and bold alike. Widths are rich's
own: rich 15 measures a grapheme cluster whole (a family emoji joined by zero-width joiners takes 2 cells),
and `core.results.display_width` uses the same measure for the plain tables.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, TextIO

from core.markup import CODE, Span, sections, spans
from core.markup import code as code_span

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console as RichConsole
    from rich.console import RenderableType
    from rich.text import Text

    from core.results import Result, Table, TokenRun

PALETTE = ("#ffd6a5", "#caffbf", "#9bf6ff", "#bdb2ff", "#ffc6ff", "#fdffb6")
"""The /compare picture's fills (core/render/spans.py, which imports matplotlib), so both look alike."""
SPECIAL_FILL = "#eeeeee"
STANDARD_PALETTE = ("bright_yellow", "bright_green", "bright_cyan", "bright_magenta")
"""A 16-colour terminal would round several of the picture's fills to the same white: these stay apart."""
STANDARD_SPECIAL = "white"
CODE_STYLE = "cyan"
TOUR_RULE = 72
"""The width of `tutor tour`'s separators, as piped; narrower on a narrower terminal."""


def no_color() -> bool:
    """NO_COLOR is set to something (https://no-color.org: any non-empty value, whatever it says)."""
    return os.environ.get("NO_COLOR", "") != ""


def terminal(stream: TextIO) -> RichConsole | None:
    """A rich console that writes to `stream` when it is a terminal, else None (plain text)."""
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):  # no isatty, or closed
        return None
    from rich.console import Console as RichConsole

    return RichConsole(file=stream, force_terminal=True, color_system=None if no_color() else "auto",
                       markup=False, emoji=False, highlight=False)


def show_result(console: RichConsole, result: Result) -> None:
    """The answer's sections in the shared order and labels (`core.markup.sections`), a blank line apart.
    A snippet is printed unwrapped, so its lines copy and paste whole (the terminal folds them)."""
    for n, (part, unwrapped) in enumerate(_parts(console, result)):
        if n:
            console.print()
        console.print(part, soft_wrap=unwrapped)


def show_text(console: RichConsole, text: str, *, style: str = "") -> None:
    """Plain text (choices, picture paths, errors), wrapped to the width; never read as markup."""
    from rich.text import Text

    console.print(Text(text, style=style if console.color_system else ""))


def rule(console: RichConsole) -> str:
    return "=" * min(TOUR_RULE, console.width)


def _parts(console: RichConsole, result: Result) -> Iterator[tuple[RenderableType, bool]]:
    from rich.text import Text

    colour = console.color_system is not None
    heading = "bold" if colour else ""
    for label, body in sections(result):
        if label == "table" and result.table is not None:
            yield table(result.table, colour=colour), False
        elif label in ("Note", "Model"):
            yield Text.assemble(Text(f"{label}: ", style=heading), styled(body, colour=colour)), False
        elif label == CODE:
            yield Text("\n").join([Text(label, style=heading), snippet(body, result.code_file, colour=colour)]), True
        elif label:
            yield Text("\n").join([Text(label, style=heading), styled(body, colour=colour)]), False
        else:
            yield styled(body, colour=colour, runs=result.tokens, standard=console.color_system == "standard"), False


def styled(markup: str, *, colour: bool, runs: Sequence[TokenRun] = (), standard: bool = False) -> Text:
    """The core's markup as rich text: bold as bold, code spans as code (their backticks kept), and the
    code spans that spell a token run one after another (`runs`) each on its own background instead."""
    from rich.text import Text

    parsed = spans(markup)
    fills = token_fills(parsed, runs, standard=standard) if colour else {}
    text = Text()
    for i, span in enumerate(parsed):
        if i in fills:
            text.append(span.text, style=f"black on {fills[i]}")
        elif span.code:
            text.append(code_span(span.text), style=CODE_STYLE if colour else "")
        else:
            text.append(span.text, style="bold" if span.bold and colour else "")
    return text


def token_fills(parsed: Sequence[Span], runs: Sequence[TokenRun], *, standard: bool = False) -> dict[int, str]:
    """Span index -> background, for each run found in order as code spans separated by single spaces.
    Neighbours differ; added special tokens are grey. A run not found as such (a token holding a
    backtick, say) is left as code spans: colour only where the boundaries are certain."""
    palette, special = (STANDARD_PALETTE, STANDARD_SPECIAL) if standard else (PALETTE, SPECIAL_FILL)
    fills: dict[int, str] = {}
    start = 0
    for run in runs:
        found = _find_run(parsed, run.tokens, start)
        if found is None:
            continue
        for n, index in enumerate(found):
            added = n < len(run.special) and run.special[n]
            fills[index] = special if added else palette[n % len(palette)]
        start = found[-1] + 1 if found else start
    return fills


def _find_run(parsed: Sequence[Span], tokens: Sequence[str], start: int) -> list[int] | None:
    if not tokens:
        return []
    for first in range(start, len(parsed)):
        indices = [first + 2 * n for n in range(len(tokens))]
        if indices[-1] >= len(parsed):
            return None
        if all(parsed[i].code and parsed[i].text == token for i, token in zip(indices, tokens, strict=True)) and \
                all(parsed[i + 1].text == " " and not parsed[i + 1].code for i in indices[:-1]):
            return indices
    return None


def table(data: Table, *, colour: bool) -> RenderableType:
    """A table that fits the terminal: columns share its width, long cells wrap inside their column."""
    from rich import box
    from rich.table import Table as RichTable
    from rich.text import Text

    shown = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold" if colour else "",
                      expand=False)
    for column in data.columns:
        shown.add_column(Text(column), overflow="fold")
    for row in data.rows:
        shown.add_row(*(Text(cell) for cell in row))
    return shown


def snippet(code: str, filename: str, *, colour: bool) -> Text:
    """A "try it yourself" snippet, highlighted as what it is (Python; JSON for /mydata) in the terminal's own
    ANSI colours, so it reads on light and dark backgrounds alike."""
    from rich.text import Text

    if not colour:
        return Text(code)
    from rich.syntax import Syntax

    lexer = "python" if filename.endswith(".py") else Syntax.guess_lexer(filename, code)
    highlighted = Syntax(code, lexer, theme="ansi_dark", background_color="default").highlight(code)
    highlighted.rstrip()
    return highlighted
