"""Building into a cache that several processes share (several bots, workers, or test runs).

The rule: build in a temporary folder beside the target, under a file lock, then rename it into place.
A reader checks without the lock; when the target is missing or damaged, it takes the lock, checks
again (another process may have just built it), and only then builds. `build_once` is that rule, written
once for every cache that follows it (the tiny pack, a de-quantised GGUF copy, the tests' own models).
"""
from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
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


@contextmanager
def staged(target: Path) -> Iterator[Path]:
    """A fresh folder beside `target` to build in, put in place of `target` when the block ends without
    an error, and removed in every case (a failed build leaves nothing behind). Hold `build_lock(target)`,
    or the lock of a folder that contains it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}-build-{os.getpid()}-{threading.get_ident()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()  # not mkdtemp: its 0700 would make the built pack unreadable to the user a container runs as
    try:
        yield staging
        swap_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def build_once(target: Path, is_built: Callable[[], bool], build: Callable[[Path], None], *,
               lock: Path | None = None) -> bool:
    """Make `target` with `build(staging)` unless `is_built()`: checked without the lock, then again
    holding it (another process may have built it meanwhile). `lock`: the folder whose lock to take,
    when `target` lies inside a folder built as a whole (one model of the tiny pack). True when this
    call built it."""
    if is_built():
        return False
    with build_lock(lock or target):
        if is_built():
            return False
        with staged(target) as staging:
            build(staging)
    return True
