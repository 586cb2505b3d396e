"""Small wording helpers for answers: counts that read right ("1 new token", "2 new tokens")."""
from __future__ import annotations


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`count` and the noun phrase, singular for exactly one: plural(1, "new token") -> "1 new token"."""
    noun = singular if count == 1 else (plural_form or singular + "s")
    return f"{count} {noun}"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
