"""Platform-neutral results: what every command returns and every adapter renders.

Text uses a tiny markup that every adapter can translate: `**bold**` and `` `code` ``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pragma: no cover
    from core.actions import Choice


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def as_text(self) -> str:
        """A fixed-width rendering, for consoles and code blocks. Columns are padded by the width a
        monospaced screen gives each cell (see `display_width`), so CJK, emoji and accents line up."""
        cells = [self.columns, *self.rows]
        widths = [max(display_width(r[i]) for r in cells) for i in range(len(self.columns))]
        lines = ["  ".join(c + " " * (w - display_width(c)) for c, w in zip(row, widths, strict=False)).rstrip()
                 for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)


def display_width(text: str) -> int:
    """Columns a monospaced terminal gives `text`: wide and fullwidth characters (CJK, emoji) take two,
    combining marks and format characters none, and a grapheme cluster is measured whole (a family emoji
    joined by zero-width joiners takes two, not six; a flag two; an emoji with VS16 two). rich's measure,
    the one the console wraps its lines by (bot/console/render.py), so a table and the text around it
    agree (it gave wcwidth 0.9's `wcswidth` figure on every case of tests/bot/console/test_console_render.py). A control
    character (a tab, a newline), which has no width of its own, counts as one. `len()` counts code
    points instead."""
    from rich.cells import cell_len  # imported when a table is drawn, not at every start (about 7 ms)

    return cell_len(_CONTROL.sub(" ", text))


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class TokenRun:
    """One tokenizer's tokens, in the order and spelling the answer shows them (each a code span, separated
    by spaces: /tokenize, /compare). It says where one token ends and the next begins, so an adapter that
    can colour text gives each token its own background, as tokenizer playgrounds do (the console);
    the others show the code spans as they are."""

    tokens: tuple[str, ...]
    special: tuple[bool, ...] = ()
    """True for a special token the tokenizer added (drawn grey); empty: none is."""


@dataclass(frozen=True)
class Image:
    png: bytes
    filename: str
    alt: str


Show = Literal["reply", "update", "private"]
"""`reply`: a new public message for a typed command; for a click, the clicked message is replaced
when the clicker asked the original question, and anyone else gets a private copy (exploring
never rewrites someone else's answer). `update`: replace the clicked message for everyone (a
quiz's reveal, a lesson's next step). `private`: for the asker or clicker alone (an answer's
acknowledgement, /progress, /mydata)."""


@dataclass(frozen=True)
class Timer:
    seconds: float
    action_id: str


@dataclass(frozen=True)
class Result:
    """One answer: the answer itself, what happened, and code that reproduces it."""

    command: str
    answer: str
    explanation: str
    code: str
    model: str
    table: Table | None = None
    images: tuple[Image, ...] = ()
    notices: tuple[str, ...] = field(default_factory=tuple)
    actions: tuple[Choice, ...] = ()
    """Follow-up choices (buttons, a select): each runs a command through the same policy."""
    show: Show = "reply"
    """How an adapter delivers it; see `Show`."""
    timer: Timer | None = None
    """An action the adapter runs by itself later (a quiz's reveal), as if the asker chose it."""
    code_file: str = "snippet.py"
    """The file name `code` gets where an adapter attaches it instead of showing it (too long for a
    message): `/mydata`'s JSON is `mydata.json`, not a Python file."""
    tokens: tuple[TokenRun, ...] = ()
    """The token runs shown in `answer`, for adapters that colour each token (see `TokenRun`)."""
    forgot: bool = False
    """/forget has just deleted the learner's records: an adapter that keeps anything of theirs itself
    (the console's chat history) deletes it too."""

    def as_text(self) -> str:
        """The whole answer as plain text (console, logs, fallbacks): the sections that have something
        in them, as `core.markup.sections` gives them (no empty heading, no "Model: -")."""
        from core.markup import sections  # core.markup imports this module for its types only

        parts = []
        for label, body in sections(self):
            parts.append(body if label in ("", "table") else f"{label}: {body}" if label in ("Note", "Model")
                         else f"{label}\n{body}")
        return "\n\n".join(parts)
