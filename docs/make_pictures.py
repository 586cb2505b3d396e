"""The README's pictures of an explored answer and its quiz round, made from real runs.

    python docs/make_pictures.py                # the offline pack: what `tutor chat --pack offline` shows
    python docs/make_pictures.py --pack tiny    # seconds, random weights (what the test uses)

It runs `/attention` through the real engine and policy, draws the answer the way Discord shows it
(the embed's title, answer, picture and model line, then the buttons and the select exactly as
bot/discord/views.py builds them from the result's actions), clicks the "next head" button through
the policy and draws the redrawn answer. Then three learners play one /quiz round in a channel and
the transcript is written as Markdown. Only the colours and spacing are chosen here; every word,
label and picture comes from the run, so rerunning the script keeps the README true.

The "What happened" and "Try it yourself" fields of the embed are left out of the pictures to keep
them short; the quiz transcript shows them in full.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import secrets
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's core, not an installed one

from matplotlib.font_manager import FontProperties, findfont
from PIL import Image, ImageDraw, ImageFont

from bot.discord.render import EMBED_COLOUR
from bot.discord.views import build_view
from core.actions import Action, flatten
from core.engine import Engine
from core.markup import CODE, EXPLANATION, MODEL, NOTE, sections, spans
from core.policy import Outcome, Policy, Request
from core.results import Result
from core.settings import Settings
from core.store import Database, RunStore
from core.tutor.quiz import LETTERS
from core.tutor.service import context_of, find

HEAD = 0
ATTENTION = f"/attention The cat sat on the mat because it was tired. layer=0 head={HEAD}"
QUIZ_KIND = "token-count"
ASKER = "ada"
LEARNERS = ("ada", "bo", "cy")
PICTURE = "explored-attention.png"
PICTURE_NEXT = "explored-attention-next.png"
TRANSCRIPT = "quiz-round.md"

# Discord's dark theme (styling only).
WIDTH = 760
PAD = 16
AVATAR = 40
TEXT_X = PAD + AVATAR + 16
EMBED_W = WIDTH - TEXT_X - PAD
IMAGE_MAX_W = 460
BACKGROUND = (49, 51, 56)
EMBED_BG = (43, 45, 49)
TEXT = (219, 222, 225)
MUTED = (148, 155, 164)
NAME = (242, 243, 245)
CODE_BG = (30, 31, 34)
BOT_TAG = (88, 101, 242)
BUTTON_COLOURS = {1: (88, 101, 242), 2: (78, 80, 88), 3: (36, 128, 70), 4: (218, 55, 60)}
SELECT_TYPE = 3
SELECT_BG = (30, 31, 34)
CLICKED_RING = (255, 255, 255)
BUTTON_H, BUTTON_GAP, BUTTON_PAD = 32, 8, 16
SELECT_W, SELECT_H = 400, 40


@dataclass(frozen=True)
class Component:
    """One component of Discord's message payload: a button (its label) or a select (its placeholder)."""

    widget: str
    label: str
    row: int
    style: int = 2
    """Discord's button style number: 1 primary, 2 secondary, 3 success, 4 danger."""
    action_id: str = ""


@dataclass(frozen=True)
class Picture:
    path: Path
    size: tuple[int, int]
    components: tuple[Component, ...]
    """What was drawn under the answer, in order."""
    result: Result
    """The answer drawn."""
    image_at: tuple[int, int]
    """Where its picture was pasted (top left)."""


# --- fonts and text ------------------------------------------------------------------------------------

def _font(family: str, size: int, weight: str = "normal") -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(findfont(FontProperties(family=family, weight=weight)), size)


@dataclass(frozen=True)
class Fonts:
    body: ImageFont.FreeTypeFont
    bold: ImageFont.FreeTypeFont
    mono: ImageFont.FreeTypeFont
    small: ImageFont.FreeTypeFont
    button: ImageFont.FreeTypeFont

    @classmethod
    def load(cls) -> Fonts:
        return cls(_font("DejaVu Sans", 15), _font("DejaVu Sans", 15, "bold"), _font("DejaVu Sans Mono", 14),
                   _font("DejaVu Sans", 12), _font("DejaVu Sans", 14))

    def of(self, *, bold: bool, code: bool) -> ImageFont.FreeTypeFont:
        return self.mono if code else self.bold if bold else self.body


