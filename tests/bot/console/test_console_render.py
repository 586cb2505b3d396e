"""The console on a terminal (bot/console/render.py): wrapped to its width, each token on its own background,
snippets highlighted, NO_COLOR kept; down a pipe, the plain text scripts read. Real `tutor` processes on real
pseudo-terminals (tests/support/terminal.py), on the tiny pack."""
from __future__ import annotations

import io
import re
from itertools import pairwise

from rich.cells import cell_len
from rich.console import Console as RichConsole

from bot.console.app import render_text
from bot.console.render import PALETTE, SPECIAL_FILL, STANDARD_PALETTE, show_result, styled, token_fills
from core.markup import code, spans
from core.results import Result, Table, TokenRun, display_width
from tests.bot.ops.test_cli import tutor
from tests.support.terminal import ESCAPE, on_terminal

FAMILY = "\U0001F468\u200d\U0001F469\u200d\U0001F467"
"""Man, woman, girl, joined by zero-width joiners: one picture, two cells."""
BACKGROUND = re.compile(r"\x1b\[(?:[0-9;]*;)?(48;5;\d+|48;2;\d+;\d+;\d+|10[0-7]|4[0-7])m([^\x1b]*)")
"""A background colour escape and the text drawn on it."""


# ----- wrapping -----
def test_help_on_a_narrow_terminal_wraps_every_line_within_its_width(tmp_path) -> None:
    """Every line but the snippet's, which go out whole so that a copied snippet runs (the next test)."""
    run = on_terminal("--pack", "tiny", "ask", "/help", cwd=tmp_path, columns=60, stderr_to_terminal=False)
    assert run.code == 0, run.terminal
    snippet = _snippet(tutor("--pack", "tiny", "ask", "/help", tmp_path=tmp_path).stdout)
    assert snippet in run.plain
    lines = run.plain.replace(snippet, "").splitlines()
    assert len(lines) > 40
    widest = max(lines, key=display_width)
    assert display_width(widest) <= 60, f"{display_width(widest)} cells: {widest!r}"
    for command in ("/sentiment", "/tokenize", "/compare", "/learn", "/forget"):
        assert any(line.startswith(command) for line in lines), command  # each row is still there, wrapped
    assert any(line.startswith("   ") and line.strip() for line in lines), "a long description goes on below"


def test_the_tour_rule_fits_a_narrow_terminal(tmp_path) -> None:
    run = on_terminal("--pack", "tiny", "tour", cwd=tmp_path, columns=50, stderr_to_terminal=False)
    assert run.code == 0, run.terminal[-2000:]
    rules = [line for line in run.plain.splitlines() if line and set(line) == {"="}]
    assert rules and all(len(line) == 50 for line in rules), rules


def test_a_snippet_is_not_cut_into_lines_so_it_copies_whole(tmp_path) -> None:
    """Wrapped text would break a copied snippet: its lines go out whole and the terminal folds them."""
    snippet = _snippet(tutor("--pack", "tiny", "ask", "/tokenize Hello world", tmp_path=tmp_path).stdout)
    assert max(len(line) for line in snippet.splitlines()) > 60
    run = on_terminal("--pack", "tiny", "ask", "/tokenize Hello world", cwd=tmp_path, columns=60,
                      stderr_to_terminal=False)
    assert snippet in run.plain
    highlighted = run.terminal.split("Try it yourself", 1)[1]
    assert ESCAPE.search(highlighted.split("\n", 2)[1]), "the snippet's lines are coloured"


def _snippet(piped: str) -> str:
    """The "try it yourself" snippet of a piped answer (it runs up to the model line, or to the choices)."""
    rest = piped.split("Try it yourself\n", 1)[1]
    return re.split(r"\n\n(?:Model: |In `tutor chat`)", rest, maxsplit=1)[0]


# ----- colour, and no colour -----
def test_no_color_on_a_terminal_gives_no_escape_codes_and_still_wraps(tmp_path) -> None:
    run = on_terminal("--pack", "tiny", "ask", "/tokenize I'm learning transformers!", cwd=tmp_path, columns=60,
                      stderr_to_terminal=False, NO_COLOR="1")
    assert run.code == 0, run.terminal
    assert "\x1b" not in run.terminal
    assert "`[CLS]` `i` `'` `m`" in run.terminal, "tokens stay code spans where there is no colour"
    snippet = _snippet(tutor("--pack", "tiny", "ask", "/tokenize I'm learning transformers!", tmp_path=tmp_path).stdout)
    assert snippet in run.terminal, "the snippet, whole and unstyled"
    assert max(display_width(line) for line in run.terminal.replace(snippet, "").splitlines()) <= 60


def test_no_color_with_any_non_empty_value_counts_and_an_empty_one_does_not(tmp_path) -> None:
    off = on_terminal("--pack", "tiny", "ask", "/tokenize Hello", cwd=tmp_path, stderr_to_terminal=False,
                      NO_COLOR="false")
    on = on_terminal("--pack", "tiny", "ask", "/tokenize Hello", cwd=tmp_path, stderr_to_terminal=False, NO_COLOR="")
    assert "\x1b" not in off.terminal
    assert "\x1b[" in on.terminal


