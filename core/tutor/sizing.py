"""One lesson step = one message a learner reads on a phone: at most `CHARS` characters and `LINES` lines.

The core cannot render for a platform, so it measures the plainest rendering (the console's: every
section with its heading, the numbered choices under it) and keeps a margin for what a platform adds
(Discord's escapes, Slack's entities, an embed's title and field names). tests/core/tutor/test_lesson_walks.py
checks the real console, Discord and Slack renderings of every step of every lesson against the limits.

`fit` shortens a step that is too long, in this order, each cut said in the step: the table keeps its
first rows, "What happened" keeps its first points, the answer keeps its start.
"""
from __future__ import annotations

import dataclasses
import re

from core.actions import flatten
from core.markup import sections, to_plain
from core.results import Result, Table
from core.wording import plural

CHARS = 1800
LINES = 30
ROOM_CHARS = CHARS - 200
ROOM_LINES = LINES - 3
"""What the core lets a step use: the margin covers escapes, entities, a title and field names."""
MIN_ROWS = 4


def measure(result: Result) -> tuple[int, int]:
    """(characters, lines) of the console's rendering: sections with headings, then the numbered choices."""
    blocks = []
    for label, body in sections(result):
        shown = body if label in ("table",) or label == "Try it yourself" else to_plain(body)
        blocks.append(shown if label in ("", "table") else f"{label}\n{shown}")
    choices = [f"  {n}. {a.label}" for n, a in enumerate(flatten(result.actions), start=1)]
    text = "\n\n".join(blocks) + ("\n\nNext (type a number):\n" + "\n".join(choices) if choices else "")
    return len(text), text.count("\n") + 1


def fits(result: Result) -> bool:
    chars, lines = measure(result)
    return chars <= ROOM_CHARS and lines <= ROOM_LINES


def fit(result: Result, more: str) -> Result:
    """`result` cut to fit a step; `more` says where the whole of it is ("Open as /tokenize shows it all")."""
    if fits(result):
        return result
    table = result.table
    if table is not None and len(table.rows) > MIN_ROWS:
        for keep in range(len(table.rows) - 1, MIN_ROWS - 1, -1):
            cut = dataclasses.replace(result, table=_rows(table, keep))
            if fits(cut):
                return cut
        result = dataclasses.replace(result, table=_rows(table, MIN_ROWS))
    points = result.explanation.split("\n")
    for keep in range(len(points) - 1, 0, -1):
        cut = dataclasses.replace(result, explanation="\n".join(points[:keep]) + f"\n(… {more}.)")
        if fits(cut):
            return cut
    if len(points) > 1:
        result = dataclasses.replace(result, explanation=points[0] + f"\n(… {more}.)")
    if fits(result):
        return result
    return _cut_answer(result, more)


def _rows(table: Table, keep: int) -> Table:
    """The first `keep` rows, and a last row that says how many more there are (in the widest column, so
    the cut widens no column)."""
    left = len(table.rows) - keep
    widths = [max(len(row[i]) for row in (table.columns, *table.rows)) for i in range(len(table.columns))]
    wide = widths.index(max(widths))
    filler = tuple(f"… {plural(left, 'more row')}" if i == wide else "…" for i in range(len(table.columns)))
    return Table(table.columns, (*table.rows[:keep], filler))


def _cut_answer(result: Result, more: str) -> Result:
    """The answer's first lines, or its start cut at a sentence's end: never a sentence broken off mid-way.
    An answer already as short as that start is left whole: cutting it could save only a few words."""
    lines = result.answer.split("\n")
    while len(lines) > 2:
        lines.pop()
        cut = dataclasses.replace(result, answer="\n".join(lines) + f"\n(… {more}.)")
        if fits(cut):
            return cut
    limit = max(200, ROOM_CHARS // 3)
    if len(result.answer) <= limit:
        return result
    head = result.answer[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)
            if head[:m.end()].count("`") % 2 == 0 and head[:m.end()].count("**") % 2 == 0]  # outside markup
    kept = head[:ends[-1]] if ends else head.rsplit(" ", 1)[0] + " …"
    return dataclasses.replace(result, answer=f"{kept.rstrip()} (… {more}.)")


_SENTENCE_END = re.compile(r"[.!?](?=\s)")
"""Where a sentence ends: a full stop, question or exclamation mark followed by a space or a line break."""