def _words(markup: str) -> Iterator[tuple[str, bool, bool]]:
    """The markup's words (each with its trailing space), and `\n` for a line break."""
    for span in spans(markup):
        for n, line in enumerate(span.text.split("\n")):
            if n:
                yield "\n", False, False
            pieces = line.split(" ")
            for i, piece in enumerate(pieces):
                word = piece + (" " if i < len(pieces) - 1 else "")
                if word:
                    yield word, span.bold, span.code


Placed = tuple[int, int, str, bool, bool]


def layout(markup: str, fonts: Fonts, width: int, line_h: int = 21) -> tuple[list[Placed], int]:
    """Word-wrapped markup: `(x, y, word, bold, code)` for each word, and the height used."""
    placed: list[Placed] = []
    x = y = 0
    for word, bold, code in _words(markup):
        if word == "\n":
            x, y = 0, y + line_h
            continue
        w = fonts.of(bold=bold, code=code).getlength(word)
        if x and x + w > width:
            x, y = 0, y + line_h
        if not x and not word.strip():
            continue  # no space at the start of a line
        placed.append((x, y, word, bold, code))
        x += int(w)
    return placed, y + line_h


def draw_markup(draw: ImageDraw.ImageDraw, at: tuple[int, int], placed: list[Placed], fonts: Fonts) -> None:
    for x, y, word, bold, code in placed:
        font = fonts.of(bold=bold, code=code)
        if code:
            w = font.getlength(word.rstrip())
            draw.rounded_rectangle((at[0] + x - 2, at[1] + y, at[0] + x + w + 2, at[1] + y + 19), 3, fill=CODE_BG)
        draw.text((at[0] + x, at[1] + y + 1), word, font=font, fill=NAME if bold else TEXT)


# --- Discord's components for a result ----------------------------------------------------------------

async def components_of(result: Result) -> tuple[Component, ...]:
    """The buttons and select of the message Discord receives for this result: the component payload
    of the view bot/discord/views.py builds, row by row."""
    await asyncio.sleep(0)  # build_view needs a running event loop
    view = build_view(result.actions)
    if view is None:
        return ()
    out = []
    for row, action_row in enumerate(view.to_components()):
        for part in action_row["components"]:
            if part["type"] == SELECT_TYPE:
                out.append(Component("select", part.get("placeholder", ""), row))
            else:
                out.append(Component("button", part.get("label", ""), row, part["style"], part.get("custom_id", "")))
    return tuple(out)


# --- the picture ---------------------------------------------------------------------------------------

def heatmap_of(result: Result) -> Image.Image:
    shown = Image.open(io.BytesIO(result.images[0].png)).convert("RGB")
    if shown.width > IMAGE_MAX_W:
        shown = shown.resize((IMAGE_MAX_W, round(shown.height * IMAGE_MAX_W / shown.width)), Image.LANCZOS)
    return shown


def _width(component: Component, fonts: Fonts) -> int:
    if component.widget == "select":
        return SELECT_W
    return int(fonts.button.getlength(component.label)) + 2 * BUTTON_PAD


def _rows(components: tuple[Component, ...]) -> list[list[Component]]:
    return [[c for c in components if c.row == row] for row in sorted({c.row for c in components})]


def components_size(components: tuple[Component, ...], fonts: Fonts) -> tuple[int, int]:
    """The width of the widest row and the height of all rows."""
    rows = _rows(components)
    width = max((sum(_width(c, fonts) for c in row) + BUTTON_GAP * (len(row) - 1) for row in rows), default=0)
    height = sum((SELECT_H if row[0].widget == "select" else BUTTON_H) + BUTTON_GAP for row in rows)
    return width, height