def test_piped_output_has_no_escape_codes_and_is_the_plain_text(tmp_path) -> None:
    done = tutor("--pack", "tiny", "ask", "/tokenize I'm learning transformers!", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\x1b" not in done.stderr
    assert done.stdout.startswith("8 tokens: `[CLS]` `i` `'` `m` `learning` `transformers` `!` `[SEP]`\n")


def test_token_spans_carry_distinct_background_colours_on_a_colour_terminal(tmp_path) -> None:
    run = on_terminal("--pack", "tiny", "ask", "/tokenize I'm learning transformers!", cwd=tmp_path,
                      stderr_to_terminal=False)
    assert run.code == 0, run.terminal
    first = run.terminal.splitlines()[0]
    drawn = BACKGROUND.findall(first)
    assert [text for _, text in drawn] == ["[CLS]", "i", "'", "m", "learning", "transformers", "!", "[SEP]"]
    backgrounds = [colour for colour, _ in drawn]
    assert all(a != b for a, b in pairwise(backgrounds)), backgrounds
    assert backgrounds[0] == backgrounds[-1], "both added special tokens are the same grey"
    assert len(set(backgrounds[1:-1])) == 6, "the text's tokens cycle through the six fills"


def test_compare_colours_every_tokenizers_run() -> None:
    answer = (f"**2 tokenizers**: bert 3, gpt2 2 tokens.\n**bert** (WordPiece): {code('[CLS]')} {code('hi')} "
              f"{code('[SEP]')}\nids: 1 2 3\n**gpt2** (BPE): {code('hi')} {code('␣there')}\nids: 4 5")
    runs = (TokenRun(("[CLS]", "hi", "[SEP]"), (True, False, True)), TokenRun(("hi", "␣there")))
    fills = token_fills(spans(answer), runs)
    assert [fills[i] for i in sorted(fills)] == [SPECIAL_FILL, PALETTE[1], SPECIAL_FILL, PALETTE[0], PALETTE[1]]
    standard = token_fills(spans(answer), runs, standard=True)
    assert [standard[i] for i in sorted(standard)][3:] == list(STANDARD_PALETTE[:2])


def test_a_run_the_answer_does_not_spell_as_code_spans_is_left_uncoloured() -> None:
    """Colour only where the token boundaries are certain: a token with a backtick in it, say."""
    answer = f"**2 tokens**: {code('a')} {code('b')}"
    assert token_fills(spans(answer), (TokenRun(("a", "c")),)) == {}
    assert styled(answer, colour=True, runs=(TokenRun(("a", "c")),)).plain == "2 tokens: `a` `b`"


def test_the_console_palette_is_the_compare_pictures() -> None:
    from core.render import spans as picture

    assert PALETTE == picture.PALETTE and SPECIAL_FILL == picture.SPECIAL_FILL


# ----- widths -----
def test_a_zwj_family_emoji_counts_two_cells() -> None:
    assert display_width(FAMILY) == 2
    assert cell_len(FAMILY) == 2, "rich, which wraps the terminal's lines, measures it the same"


WIDTHS = {
    "abc": 3, "你好": 4, "nai\u0308ve": 5, "🤗": 2, "🇫🇷": 2, "🇺🇸🇫🇷": 4, "❤": 1, "❤️": 2, "☺\ufe0e": 1,
    "👍🏽": 2, "1\ufe0f\u20e3": 2, "🏳️\u200d🌈": 2, "🧑🏽\u200d💻": 2, FAMILY: 2, f"a{FAMILY}b": 4, "東京タワー": 10,
    "\u1100\u1161\u11a8": 2, "\u0915\u094d\u0937": 2, "x\u200by": 2, "\u3000": 2, "ｱ": 1, "a\tb": 3,
}
"""Cells on a terminal, as wcwidth 0.9's `wcswidth` gives them (emoji sequences, skin tones, flags, keycaps,
VS15/VS16, conjoining Hangul jamo, a Devanagari conjunct, zero-width space, fullwidth and halfwidth forms; a tab
counts one)."""


def test_widths_are_measured_as_a_terminal_shows_them() -> None:
    assert {text: display_width(text) for text in WIDTHS} == WIDTHS


def test_a_table_with_a_family_emoji_lines_up() -> None:
    table = Table(("text", "n"), ((FAMILY, "1"), ("ab", "2")))
    assert table.as_text().splitlines() == ["text  n", "----  -", f"{FAMILY}    1", "ab    2"]


def test_a_table_drawn_on_a_narrow_terminal_keeps_every_cell() -> None:
    result = Result("help", "Commands.", "", "", "", table=Table(("command", "what it does"), (
        ("/one", "A long description that cannot fit in forty columns on one line at all."),)))
    stream = io.StringIO()
    show_result(RichConsole(file=stream, width=40, force_terminal=True, color_system=None), result)
    lines = stream.getvalue().splitlines()
    assert max(cell_len(line) for line in lines) <= 40
    assert " ".join(" ".join(lines).split()).count("A long description that cannot fit in forty columns on one "
                                                   "line at all.") == 1


def test_render_text_is_what_a_pipe_gets() -> None:
    result = Result("x", f"**Bold** and {code('a`b')}", "Step one.", "print(1)", "tiny/x", notices=("Careful.",))
    assert render_text(result) == "Bold and ``a`b``\n\nNote: Careful.\n\nWhat happened\nStep one.\n\n" \
                                  "Try it yourself\nprint(1)\n\nModel: tiny/x"
