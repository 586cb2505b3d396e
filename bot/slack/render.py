"""Turn a platform-neutral `Result` into a Slack message (Block Kit plus a text fallback).

Pure functions only, so the limits and the escaping can be unit-tested without Slack. The core's
markup is parsed once, by `core.markup.spans` (bold, CommonMark code spans, backslash escapes), and
laid out in `core.markup.sections` order; this module only says how each span looks in mrkdwn.

Every piece of text that reaches Slack goes through `escape`: results echo the learner's words
(and models echo tokens such as `<mask>`), and an unescaped `<!channel>` would ping a whole
channel; a lone surrogate (a JSON `"\\ud800"` escape) would not even encode.

Backticks. Slack's mrkdwn has no escape: any backtick opens or closes inline code, and any ```
opens or closes a code block. So a backtick that belongs to the text, not to the markup, is shown
as ˋ (U+02CB, modifier letter grave accent), which Slack never pairs: everywhere in inline code and
in plain text, and in code blocks wherever three or more would run together (one or two are shown
as they are there). A zero-width space between backticks was the other candidate; it is invisible,
so a copied snippet would silently differ, and Slack may still pair the backticks around it. A
message where this happened says so in a note.
"""
# ruff: noqa: RUF001, RUF002 - U+02CB, the backtick look-alike, is the point of this module
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.markup import CODE, EXPLANATION, MODEL, NOTE, Span, sections, spans, to_plain
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
ECHO_BLOCK = "tt1:q"
"""The block id of the echoed question, so an update of the message can keep it."""

LOOKALIKE = "\u02cb"
"""ˋ: what a backtick of the learner's text is shown as where Slack would pair it."""
BACKTICK_NOTE = (f"Slack cannot show backticks inside code, so the backticks of this text appear as {LOOKALIKE}; "
                 "type backticks in their place if you copy it.")

_FENCE = "```"
_FENCE_RUN = re.compile(r"`{3,}")


@dataclass(frozen=True)
class SlackMessage:
    """The arguments of chat.postMessage / chat.update / a response_url payload."""

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


_SYNTAX = re.compile(r"<([^<>]*)>")
_ID = re.compile(r"[A-Z0-9]+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S")
_SPECIAL = ("here", "channel", "everyone")


def as_seen(text: str) -> str:
    """Text from Slack (a mention, a DM, a slash command) as the learner saw it, for the core.

    Slack sends links, channels and mentions in its angle-bracket syntax; each becomes what the
    client showed: `<https://x.y|this>` -> `this`, `<https://x.y>` -> the URL (`<mailto:a@b.c>` ->
    the address), `<#C1|general>` -> `#general` (`#C1` unnamed), `<@U9|ada>` -> `@ada` (`@U9`
    unnamed), `<!here>` -> `@here` (and `!channel`, `!everyone`), `<!subteam^S1|@team>` -> `@team`,
    `<!date^…|fallback>` -> the fallback. Then `&lt; &gt; &amp;` are undone: in that order, so a `<`
    the learner typed (which Slack sends as `&lt;`) stays text and is never read as syntax. Angle
    brackets of no such form (`<mask>` in text that Slack did not escape) are left as they are.
    """
    return unescape(_SYNTAX.sub(_seen, text))


def _seen(match: re.Match[str]) -> str:
    body, _, label = match.group(1).partition("|")
    sign = body[:1]
    if sign in ("@", "#") and _ID.fullmatch(body[1:]):
        name = label.lstrip(sign)
        return sign + name if name else body
    if body[:1] == "!":
        word, _, rest = body[1:].partition("^")
        if word in _SPECIAL and not rest:
            return f"@{word}"
        if word == "subteam" and _ID.fullmatch(rest):
            return label or f"@{rest}"
        if word == "date" and label:
            return label
        return match.group(0)
    if _SCHEME.match(body):
        return label or body.removeprefix("mailto:")
    return match.group(0)


# ----- the core's markup in mrkdwn -----
def read(markup: str) -> tuple[list[Span], int]:
    """The markup's spans, each backtick of the text swapped for ˋ; and how many were swapped.

    Cleaned first: a control character removed later could expose a space. Inside a code span a
    line end becomes a space (CommonMark's rule; Slack's inline code cannot span lines)."""
    out, swapped = [], 0
    for span in spans(clean_text(markup).text):
        text = span.text.replace("\n", " ") if span.code else span.text
        swapped += text.count("`")
        out.append(Span(text.replace("`", LOOKALIKE), span.bold, span.code))
    return out, swapped


def _cost(span: Span) -> int:
    """An upper bound on the span's mrkdwn length: escaped text, its backticks, its share of `*`."""
    return len(escape(span.text)) + 2 * span.code + 2 * span.bold