def draw_select(draw: ImageDraw.ImageDraw, x: int, y: int, component: Component, fonts: Fonts) -> None:
    draw.rounded_rectangle((x, y, x + SELECT_W, y + SELECT_H), 4, fill=SELECT_BG, outline=(24, 25, 28))
    draw.text((x + 12, y + SELECT_H / 2), component.label, font=fonts.body, fill=MUTED, anchor="lm")
    cx, cy = x + SELECT_W - 20, y + SELECT_H / 2
    draw.line(((cx - 5, cy - 3), (cx, cy + 3), (cx + 5, cy - 3)), fill=TEXT, width=2)


def draw_button(draw: ImageDraw.ImageDraw, x: int, y: int, component: Component, fonts: Fonts,
                clicked: bool) -> None:
    box = (x, y, x + _width(component, fonts), y + BUTTON_H)
    draw.rounded_rectangle(box, 4, fill=BUTTON_COLOURS.get(component.style, BUTTON_COLOURS[2]))
    if clicked:
        draw.rounded_rectangle((box[0] - 3, box[1] - 3, box[2] + 3, box[3] + 3), 6, outline=CLICKED_RING, width=2)
    draw.text(((box[0] + box[2]) / 2, y + BUTTON_H / 2), component.label, font=fonts.button, fill=(255, 255, 255),
              anchor="mm")


def draw_components(draw: ImageDraw.ImageDraw, top: int, components: tuple[Component, ...], fonts: Fonts,
                    clicked: str = "") -> None:
    """Each row of the payload: buttons side by side (the clicked one ringed), or the select."""
    y = top
    for row in _rows(components):
        x = TEXT_X
        for c in row:
            if c.widget == "select":
                draw_select(draw, x, y, c, fonts)
            else:
                draw_button(draw, x, y, c, fonts, bool(clicked) and c.action_id == clicked)
            x += _width(c, fonts) + BUTTON_GAP
        y += (SELECT_H if row[0].widget == "select" else BUTTON_H) + BUTTON_GAP


def draw_answer(result: Result, components: tuple[Component, ...], caption: str, *,
                clicked: str = "") -> tuple[Image.Image, tuple[int, int]]:
    """One bot message as Discord's dark theme draws it (who asked, the embed, the components), and
    where the answer's picture went."""
    fonts = Fonts.load()
    inner = EMBED_W - 32
    answer, answer_h = layout(result.answer, fonts, inner)
    heatmap = heatmap_of(result)
    embed_h = 12 + 24 + answer_h + 10 + heatmap.height + 12 + 18 + 14
    rows_w, rows_h = components_size(components, fonts)
    canvas = Image.new("RGB", (max(WIDTH, TEXT_X + rows_w + PAD), 30 + 26 + embed_h + 12 + rows_h + PAD),
                       BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    draw.text((TEXT_X, 8), caption, font=fonts.small, fill=MUTED)
    top = 30
    draw.ellipse((PAD, top, PAD + AVATAR, top + AVATAR), fill=EMBED_COLOUR_RGB)
    draw.text((PAD + AVATAR / 2, top + AVATAR / 2), "TT", font=fonts.bold, fill=BACKGROUND, anchor="mm")
    draw.text((TEXT_X, top), "Transformers Tutor", font=fonts.bold, fill=NAME)
    tag_x = TEXT_X + int(fonts.bold.getlength("Transformers Tutor")) + 6
    draw.rounded_rectangle((tag_x, top + 2, tag_x + 30, top + 17), 3, fill=BOT_TAG)
    draw.text((tag_x + 15, top + 10), "APP", font=fonts.small, fill=(255, 255, 255), anchor="mm")
    y = top + 26
    draw.rounded_rectangle((TEXT_X, y, TEXT_X + EMBED_W, y + embed_h), 4, fill=EMBED_BG)
    draw.rectangle((TEXT_X, y, TEXT_X + 3, y + embed_h), fill=EMBED_COLOUR_RGB)
    x = TEXT_X + 16
    draw.text((x, y + 12), f"/{result.command}", font=fonts.bold, fill=NAME)
    draw_markup(draw, (x, y + 12 + 24), answer, fonts)
    image_y = y + 12 + 24 + answer_h + 10
    canvas.paste(heatmap, (x, image_y))
    draw.text((x, image_y + heatmap.height + 12), f"{MODEL}: {result.model}", font=fonts.small, fill=MUTED)
    draw_components(draw, y + embed_h + 12, components, fonts, clicked)
    return canvas, (x, image_y)


EMBED_COLOUR_RGB = ((EMBED_COLOUR >> 16) & 255, (EMBED_COLOUR >> 8) & 255, EMBED_COLOUR & 255)


def save(drawn: tuple[Image.Image, tuple[int, int]], path: Path, components: tuple[Component, ...],
         result: Result) -> Picture:
    canvas, image_at = drawn
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path, optimize=True)
    return Picture(path, canvas.size, components, result, image_at)


