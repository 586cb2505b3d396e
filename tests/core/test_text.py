"""Text from argv, stdin and platform JSON is cleaned once, and the cleaning is reported."""
from __future__ import annotations

from core.text import REPLACEMENT, clean_text, clean_values, decode_bytes


def test_lone_surrogates_become_replacement_characters_and_are_counted():
    cleaned = clean_text("ab\ud800c\udcff")
    assert cleaned.text == f"ab{REPLACEMENT}c{REPLACEMENT}"
    assert cleaned.replaced == 2
    cleaned.text.encode("utf-8")  # would raise UnicodeEncodeError before cleaning


def test_control_characters_are_removed_but_tabs_and_newlines_stay():
    cleaned = clean_text("a\x00b\x1bc\td\ne\x85")
    assert cleaned.text == "abc\td\ne"
    assert cleaned.removed == 3


def test_clean_text_reports_nothing_for_ordinary_unicode():
    text = "naïve café 你好 🤗 <@123> `code` @everyone"
    assert clean_text(text).text == text
    assert clean_text(text).notice is None


def test_notice_names_both_kinds_of_change():
    notice = clean_text("\ud800\x00\x01").notice
    assert notice is not None and "1 character that was not valid Unicode" in notice
    assert "2 invisible control characters were removed" in notice


def test_invalid_utf8_bytes_decode_to_replacement_characters():
    cleaned = decode_bytes(b"caf\xe9 \xff\xfe ok")
    assert cleaned.text == f"caf{REPLACEMENT} {REPLACEMENT}{REPLACEMENT} ok"
    assert cleaned.replaced == 3


def test_typed_values_are_cleaned_and_counted_together_and_other_types_pass_through():
    values, notice = clean_values({"text": "a\ud800", "pair\x00": "\x1b", "layer": 3, "flag": True})
    assert values == {"text": f"a{REPLACEMENT}", "pair": "", "layer": 3, "flag": True}
    assert notice == ("In your text, 1 character that was not valid Unicode (often a broken copy-paste) "
                      f"became {REPLACEMENT} and 2 invisible control characters were removed.")
    assert clean_values({"text": "fine", "n": 1}) == ({"text": "fine", "n": 1}, None)


def test_a_surrogate_pair_is_joined_into_its_character_not_replaced():
    cleaned = clean_text("hug \ud83e\udd17 and a lone \udd17")
    assert cleaned.text == f"hug 🤗 and a lone {REPLACEMENT}"
    assert cleaned.replaced == 1
