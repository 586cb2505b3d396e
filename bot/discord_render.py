"""Turn a core `Result` into the pieces of one Discord message, within Discord's limits.

Pure functions (no network, no client), so the limits are unit-tested without Discord.
The layout follows the core's sections (`core.markup.sections`, with their labels): the answer,
the table as a code block and the notes in the embed's description, "What happened" and "Try
it yourself" as fields, the model in the footer, the first picture as the embed's image and
the actions as components (bot.discord_views). Every cut is visible: a trimmed part ends with
a notice, a too-long snippet becomes an attached `snippet.py`, and a picture over the upload
limit becomes its alt text. Text goes through bot.discord_markup, so a learner's backticks
cannot open or close a code span or block (see that module for why each choice renders
correctly on Discord).
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass

import discord

from bot.discord_markup import break_runs, discord_markup, outgoing
from bot.discord_views import build_view
from core.actions import Ask, Choice
from core.markup import CODE, EXPLANATION, MODEL, NOTE, code, plain, sections, split_text, to_plain
from core.results import Image, Result

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
"""Discord counts title, description, field names and values, footer and author together."""
MAX_FILES = 10
MAX_EXPLANATION_FIELDS = 3
MAX_CODE_FIELDS = 3
SNIPPET_FILENAME = "snippet.py"
EMBED_COLOUR = 0xFFD21E  # Hugging Face yellow

EXPLANATION_NAME = EXPLANATION
CODE_NAME = CODE
CONTINUED = " (continued)"
CUT_NOTICE = "… (cut to fit Discord's limit)"


@dataclass(frozen=True)
class Attachment:
    """A file to upload with the message; `description` is the alt text Discord shows."""

    filename: str
    data: bytes
    description: str = ""

    def to_file(self) -> discord.File:
        """A fresh `discord.File` (they are single-use streams, so build one per send)."""
        return discord.File(io.BytesIO(self.data), filename=self.filename, description=self.description or None)


@dataclass(frozen=True)
class Reply:
    """One Discord message: an embed, its attachments and its actions."""

    embed: discord.Embed
    attachments: tuple[Attachment, ...] = ()
    choices: tuple[Choice, ...] = ()

    def files(self) -> list[discord.File]:
        return [a.to_file() for a in self.attachments]

    def view(self, asks: dict[str, Ask] | None = None) -> discord.ui.View | None:
        """The components, built fresh inside the event loop (see bot.discord_views)."""
        return build_view(self.choices, asks)


def trim(text: str, limit: int, notice: str = CUT_NOTICE) -> str:
    """`text` if it fits in `limit` characters, else its start followed by a visible notice."""
    if len(text) <= limit:
        return text
    keep = max(0, limit - len(notice) - 1)
    return (text[:keep].rstrip() + "\n" + notice)[:limit]


def fit_markup(text: str, limit: int, notice: str = CUT_NOTICE) -> str:
    """The core's markup as Discord text of at most `limit` characters, cut with `notice` if needed.

    The cut is made on the core's text, before translating it: a cut there can only leave a
    backtick without its partner, which is then shown as a plain backtick. Cutting the
    translated text could leave a span open that swallows the table or notes after it.
    """
    shown = discord_markup(text)
    keep = len(text)
    while len(shown) > limit and keep > 0:
        keep = max(0, min(keep - 1, keep - (len(shown) - limit)))
        shown = discord_markup(trim(text, keep, notice))
    return shown[:limit]


def error_text(message: str) -> str:
    """A learner-facing error (the core's markup) as message content of at most 2000 characters."""
    return fit_markup(message.strip() or "Something went wrong.", CONTENT_LIMIT)


def human_size(n_bytes: int) -> str:
    if n_bytes >= 1024 * 1024:
        return f"{n_bytes / (1024 * 1024):.1f} MiB"
    if n_bytes >= 1024:
        return f"{n_bytes / 1024:.0f} KiB"
    return f"{n_bytes} B"


def _defuse_fences(text: str) -> str:
    """Stop text (often the learner's own) from closing our code block early: no three backticks touch.

    Discord ends a code block at the first three backticks whatever the opening fence was, so
    a longer fence cannot help; see bot.discord_markup.
    """
    return break_runs(outgoing(text), 2)


def code_block(body: str, limit: int, lang: str = "") -> str:
    """A fenced block of at most `limit` characters; cut lines are counted inside it."""
    head, tail = f"```{lang}\n", "\n```"
    lines = _defuse_fences(body).splitlines() or [""]
    room = limit - len(head) - len(tail)
    text = "\n".join(lines)
    if len(text) <= room:
        return head + text + tail
    kept: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        notice = f"… {len(lines) - i} more lines not shown"
        if used + len(line) + 1 + len(notice) > room:
            kept.append(notice[: max(0, room - used)])
            break
        kept.append(line)
        used += len(line) + 1
    return head + "\n".join(kept) + tail


def split_code(code: str, size: int) -> list[str]:
    """Fenced ```py blocks of at most `size` characters each, split at line breaks."""
    head, tail = "```py\n", "\n```"
    room = size - len(head) - len(tail)
    blocks: list[list[str]] = []
    current: list[str] = []
    used = 0
    for line in _defuse_fences(code.strip("\n")).splitlines():
        for piece in [line[i:i + room] for i in range(0, len(line), room)] or [""]:
            cost = len(piece) + (1 if current else 0)
            if current and used + cost > room:
                blocks.append(current)
                current, used, cost = [], 0, len(piece)
            current.append(piece)
            used += cost
    if current:
        blocks.append(current)
    return [head + "\n".join(b) + tail for b in blocks]


def safe_filename(name: str, fallback: str = "image.png") -> str:
    """Discord's `attachment://` links need plain ASCII names."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned[:100] or fallback


def _image_pieces(images: tuple[Image, ...], file_limit: int) -> tuple[list[Attachment], list[str]]:
    """Attach every image that fits the upload limit (each under a name of its own); describe the
    others in words (the core's markup)."""
    attached: list[Attachment] = []
    fallbacks: list[str] = []
    for image in images:
        name = _free_name(safe_filename(image.filename), {a.filename for a in attached})
        if len(image.png) <= file_limit and len(attached) < MAX_FILES - 1:
            attached.append(Attachment(name, image.png, trim(outgoing(image.alt), 1024, "…")))
        else:
            fallbacks.append(
                f"The picture {code(name)} ({human_size(len(image.png))}) is over this chat's upload "
                f"limit ({human_size(file_limit)}), so here is what it shows: {plain(image.alt)}"
            )
    return attached, fallbacks


def _free_name(name: str, taken: set[str]) -> str:
    """`name`, or `name-2.png`, `name-3.png`...: two attachments with one name would show one picture twice."""
    stem, dot, suffix = name.rpartition(".")
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}.{suffix}" if dot else f"{name}-{n}"
    return candidate


@dataclass(frozen=True)
class Parts:
    """A result's sections (core.markup.sections), grouped the way one embed shows them."""

    answer: str
    table: str | None
    notes: list[str]
    explanation: str
    code: str
    model: str

    @classmethod
    def of(cls, result: Result) -> Parts:
        found = sections(result)
        by_label = {label: markup for label, markup in found}
        return cls(answer=found[0][1], table=by_label.get("table"),
                   notes=[markup for label, markup in found if label == NOTE],
                   explanation=by_label.get(EXPLANATION, ""), code=by_label.get(CODE, ""),
                   model=to_plain(by_label.get(MODEL, "")))


def _description(parts: Parts, fallbacks: list[str], limit: int) -> str:
    """The answer, the table as a code block, then notes; the table is cut first."""
    notes = [f"**{NOTE}:** {n}" for n in [*parts.notes, *fallbacks]]
    notes_text = fit_markup("\n".join(notes), limit // 4) if notes else ""
    answer = fit_markup(parts.answer.strip() or "(no answer)", limit // 2)
    fixed = len(answer) + (len(notes_text) + 2 if notes_text else 0)
    shown = [answer]
    if parts.table is not None:
        shown.append(code_block(parts.table, max(40, limit - fixed - 2)))
    if notes_text:
        shown.append(notes_text)
    return trim("\n\n".join(shown), limit)


def _explanation_fields(text: str, budget: int) -> list[str]:
    """"What happened" as up to three field values, cut with a notice past the budget.

    Split and cut on the core's text, then each piece is translated on its own, so no code
    span is left open across two fields; the room shrinks until the translated pieces fit.
    """
    if not text.strip():
        return []  # nothing happened worth a heading (core.markup.sections leaves it out too)
    budget = max(60, budget)
    source = text.strip()
    room = min(budget, FIELD_VALUE_LIMIT * MAX_EXPLANATION_FIELDS - 10)
    while True:
        cut = source
        if len(source) > room or len(split_text(source, FIELD_VALUE_LIMIT)) > MAX_EXPLANATION_FIELDS:
            cut = trim(source, room)
        chunks = split_text(cut, FIELD_VALUE_LIMIT)[:MAX_EXPLANATION_FIELDS]
        fields = [fit_markup(chunk, FIELD_VALUE_LIMIT) for chunk in chunks]
        over = sum(map(len, fields)) - budget
        if over <= 0 or room <= 60:
            return fields
        room = max(60, room - over)


def _snippet_reason(code_values: list[str], snippet: str, room: int) -> str | None:
    """Why the snippet cannot be shown in the message as is, or None when it can."""
    if len(code_values) > MAX_CODE_FIELDS or sum(map(len, code_values)) > room:
        return "is too long for a message"
    if "```" in snippet:  # shown, it would need invisible breaks that change what the code prints
        return "has three backticks in a row, which a Discord code block cannot show as they are"
    return None


def _code_fields(snippet: str, room: int, attachments: list[Attachment], file_limit: int,
                 name: str = SNIPPET_FILENAME) -> list[str]:
    """"Try it yourself": code blocks, or the snippet attached as a file when it cannot be shown as is."""
    values = split_code(snippet, FIELD_VALUE_LIMIT) if snippet.strip() else []
    reason = _snippet_reason(values, snippet, room)
    if not values or not reason:
        return values
    data = snippet.encode("utf-8")
    if len(data) <= file_limit and len(attachments) < MAX_FILES:
        attachments.append(Attachment(name, data, "Code that reproduces this answer"))
        return [f"The snippet {reason}, so it is attached as `{name}`."]
    return [code_block(snippet, FIELD_VALUE_LIMIT - 40, "py") + "\n… (snippet cut to fit)"]


def render_result(result: Result, file_limit: int) -> Reply:
    """One message for one answer: embed (answer, table, what happened, code, model), files and actions.

    `file_limit` is the upload limit in bytes for this interaction (read at run time).
    """
    parts = Parts.of(result)
    attachments, fallbacks = _image_pieces(result.images, file_limit)
    title = trim(outgoing(f"/{result.command}"), TITLE_LIMIT, "…")
    footer = trim(outgoing(f"{MODEL}: {parts.model}"), FOOTER_LIMIT, "…") if parts.model else ""
    names = len(EXPLANATION_NAME) * MAX_EXPLANATION_FIELDS + len(CONTINUED) * 4 + len(CODE_NAME) * MAX_CODE_FIELDS
    fixed = len(title) + len(footer) + names
    description = _description(parts, fallbacks, min(DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - fixed - 1500))
    budget = EMBED_TOTAL_LIMIT - fixed - len(description)
    code_values = _code_fields(outgoing(parts.code), budget - len(parts.explanation.strip()), attachments,
                               file_limit, result.code_file)
    explanation = _explanation_fields(parts.explanation, budget - sum(map(len, code_values)))

    embed = discord.Embed(title=title, description=description, colour=EMBED_COLOUR)
    for i, value in enumerate(explanation):
        embed.add_field(name=EXPLANATION_NAME + (CONTINUED if i else ""), value=value, inline=False)
    for i, value in enumerate(code_values):
        embed.add_field(name=CODE_NAME + (CONTINUED if i else ""), value=value, inline=False)
    if footer:  # an answer that ran no model has no model line (core.markup.sections)
        embed.set_footer(text=footer)
    images = [a for a in attachments if a.filename.lower().endswith(".png")]
    if images:
        embed.set_image(url=f"attachment://{images[0].filename}")
    return Reply(embed=embed, attachments=tuple(attachments), choices=result.actions)
