# ruff: noqa: RUF001, RUF002 - look-alike letters are the point of this module
"""Display names on a study group's board: normalised, visible, and not a look-alike of another member's.

A name is read in NFKC form (fullwidth `Ａｄａ`, mathematical `𝐀𝐝𝐚` and ligatures become plain letters),
its runs of spaces become one space, and it must not hold an invisible filler: the Hangul fillers
(U+115F, U+1160, U+3164, U+FFA0) and the Braille blank are letters or symbols to Unicode, so they pass
any "letters and digits" rule and show as nothing.

Two names clash when their **skeletons** are equal, in the spirit of Unicode TR39's confusable
detection (`skeleton(a) == skeleton(b)`). The skeleton here is compact, not TR39's table of ~6,000
mappings. It covers: NFKC; case (casefold); accents and other combining marks (dropped); the Cyrillic,
Greek and Armenian letters that look like Latin ones (`а е о р с у х і ј ԁ һ ӏ`, `Α Β Ε Η Ι Κ Μ Ν Ο Ρ Τ
Υ Χ ο ν ρ`, `օ ո ս հ`, ...), dotless `ı`; `0`/`o`, `1`/`l`/`i`/`I`; the pairs `rn`/`m`, `vv`/`w`,
`cl`/`d`; and spaces and `.-_'` (dropped). It does not cover other scripts' look-alikes (Cherokee,
Lisu, mathematical operators the name rule refuses anyway), nor whole-script confusables such as a
name written wholly in Cyrillic letters that have no Latin twin.
"""
from __future__ import annotations

import unicodedata

from core.text import FILLERS

INVISIBLE_CATEGORIES = frozenset(("Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"))

CAPITALS = str.maketrans("АВЕКМНОРСТХЅІЈԚԜҮΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "ABEKMHOPCTXSIJQWYABEZHIKMNOPTYX")
"""Capitals that look like Latin capitals, mapped before casefolding (Greek `Η` folds to `η`, which does not)."""
SMALL = str.maketrans("аеорсухѕіјԁԛԝӏһгοαιυνρχϲϳκօոսհզցıȷɑɩɡ01",
                      "aeopcyxsijdqwlhroaiuvpxcjkonuhqgijaigol")
"""Small letters (and digits) that look like Latin small letters, mapped after casefolding."""
PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("i", "l"))
DROPPED = frozenset(" .-_'")


def normalised(raw: str) -> str:
    """The name as stored: NFKC, with each run of spaces one space and none at the ends."""
    return " ".join(unicodedata.normalize("NFKC", raw).split())


def invisible(name: str) -> list[str]:
    """The characters of `name` that show as nothing (fillers, format and control characters)."""
    return [c for c in name if c in FILLERS or unicodedata.category(c) in INVISIBLE_CATEGORIES]


def skeleton(name: str) -> str:
    """What `name` looks like, as far as this module's mapping goes (see the docstring): two names with
    the same skeleton could be taken for one another."""
    text = unicodedata.normalize("NFKC", name).translate(CAPITALS).casefold()
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    text = unicodedata.normalize("NFKC", text).translate(SMALL)
    text = "".join(c for c in text if c not in DROPPED)
    for pair, single in PAIRS:
        text = text.replace(pair, single)
    return text
