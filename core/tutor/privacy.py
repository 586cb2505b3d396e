"""What the tutor keeps about a learner, for how long, and the keys it keeps it under.

**Keys, not identities.** A learner is stored as `HMAC-SHA256(secret, platform + user id)`, a place
(channel, DM) and a group (server, workspace) likewise. Without the server's secret a key cannot be
linked back to a platform account, and the same person on Discord and on Slack gets two unrelated keys.
The secret is `TUTOR_SECRET`, or a random one generated into the cache dir on first start
(`tutor-secret`, file mode 0600). Several bot processes sharing one database must share the secret.

**What is kept** (core/store/schema.py, every column that names a learner is in `LEARNER_COLUMNS`):

- when the learner was first and last active (retention counts from the last time);
- each answer: which round, topic and question kind, the choice, right or wrong, the points, when,
  the group's key for a group quiz (for that group's board), and for a lesson's question the lesson
  step it scored (a step scores once);
- spaced review items: the question kinds answered wrongly, each with its FSRS card (stability,
  difficulty, when it is due next) and short hashes of the texts its last questions were about (so a
  review brings a new one; a hash, not the text);
- the lesson in progress: its position and, only while it runs, the learner's own sentence
  ("use my own sentence"); which lessons are finished;
- quiz rounds the learner started (the question, its kind, the place's key), dropped after 7 days;
- on a study group's board, only after joining it: the display name the learner chose.

No platform user id or user name is kept, and no message text is kept under the learner's key beyond
that lesson sentence. Apart from the learner's records: an answer that carries buttons keeps the command
and its typed text for 7 days under a short run id (core/store/runs.py), so a click can run it again;
that row names no learner, so `/mydata` cannot show it and `/forget` cannot find it; it expires on its
own. `/mydata` shows everything kept under the learner's key as JSON; `/forget` deletes all of it;
learners inactive for `TUTOR_RETENTION_DAYS` (180 by default) are deleted by a purge that runs at start and then daily.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from core.settings import ConfigError

log = logging.getLogger("tutor.privacy")

SECRET_FILE = "tutor-secret"
MIN_SECRET = 16


def load_secret(configured: str, cache_dir: Path) -> bytes:
    """`TUTOR_SECRET`, or the secret generated into the cache dir on first start (mode 0600)."""
    if configured.strip():
        if len(configured.strip()) < MIN_SECRET:
            raise ConfigError(f"TUTOR_SECRET must be at least {MIN_SECRET} characters; "
                              "leave it empty to have one generated into the cache dir.")
        return configured.strip().encode("utf-8")
    path = Path(cache_dir).expanduser() / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(32))
    log.info("generated a new TUTOR_SECRET in %s (mode 0600)", path)
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    value = path.read_text(encoding="ascii").strip()
    if len(value) < MIN_SECRET:  # a half-written file from a crash, or someone emptied it
        raise ConfigError(f"{path} holds no usable secret. Delete it (learners' keys change) or set TUTOR_SECRET.")
    return value.encode("ascii")


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
