"""One placement rule for every adapter: how `Result.show` becomes a new message, a replacement or a private copy."""
from __future__ import annotations

import pytest

from bot.filenames import free_name
from bot.placement import placement


@pytest.mark.parametrize(("show", "clicked", "mine", "expected"), [
    ("reply", False, True, "new"),
    ("update", False, True, "new"),
    ("private", False, True, "private"),
    ("reply", True, True, "replace"),
    ("reply", True, False, "private"),
    ("update", True, True, "replace"),
    ("update", True, False, "replace"),
    ("private", True, True, "private"),
    ("private", True, False, "private"),
])
def test_placement_reads_show_the_same_for_typed_commands_and_clicks(show: str, clicked: bool, mine: bool,
                                                                   expected: str) -> None:
    assert placement(show, clicked=clicked, mine=mine) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "taken", "expected"), [
    ("map.png", set(), "map.png"),
    ("map.png", {"map.png"}, "map-2.png"),
    ("map.png", {"map.png", "map-2.png"}, "map-3.png"),
    ("a.b.png", {"a.b.png"}, "a.b-2.png"),
    ("README", {"README"}, "README-2"),
])
def test_free_name_adds_a_number_before_the_suffix_until_the_name_is_free(name: str, taken: set[str],
                                                                         expected: str) -> None:
    assert free_name(name, taken.__contains__) == expected