# --- the runs ------------------------------------------------------------------------------------------

def policy_for(pack: str, cache_dir: Path, work_dir: Path) -> Policy:
    """An engine on `pack` whose runs, rounds and learners live in `work_dir` (thrown away after)."""
    url = f"sqlite:///{work_dir / 'tutor.db'}"
    settings = Settings(pack=pack, cache_dir=cache_dir, cooldown_s=0.0, request_timeout_s=300.0,
                        database_url=url, secret=secrets.token_hex(16))
    return Policy(Engine(settings), runs=RunStore(Database(url)), cooldown_s=0.0)


def answered(outcome: Outcome) -> Result:
    if outcome.result is None:
        raise RuntimeError(f"{outcome.verdict}: {outcome.message}")
    return outcome.result


def next_head(result: Result) -> Action:
    """The action that opens the next head of the same layer (found by its options, not its label)."""
    for action in flatten(result.actions):
        if action.command == result.command and dict(action.args).get("head") == str(HEAD + 1):
            return action
    raise RuntimeError(f"no next-head action among {[a.label for a in flatten(result.actions)]}")


async def explored(policy: Policy, out_dir: Path) -> tuple[Picture, Picture]:
    """The /attention answer with its buttons, and the same message after clicking the next head."""
    first = answered(await policy.handle(Request("discord", ASKER, line=ATTENTION, place="#study-group")))
    click = next_head(first)
    second = answered(await policy.handle(Request("discord", ASKER, action=click.id, place="#study-group")))
    first_parts, second_parts = await components_of(first), await components_of(second)
    before = draw_answer(first, first_parts, f"{ASKER} used {ATTENTION}", clicked=click.id)
    after = draw_answer(second, second_parts, f"{ASKER} clicked “{click.label}”: the same message, redrawn")
    return (save(before, out_dir / PICTURE, first_parts, first),
            save(after, out_dir / PICTURE_NEXT, second_parts, second))


# --- the quiz round ------------------------------------------------------------------------------------

def quote(markdown: str) -> str:
    """A Markdown block quote; single line breaks kept (two trailing spaces), code blocks left whole."""
    out, fenced = [], False
    for line in markdown.splitlines():
        fenced ^= line.startswith("```")
        hard = "" if fenced or line.startswith("```") else "  "
        out.append(f"> {line.rstrip()}{hard}" if line.strip() else ">")
    return "\n".join(out)


def message_md(result: Result) -> str:
    """A result's sections (core.markup.sections, in their shared order and words) as Markdown."""
    parts = []
    for label, body in sections(result):
        if label == "table":
            parts.append(f"```text\n{body}\n```")
        elif label in (NOTE, MODEL):
            parts.append(f"*{label}:* {body}")
        elif label == CODE:
            parts.append(f"*{CODE}*\n```python\n{body.strip()}\n```" if body.strip() else "")
        elif label == EXPLANATION:
            parts.append(f"*{EXPLANATION}*\n{body}" if body.strip() else "")
        else:
            parts.append(body)
    return quote("\n\n".join(p for p in parts if p))


def buttons_md(result: Result) -> str:
    labels = [f"`[{a.label}]`" for a in flatten(result.actions)]
    return f"Buttons: {' '.join(labels)}" if labels else ""


WORDS = {2: "Two", 3: "Three", 4: "Four"}


