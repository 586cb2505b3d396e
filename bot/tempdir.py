"""Where temporary files go, on a read-only root where /tmp cannot be written either.

torch, transformers and matplotlib write temporary files (transformers while it loads a model), through
Python's `tempfile`, which tries TMPDIR, TEMP, TMP, /tmp, /var/tmp, /usr/tmp and the working folder, and raises
"No usable temporary directory found" when none can be written: a cluster's read-only root without a scratch
volume. Then the tutor's own data folder (TUTOR_CACHE_DIR, which must be writable anyway: the volume under
Docker) holds them, in `tmp/`: set at start, before those libraries are imported, for this process
(`tempfile.tempdir`) and its children (TMPDIR). When that cannot be written either, it is one line at start and
a problem in `tutor doctor`. Light on purpose: it runs before anything heavy is imported.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

SUBFOLDER = "tmp"


@dataclass(frozen=True)
class TempFolder:
    path: Path | None
    """Where temporary files go; None when nowhere can be written."""
    fallback: bool
    """True when it is the data folder's, because the system's cannot be written."""

    def line(self, cache_dir: Path) -> str:
        """One line for the start-up log and `tutor doctor`."""
        if self.path is None:
            return (f"No folder for temporary files: TMPDIR, /tmp, /var/tmp and the working folder cannot be written, "
                    f"and neither can {fallback_folder(cache_dir)} (in TUTOR_CACHE_DIR). Mount a writable /tmp (a "
                    "tmpfs) or point TMPDIR or TUTOR_CACHE_DIR at a writable folder.")
        if self.fallback:
            return (f"Temporary files go to {self.path} (in TUTOR_CACHE_DIR): TMPDIR, /tmp, /var/tmp and the working "
                    "folder cannot be written.")
        return f"Temporary files go to {self.path}."


def fallback_folder(cache_dir: Path) -> Path:
    return Path(cache_dir).expanduser() / SUBFOLDER


def find(cache_dir: Path) -> TempFolder:
    """The system's temporary folder when one can be written (Python's own search), else the data folder's."""
    fallback = fallback_folder(cache_dir)
    if tempfile.tempdir is not None and Path(tempfile.tempdir) == fallback:
        return TempFolder(fallback, True)  # chosen earlier in this process (`use`)
    try:
        return TempFolder(Path(tempfile.gettempdir()), False)
    except FileNotFoundError:  # "No usable temporary directory found"
        pass
    try:
        fallback.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".write-test-", dir=fallback)
        os.close(handle)
        os.unlink(probe)
    except OSError:
        return TempFolder(None, True)
    return TempFolder(fallback, True)


def use(folder: TempFolder) -> None:
    """Make the data folder's `tmp/` this process's temporary folder, and its children's."""
    if folder.fallback and folder.path is not None:
        tempfile.tempdir = str(folder.path)
        os.environ["TMPDIR"] = str(folder.path)
