"""The server's secret and the keys made with it: learners, places and groups, and how logs name a learner.

`TUTOR_SECRET`, or a random secret generated into the cache dir on first start (`tutor-secret`,
mode 0600). Every key is an HMAC-SHA256 with it, so without it no key can be linked to a platform
account. Nothing here imports the database (core/tutor/privacy.py checks the secret against it).
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import StoreUnavailable
from core.settings import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from core.settings import Settings

log = logging.getLogger("tutor.privacy")

SECRET_FILE = "tutor-secret"
MIN_SECRET = 16
LOG_NAME = 12
"""Hex digits of a learner's key that a log line shows."""
UNKEPT = ("The tutor cannot keep the secret that keys learners' records here, so quizzes, lessons, progress and "
          "the study-group board are off for now. Tell whoever runs the tutor (`tutor doctor` says what to do).")


class SecretUnkept(StoreUnavailable):
    """TUTOR_SECRET is not set and the cache dir can neither keep nor give back a generated one: the
    tutor's own commands say so (no traceback), `reason` tells whoever runs it."""

    def __init__(self, reason: str) -> None:
        super().__init__(UNKEPT)
        self.reason = reason


def secret_path(cache_dir: Path) -> Path:
    return Path(cache_dir).expanduser() / SECRET_FILE


def load_secret(configured: str, cache_dir: Path) -> bytes:
    """`TUTOR_SECRET`, or the secret generated into the cache dir on first start (mode 0600).

    `SecretUnkept` when it is not set and the cache dir cannot keep one; `ConfigError` for one too short."""
    if configured.strip():
        return _configured(configured)
    path = secret_path(cache_dir)
    try:
        if not path.exists():
            _generate(path)
        return _read_secret(path)
    except (OSError, UnicodeError) as exc:
        raise SecretUnkept(_unkept(path, exc)) from None


def _configured(configured: str) -> bytes:
    if len(configured.strip()) < MIN_SECRET:
        raise ConfigError(f"TUTOR_SECRET must be at least {MIN_SECRET} characters; "
                          "leave it empty to have one generated into the cache dir.")
    return configured.strip().encode("utf-8")


def _generate(path: Path) -> None:
    """Write a new secret beside `path`, then link it into place: a reader never sees half a secret, and
    of two processes starting at once only one secret wins (the other reads it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32))
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
            log.info("generated a new TUTOR_SECRET in %s (mode 0600)", path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _read_secret(path: Path) -> bytes:
    value = path.read_text(encoding="ascii").strip()
    if len(value) < MIN_SECRET:  # someone emptied it
        raise ConfigError(f"{path} holds no usable secret. Delete it (learners' keys change) or set TUTOR_SECRET.")
    return value.encode("ascii")


def _unkept(path: Path, exc: BaseException) -> str:
    why = getattr(exc, "strerror", None) or type(exc).__name__
    return (f"TUTOR_SECRET is not set and {path} cannot be kept ({why}): quizzes, lessons, progress and the board are "
            "off. Set TUTOR_SECRET (at least 16 characters, the same in every process on one database), or point "
            "TUTOR_CACHE_DIR at a folder this user can write to.")


def peek_secret(configured: str, cache_dir: Path) -> tuple[bytes | None, str]:
    """Without writing anything (for `tutor doctor`): the secret, None when the first start will generate
    it, and where it comes from. `SecretUnkept` or `ConfigError` when it cannot work."""
    if configured.strip():
        return _configured(configured), "TUTOR_SECRET"
    path = secret_path(cache_dir)
    try:
        if path.exists():
            return _read_secret(path), f"generated, in {path}"
        _probe(path.parent)
    except (OSError, UnicodeError) as exc:
        raise SecretUnkept(_unkept(path, exc)) from None
    return None, f"not generated yet: the first start writes it to {path} (mode 0600)"


def _probe(folder: Path) -> None:
    """Create and delete a file in `folder` (root ignores permission bits, so ask for real)."""
    handle, name = tempfile.mkstemp(prefix=".write-test-", dir=folder)
    os.close(handle)
    os.unlink(name)


def fingerprint(secret: bytes) -> str:
    """What the database keeps of the secret: an HMAC of a fixed text, which says whether two secrets are
    the same and nothing else (the keys themselves are HMACs of public ids with it already)."""
    return hmac.new(secret, b"transformers-tutor: secret fingerprint", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Keys:
    """Keyed hashes for learners, places and groups."""

    secret: bytes

    def _key(self, what: str, platform: str, value: str) -> str:
        message = "\0".join((what, platform, value)).encode("utf-8", "surrogatepass")
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def learner(self, platform: str, user: str) -> str:
        return self._key("learner", platform, user)

    def place(self, platform: str, place: str) -> str:
        return self._key("place", platform, place)

    def group(self, platform: str, group: str) -> str | None:
        return self._key("group", platform, group) if group else None


class LogNames:
    """How log lines name a learner: the first `LOG_NAME` hex digits of their learner key, the HMAC the
    tutor keys their records with. An unkeyed hash of a platform id is no name at all (anyone can hash
    a public Discord or Slack id and grep the logs for it); this one cannot be computed without the
    server's secret, and it names nothing the database still holds once the learner is forgotten.

    The secret is read on the first line that names someone (a `tutor ask` whose log is off never reads
    it). Where it cannot be read or kept, lines use a key made for this process alone: they still name
    nobody, and they match nothing in the database (start and `tutor doctor` say why)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._keys: Keys | None = None
        self._lock = threading.Lock()

    def of(self, platform: str, user: str) -> str:
        return self._loaded().learner(platform, user)[:LOG_NAME]

    def lazy(self, platform: str, user: str) -> LogName:
        """The name as a log argument, computed only if the line is written."""
        return LogName(self, platform, user)

    def _loaded(self) -> Keys:
        with self._lock:
            if self._keys is None:
                try:
                    secret = load_secret(self._settings.secret, self._settings.cache_dir)
                except (ConfigError, StoreUnavailable):
                    secret = secrets.token_bytes(32)
                self._keys = Keys(secret)
            return self._keys


@dataclass(frozen=True)
class LogName:
    names: LogNames
    platform: str
    user: str

    def __str__(self) -> str:
        return self.names.of(self.platform, self.user)