def who_sees(result: Result, user: str) -> str:
    """How the adapters deliver this result (`core.results.Show`), in words."""
    return {"private": f"Only {user} sees:", "update": "The question's message is replaced, for everyone, by:"
            }.get(result.show, "Everyone in the channel sees:")


def by_label(result: Result, label: str) -> Action:
    return next(a for a in flatten(result.actions) if a.label == label or a.label.startswith(f"{label}:"))


async def quiz_round(policy: Policy, pack: str) -> str:
    """Three learners answer one /quiz in a channel, the asker reveals; the transcript as Markdown."""
    engine = policy.engine
    tutor = find(engine.registry)
    if tutor is None:
        raise RuntimeError("this registry has no tutor commands")
    ctx = context_of(engine)
    state = tutor.state(ctx)
    # The bot fills its question pool while idle (core/tutor/pool.py); done here once, the same way.
    question = await asyncio.to_thread(state.pool.compute, ctx, QUIZ_KIND)
    state.pool.put(question)
    place, line = "#study-group", f"/quiz {QUIZ_KIND}"

    def request(user: str, **kw: Any) -> Request:
        return Request("discord", user, place=place, group="a study server", **kw)

    asked = answered(await policy.handle(request(ASKER, line=line)))
    lines = [HEADER.format(pack=pack, n=WORDS.get(len(LEARNERS), len(LEARNERS))),
             f"**{ASKER}** types `{line}` in {place}. {who_sees(asked, ASKER)}", message_md(asked),
             buttons_md(asked)]
    picks = (question.key, (question.key + 1) % len(LETTERS), question.key)  # one wrong guess among them
    clicks = [(user, LETTERS[pick]) for user, pick in zip(LEARNERS, picks, strict=True)]
    clicks.append((LEARNERS[1], LETTERS[question.key]))  # a second click by the same learner
    for user, letter in clicks:
        button = by_label(asked, letter)
        ack = answered(await policy.handle(request(user, action=button.id)))
        lines += [f"**{user}** clicks `[{button.label}]`. {who_sees(ack, user)}", quote(ack.answer)]
    reveal = by_label(asked, "Reveal")
    shown = answered(await policy.handle(request(ASKER, action=reveal.id)))
    lines += [f"**{ASKER}** clicks `[{reveal.label}]` (without it, a timer reveals the answer after "
              f"{engine.settings.quiz_seconds:.0f} s). {who_sees(shown, ASKER)}",
              message_md(shown), buttons_md(shown)]
    return "\n\n".join(p for p in lines if p) + "\n"


HEADER = """# A quiz round

{n} learners in one channel answer one `/quiz` question. This page is generated by
`python docs/make_pictures.py` from a real round on the `{pack}` pack, through the same request policy
that serves Discord, Slack and the console; every word below is the tutor's own. The answer key was computed
by a model run before the question was shown."""


# --- main ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Made:
    pictures: tuple[Picture, Picture]
    transcript: Path


async def make_all(policy: Policy, out_dir: Path, pack: str) -> Made:
    """The two pictures under `out_dir/images` and the quiz transcript in `out_dir`."""
    pictures = await explored(policy, out_dir / "images")
    transcript = out_dir / TRANSCRIPT
    transcript.write_text(await quiz_round(policy, pack), encoding="utf-8")
    return Made(pictures, transcript)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", default="offline", help="offline (default) or tiny")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="the folder for quiz-round.md; the pictures go into its images/ (default: docs/)")
    parser.add_argument("--cache-dir", type=Path, default=Settings.from_env().cache_dir,
                        help="where packs are built (default: the tutor's cache, TUTOR_CACHE_DIR)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tutor-pictures-") as work:
        policy = policy_for(args.pack, args.cache_dir, Path(work))
        try:
            made = asyncio.run(make_all(policy, args.out, args.pack))
        finally:
            policy.engine.close()
    for picture in made.pictures:
        print(f"{picture.path} {picture.size[0]}x{picture.size[1]} {picture.path.stat().st_size // 1024} KiB")
    print(made.transcript)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
