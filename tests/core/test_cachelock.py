"""core/cachelock.py's `build_once`: the one rule every shared cache builds by (check, lock, check again,
build in a staging folder, swap it in). The processes racing on a real tiny pack are in test_cache_race.py."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from core.cachelock import build_lock, build_once

BUILDERS = 4


def leftovers(folder: Path) -> list[str]:
    """Staging and old copies: every folder a build makes beside its target starts with a dot."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_build_once_builds_once_when_several_builders_find_the_target_missing(tmp_path: Path) -> None:
    target = tmp_path / "model"
    first_checks = threading.Semaphore(0)
    builds: list[str] = []
    built_here: list[bool] = []

    def is_built() -> bool:
        done = (target / "weights").is_file()
        first_checks.release()
        return done

    def build(staging: Path) -> None:
        builds.append(threading.current_thread().name)
        (staging / "weights").write_text("built")

    threads = [threading.Thread(target=lambda: built_here.append(build_once(target, is_built, build)),
                                name=f"builder-{n}") for n in range(BUILDERS)]
    with build_lock(target):  # every builder checks, finds nothing, and waits for the lock
        for thread in threads:
            thread.start()
        for _ in threads:
            assert first_checks.acquire(timeout=30)
    for thread in threads:
        thread.join(timeout=30)
    assert len(builds) == 1, builds  # the others checked again under the lock and found it built
    assert sorted(built_here) == [False] * (BUILDERS - 1) + [True]
    assert (target / "weights").read_text() == "built"
    assert leftovers(tmp_path) == []


def test_a_failed_build_leaves_no_target_and_no_staging_folder_and_the_next_build_runs(tmp_path: Path) -> None:
    target = tmp_path / "model"

    def broken(staging: Path) -> None:
        (staging / "weights").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        build_once(target, (target / "weights").is_file, broken)
    assert not target.exists()
    assert leftovers(tmp_path) == []
    assert build_once(target, (target / "weights").is_file, lambda staging: (staging / "weights").write_text("whole"))
    assert (target / "weights").read_text() == "whole"


def test_a_rebuild_replaces_a_damaged_folder_whole(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "weights").write_text("damaged")
    (target / "stray").write_text("from the damaged copy")

    assert build_once(target, lambda: (target / "weights").read_text() == "whole",
                      lambda staging: (staging / "weights").write_text("whole"))
    assert sorted(p.name for p in target.iterdir()) == ["weights"]
    assert (target / "weights").read_text() == "whole"
    assert leftovers(tmp_path) == []


def test_one_model_rebuilt_inside_a_pack_takes_the_packs_lock(tmp_path: Path) -> None:
    """`lock=`: the tiny pack is built whole under its own lock, so a model rebuilt inside it waits for a
    whole build in progress rather than racing it."""
    pack = tmp_path / "pack"
    (pack / "sentiment").mkdir(parents=True)
    waiting = threading.Event()
    order: list[str] = []

    def rebuild() -> None:
        waiting.set()
        build_once(pack / "sentiment", lambda: False, lambda staging: order.append("rebuilt"), lock=pack)

    with build_lock(pack):
        thread = threading.Thread(target=rebuild)
        thread.start()
        assert waiting.wait(timeout=30)
        thread.join(timeout=0.2)  # it cannot finish while the pack's lock is held
        order.append("pack's build finished")
    thread.join(timeout=30)
    assert order == ["pack's build finished", "rebuilt"]
    assert leftovers(pack) == []


def test_a_built_folder_has_the_mode_any_new_folder_gets_here(tmp_path: Path) -> None:
    """Not a temporary folder's 0700: a pack pulled by one user (root in a build step) stays readable to the user the
    bot runs as, as far as the umask lets any folder be."""
    target = tmp_path / "pack"
    build_once(target, lambda: (target / "weights").is_file(), lambda staging: (staging / "weights").write_text("w"))
    (tmp_path / "plain").mkdir()
    assert target.stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777
