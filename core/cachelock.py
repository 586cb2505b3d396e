"""Building into a cache that several processes share (several bots, workers, or test runs).

The rule: build in a temporary folder beside the target, under a file lock, then rename it into place.
A reader checks without the lock; when the target is missing or damaged, it takes the lock, checks
again (another process may have just built it), and only then builds.
"""
from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import UserError

LOCK_TIMEOUT_S = 900.0
"""Longer than any build (de-quantising SmolLM2 takes about 10 s, a slow disk several times that)."""


@contextmanager
def build_lock(target: Path) -> Iterator[None]:
    """Hold `<target>.lock`: one builder at a time, across threads and processes (each acquire opens
    its own descriptor, and flock excludes descriptors even within one process)."""
    from filelock import FileLock, Timeout

    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(target) + ".lock", timeout=LOCK_TIMEOUT_S)
    try:
        lock.acquire()
    except Timeout:
        raise UserError(f"Another process has been building {target} for {LOCK_TIMEOUT_S:.0f} s. Wait for it, "
                        f"or if it has died, delete {lock.lock_file} and try again.") from None
    try:
        yield
    finally:
        lock.release()


def swap_in(new: Path, target: Path) -> None:
    """Put the folder `new` where `target` is. Each step is an atomic rename; the old copy goes last.
    Call it holding `build_lock(target)` (or the lock of a folder that contains it)."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}-{threading.get_ident()}")
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
