"""Every exception the tutor raises on purpose, and how each one reaches the learner.

The tree (the two classes the tutor raises on purpose; everything else is a bug or a fault of the
environment, and is treated alike)::

    Exception
    ├── UserError            core/errors.py    a problem the learner can fix, in a message meant for them
    │   │                                      (a bad option, a text too long, an expired button, a time-out)
    │   │   -> the message itself, privately to the asker (`core.policy.Verdict.USER_ERROR`); in the console
    │   │      on stderr (exit 2 for `tutor ask`); counted as `user_error`, logged at INFO, no traceback
    │   ├── Busy             core/errors.py    the queue is full: nothing to fix, only to wait out
    │   │       -> the same, as `Verdict.BUSY` (counted as `busy`)
    │   └── StoreUnavailable core/errors.py    the database cannot be opened (a read-only cache)
    │       │   -> the commands that need it say so; any other answer comes without its buttons, noted
    │       └── SecretUnkept core/tutor/keys.py TUTOR_SECRET unset and the cache dir cannot keep one
    │               -> the tutor's commands say so; a warning at start; a problem in `tutor doctor`
    ├── ConfigError          core/settings.py  configuration that cannot work, with how to fix it
    │   │                                      (a bad TUTOR_* value, a missing token, an unknown model)
    │   │   -> one line, "Configuration error: ...", on stderr, and exit 2; never reaches a chat
    │   └── SecretMismatch   core/tutor/privacy.py  the secret is not the one the database is keyed with
    │           -> at start, the same one line and exit 2; in a request, the tutor's commands say so
    ├── PullError            bot/ops/admin.py        `tutor models pull` cannot work here (no Hub for the hub pack)
    │       -> one line, "Cannot pull: ...", on stderr, and exit 1
    ├── Refused              bot/slack/http.py an HTTP request to the Slack Events API that is unsigned,
    │                                          stale or malformed, refused before bolt parses it
    │       -> 401 or 400 to the sender and one log line; no learner is involved
    ├── StartFailure         bot/ops/failures.py   a platform that cannot start for a reason outside the tutor
    │                                          (Discord or Slack unreachable, a rejected token)
    │       -> its one line on stderr and a non-zero exit (`tutor run` stops the other platforms too)
    ├── Stopped              bot/console/signals.py  SIGTERM or SIGHUP during `tutor chat`
    │       -> leaves as /quit does, history saved; never a traceback
    ├── TokenGone            bot/discord/deliver.py  a Discord interaction's 15-minute token has run out
    │       -> the click's answer comes as a new message instead of an edit; the learner sees no error
    ├── OverBudget           core/cooldown.py  a tutor step would run a model inside the learner's cooldown
    │       -> the cooldown's words (`core.policy.Verdict.COOLDOWN`); not a UserError, so no handler's
    │          `except UserError` swallows it on its way to the policy
    ├── NoQuestion           core/tutor/questions.py this sentence gives no fair quiz question with this
    │                                          model (too few distinct options)
    │       -> the pool or the quiz tries another sentence; the learner sees no error
    └── anything else        a bug, or a fault of the environment (a damaged file, no memory)
            -> logged once with context and traceback (`tutor.requests`: platform, command, keyed
               user), answered with a short apology (`core.policy.APOLOGY`), counted as `error`;
               the bot keeps serving everyone else; `tutor ask` exits 1

Where they are caught: `core.policy.Policy.handle` turns a request's `UserError` into its message
and anything else into the apology; `bot.ops.cli.main` turns `ConfigError` into one line and exit 2. Any
other `except Exception` says why in a `noqa: BLE001` comment (ruff flags a new one that neither
re-raises nor logs).

A message in a `UserError` is shown as it is, so it must be safe to show: text the learner typed is
quoted through `core.registry.shown` (cleaned, shortened, no backtick that could end the code span),
and text entering the core is cleaned once by `core.text.clean_text`, so no message carries a lone
surrogate that an adapter could not encode.
"""
from __future__ import annotations

from core.settings import ConfigError

__all__ = ["Busy", "ConfigError", "StoreUnavailable", "UserError"]


class UserError(Exception):
    """A problem with the learner's input or setup, with a message meant for them."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Busy(UserError):
    """The tutor is at its queue limit: not the learner's fault, but something they can wait out."""


class StoreUnavailable(UserError):
    """The database cannot be opened or written (a read-only cache, a server that is down): answers
    that need it say so; the others are still answered, without their buttons. (Here, not in
    core/store: catching it must not import SQLAlchemy.)

    `reason` is for whoever runs the tutor (`tutor doctor`, the log): what the database said, and what
    to do about it; learners see only the message."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason
