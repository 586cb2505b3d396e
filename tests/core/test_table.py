"""Tables in the console and in code blocks line up by display width, not by characters."""
from __future__ import annotations

from core.results import Table


def test_wide_cjk_cells_take_two_columns_each():
    table = Table(("token", "id"), (("你", "872"), ("好", "1962"), ("cat", "4937")))
    assert table.as_text().splitlines() == [
        "token  id",
        "-----  ----",
        "你     872",
        "好     1962",
        "cat    4937",
    ]


def test_a_wide_column_is_as_wide_as_its_widest_cell_on_screen():
    table = Table(("word", "n"), (("東京タワー", "1"), ("a", "2")))
    assert table.as_text().splitlines() == [
        "word        n",
        "----------  -",
        "東京タワー  1",
        "a           2",
    ]


def test_emoji_and_combining_marks_are_measured_as_displayed():
    naive = "nai\u0308ve"  # i + combining diaeresis: five columns on screen, six code points
    table = Table(("text", "kind"), (("🤗", "emoji"), (naive, "accent"), ("plain", "ascii")))
    assert table.as_text().splitlines() == [
        "text   kind",
        "-----  ------",
        "🤗     emoji",
        f"{naive}  accent",
        "plain  ascii",
    ]