def chunks(parts: Sequence[Span], limit: int) -> list[list[Span]]:
    """The spans in groups whose mrkdwn fits `limit`; a span that does not fit is cut at a line end
    or space when one is near, so each group renders on its own, with its bold and code closed."""
    groups: list[list[Span]] = [[]]
    used = 0
    queue = list(reversed(parts))
    while queue:
        span = queue.pop()
        room = limit - used
        if _cost(span) <= room:
            groups[-1].append(span)
            used += _cost(span)
            continue
        head, tail = _cut(span.text, room - 2 * span.code - 2 * span.bold)
        if groups[-1] and (not head or room < limit // 4):
            groups.append([])
            used = 0
            queue.append(span)
            continue
        groups[-1].append(Span(head, span.bold, span.code))
        groups.append([])
        used = 0
        queue.append(Span(tail, span.bold, span.code))
    return [g for g in groups if g] or [[]]


def _cut(text: str, budget: int) -> tuple[str, str]:
    """The longest head of `text` whose escaped length fits `budget`, ended at a break when one is in
    its second half; `("", text)` when not even one character fits."""
    size, end = 0, 0
    while end < len(text):
        cost = len(escape(text[end]))
        if size + cost > budget:
            break
        size, end = size + cost, end + 1
    head = text[:end]
    brk = max(head.rfind("\n"), head.rfind(" "))
    if end < len(text) and brk >= end // 2 and brk > 0:
        end = brk + 1
    return text[:end], text[end:]


def render(group: Sequence[Span]) -> str:
    """One group of spans as mrkdwn: bold runs (which may hold code) in `*`, code in single backticks."""
    out: list[str] = []
    i = 0
    while i < len(group):
        j = i
        while j < len(group) and group[j].bold == group[i].bold:
            j += 1
        inner = "".join(_one(s) for s in group[i:j])
        out.append(_wrap(inner, "*") if group[i].bold else inner)
        i = j
    return "".join(out)


def _one(span: Span) -> str:
    return _wrap(escape(span.text), "`") if span.code else escape(span.text)


def _wrap(content: str, mark: str) -> str:
    """Slack leaves `* x*` or `` ` x` `` unformatted (a space just inside the marks), and its marks
    would then pair with others: spaces go outside, and a run of spaces alone stays plain spaces."""
    core = content.strip()
    if not core:
        return content
    lead, trail = content[: len(content) - len(content.lstrip())], content[len(content.rstrip()):]
    return f"{lead}{mark}{core}{mark}{trail}"


def to_mrkdwn(markup: str) -> str:
    """The core's markup in Slack's, in one piece (no limit)."""
    return render(read(markup)[0])


def inline_code(text: str, limit: int = SECTION_LIMIT - 2) -> str:
    """`text` as one Slack inline code span (raw text, not markup), escaped, unbreakable, and cut so
    that its escaped form fits `limit` (an entity such as `&lt;` is never cut in half)."""
    return _wrap(escape(fit(text.replace("`", LOOKALIKE).replace("\n", " "), limit)), "`")


def fit(text: str, limit: int) -> str:
    """The longest head of raw `text` whose escaped form fits `limit`."""
    return _cut(text, limit)[0] if len(escape(text)) > limit else text


def fence_safe(text: str) -> tuple[str, int]:
    """Text for inside a ``` block: runs of three or more backticks become ˋ; and how many did."""
    text = clean_text(text).text  # first: removing a control character could join two runs
    swapped = sum(len(m.group()) for m in _FENCE_RUN.finditer(text))
    return _FENCE_RUN.sub(lambda m: LOOKALIKE * len(m.group()), text), swapped


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Chunks of raw `text` whose *escaped* length fits `limit`, cut at line ends when possible.

    Measuring the escaped length means an entity such as `&lt;` is never cut in half.
    """
    pieces: list[str] = []
    current, size = "", 0
    for line in text.splitlines(keepends=True):
        cost = len(escape(line))
        if cost > limit:
            if current:
                pieces.append(current)
                current, size = "", 0
            hard = _hard_split(line, limit)
            pieces.extend(hard[:-1])
            current, size = hard[-1], len(escape(hard[-1]))
        elif size + cost > limit:
            pieces.append(current)
            current, size = line, cost
        else:
            current, size = current + line, size + cost
    if current or not pieces:
        pieces.append(current)
    return [c.rstrip("\n") for c in pieces]


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


# ----- blocks -----
def section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def context(mrkdwn: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn}]}


def _trimmed() -> dict[str, Any]:
    return context(f"_Trimmed: Slack shows at most {MAX_SECTIONS_PER_PART} sections of {SECTION_LIMIT} "
                   "characters here._")


def text_sections(parts: Sequence[Span]) -> list[dict[str, Any]]:
    """Prose as sections of at most SECTION_LIMIT characters; trimmed with a notice if huge."""
    groups = chunks(parts, SECTION_LIMIT)
    blocks = [section(render(g) or "-") for g in groups[:MAX_SECTIONS_PER_PART]]
    return blocks + ([_trimmed()] if len(groups) > MAX_SECTIONS_PER_PART else [])


def code_sections(raw: str) -> list[dict[str, Any]]:
    """Raw text (a table, a snippet; already fence-safe) in ``` blocks; trimmed with a notice if huge."""
    pieces = split_text(raw, SECTION_LIMIT - 2 * len(_FENCE) - 2)
    blocks = [section(f"{_FENCE}\n{escape(p)}\n{_FENCE}") for p in pieces[:MAX_SECTIONS_PER_PART]]
    return blocks + ([_trimmed()] if len(pieces) > MAX_SECTIONS_PER_PART else [])


@dataclass(frozen=True)
class Echo:
    """The question a slash command asked, repeated on top of its answer (Slack shows it to nobody else)."""

    question: str
    asker_name: str = ""
    """The asker's Slack handle, shown as text (`@ada`): a `<@U…>` mention would notify them."""

    def block(self) -> dict[str, Any]:
        shown = self.question if len(self.question) <= ECHO_LIMIT else self.question[: ECHO_LIMIT - 1] + "…"
        who = f" (asked by @{escape(self.asker_name[:80])})" if self.asker_name.strip() else ""
        return {**context(f"{inline_code(shown)}{who}"), "block_id": ECHO_BLOCK}


def code_fits(result: Result) -> bool:
    """Whether the result's code shows whole in a message (at most MAX_SECTIONS_PER_PART code sections);
    where it does not (/mydata's JSON of a busy learner), the adapter sends it as a file."""
    return len(split_text(fence_safe(result.code)[0], SECTION_LIMIT - 2 * len(_FENCE) - 2)) <= MAX_SECTIONS_PER_PART


def render_result(result: Result, *, echo: Echo | dict[str, Any] | None = None,
                  actions: Sequence[dict[str, Any]] = (), extra: Sequence[dict[str, Any]] = (),
                  code_note: str | None = None) -> SlackMessage:
    """The whole answer, in the core's section order, with `actions` (Block Kit action blocks) after
    the answer, its table and notes, where the eye still is; `extra` (context notes) right above them.

    `echo` is the question repeated on top: an `Echo` for a fresh answer, or the block an updated
    message already had. `code_note` stands in for the code when it went as a file (plain text)."""
    head: list[dict[str, Any]] = []
    if echo is not None:
        head.append(echo.block() if isinstance(echo, Echo) else echo)
    tail: list[dict[str, Any]] = []
    swapped = echo.question.count("`") if isinstance(echo, Echo) else 0
    for label, body in sections(result):
        blocks, count = ([section(f"*{CODE}*"), section(escape(code_note))], 0) if label == CODE and code_note \
            else _part(label, body)
        (tail if label in (EXPLANATION, CODE, MODEL) else head).extend(blocks)
        swapped += count
    if swapped:
        head.append(context(f":information_source: {escape(BACKTICK_NOTE)}"))
    head.extend(extra)
    blocks = fit_blocks(head + tail, BLOCK_LIMIT - len(actions))
    at = min(len(head), len(blocks) - 1)
    return SlackMessage(text=fallback_text(result.answer), blocks=blocks[:at] + list(actions) + blocks[at:])


def _part(label: str, body: str) -> tuple[list[dict[str, Any]], int]:
    """One of `core.markup.sections`' parts as blocks, and how many backticks it had to swap."""
    if label == "table":
        text, swapped = fence_safe(body)
        return code_sections(text), swapped
    if label == CODE:
        text, swapped = fence_safe(body)
        return [section(f"*{CODE}*"), *code_sections(text)], swapped
    if label == MODEL:
        return [context(f"{MODEL}: {inline_code(to_plain(body), SECTION_LIMIT // 2)}")], 0
    parts, swapped = read(body)
    if label == NOTE:
        return [context(":information_source: " + render(chunks(parts, SECTION_LIMIT - 30)[0]))], swapped
    if label == EXPLANATION:
        return [section(f"*{EXPLANATION}*"), *text_sections(parts or [Span("-")])], swapped
    return text_sections(parts or [Span("(no answer)")]), swapped


def fallback_text(markup: str) -> str:
    """The `text` field Slack shows in notifications: the answer's first piece, short and balanced."""
    groups = chunks(read(markup)[0], FALLBACK_LIMIT - 1)
    text = render(groups[0]).strip() or "Answer"
    return text + "…" if len(groups) > 1 else text


def fit_blocks(blocks: list[dict[str, Any]], limit: int = BLOCK_LIMIT) -> list[dict[str, Any]]:
    """At most `limit` blocks; the last one (the model line) is kept and a notice says so."""
    if len(blocks) <= limit:
        return blocks
    notice = context(f"_Trimmed: Slack shows at most {BLOCK_LIMIT} blocks in a message._")
    return [*blocks[: limit - 2], notice, blocks[-1]]


def render_error(message: str) -> SlackMessage:
    """A learner-facing error (the core's markup, safe wording), escaped for Slack."""
    text = fallback_text(f":warning: {message}")
    return SlackMessage(text=text, blocks=[section(text)])


def render_note(text: str) -> dict[str, Any]:
    """A context line of plain text (escaped), e.g. where a private copy's picture went."""
    return context(escape(fit(text, SECTION_LIMIT - 10)))
