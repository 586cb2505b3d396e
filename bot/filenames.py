"""A free file name for each picture of one answer, shared by the adapters that name files."""
from __future__ import annotations

from collections.abc import Callable


def free_name(name: str, taken: Callable[[str], bool]) -> str:
    """`name`, or `name-2.png`, `name-3.png`...: the first that `taken` says is free. Two attachments with
    one name would show one picture twice, and a console must never overwrite an earlier answer's picture."""
    stem, dot, suffix = name.rpartition(".")
    candidate, n = name, 1
    while taken(candidate):
        n += 1
        candidate = f"{stem}-{n}.{suffix}" if dot else f"{name}-{n}"
    return candidate
