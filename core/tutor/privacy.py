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
- quiz rounds the learner started (the question, its kind, the place's key), dropped after 7 days, and
  past their newest `Limits.kept` (core/tutor/service.py) the oldest closed ones as new ones open;
- on a study group's board, only after joining it: the display name the learner chose.

No platform user id or user name is kept, and no message text is kept under the learner's key beyond
that lesson sentence. Apart from the learner's records: an answer that carries buttons keeps the command
and its typed text for 7 days under a short run id (core/store/runs.py), so a click can run it again;
that row names no learner, so `/mydata` cannot show it and `/forget` cannot find it; it expires on its
own. One random key in `tutor_meta` seals every button for its conversation (core/actions.py); it names
no one. `/mydata` shows everything kept under the learner's key as JSON (a round not yet revealed
without its key and reasons, and an answer to it without its verdict: core/tutor/data.py); `/forget`
deletes all of it;
learners inactive for `TUTOR_RETENTION_DAYS` (180 by default) are deleted by a purge that runs at start and then daily.

**Forgetting, all the way.** `/forget` also clears the tutor's memory that the learner was active in the
last hour (core/tutor/service.py), so their next request records them again; and the purge finds
learners through every learner column, dating one without a `tutor_learners` row (written by another
process that still remembered them) by their newest row (core/store/learners.py). After deleting, the
store takes the bytes off disk as far as the database allows: SQLite's `secure_delete` and a truncating
WAL checkpoint; PostgreSQL's VACUUM where the role may (core/store/database.py says what PostgreSQL keeps
regardless). At the console `/forget` deletes the chat history too (bot/history.py). Log lines name a
learner by the first 12 hex digits of their key (core/tutor/keys.py `LogNames`), which nobody can link
to a platform id without the secret.

**One secret per database.** The database keeps the secret's fingerprint (`tutor_meta`,
core/tutor/keys.py `fingerprint`): a process with another secret is refused at start (`SecretMismatch`,
bot/ops.py `check_secret`) and its tutor commands answer `MISMATCHED`, so nobody becomes two learners.
`tutor rotate-secret --yes` keys the database with a new secret by deleting every learner's records.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from core.errors import StoreUnavailable
from core.settings import ConfigError
from core.tutor.keys import SECRET_FILE, Keys, fingerprint, load_secret, secret_path

if TYPE_CHECKING:  # pragma: no cover
    from core.settings import Settings
    from core.store import Database

__all__ = ["SECRET_FILE", "Keys", "SecretMismatch", "check_fingerprint", "load_secret", "tutor_keys"]

log = logging.getLogger("tutor.privacy")

MISMATCHED = ("The tutor's records are off for now: this process's secret is not the one its database was started "
              "with. Tell whoever runs the tutor (`tutor doctor` says what to do).")
UNUSABLE = ("The tutor's records are off for now: its secret is not usable. Tell whoever runs the tutor "
            "(`tutor doctor` says what to do).")


class SecretMismatch(ConfigError):
    """The database's learners are keyed with another secret: with this one, every learner would be a
    stranger, and two processes with different secrets would split each person into two learners."""


def source_of(settings: Settings) -> str:
    return "TUTOR_SECRET" if settings.secret.strip() else f"the secret generated into {secret_path(settings.cache_dir)}"


def mismatch(settings: Settings) -> SecretMismatch:
    return SecretMismatch(
        f"The tutor's secret ({source_of(settings)}) is not the one this database's learners are keyed with. Give "
        "every process on this database the secret it was started with (TUTOR_SECRET), or start every learner "
        "afresh with `tutor rotate-secret` (it deletes their records; keys cannot be moved to a new secret).")


def check_fingerprint(settings: Settings, db: Database, secret: bytes) -> None:
    """`SecretMismatch` unless the database's learners are keyed with `secret`. A database that records
    no secret yet (a new one, or one from before fingerprints) records this one's."""
    from core.store.learners import LearnerStore

    ours = fingerprint(secret)
    if LearnerStore(db).keyed_with(ours) != ours:
        raise mismatch(settings)


def tutor_keys(settings: Settings, db: Database) -> Keys:
    """The keys for the tutor's records, in a request: a secret that cannot be kept, or that is not the
    database's, turns the tutor's commands off with a sentence for the learner (never a traceback).
    Start (`bot.ops.check_secret`) and `tutor doctor` say why to whoever runs the tutor."""
    try:
        secret = load_secret(settings.secret, settings.cache_dir)
        check_fingerprint(settings, db, secret)
    except SecretMismatch:
        raise StoreUnavailable(MISMATCHED) from None
    except ConfigError:
        raise StoreUnavailable(UNUSABLE) from None
    return Keys(secret)
