"""What every adapter calls: run a command, get an answer or a message safe to show.

User errors come back as their own message; anything else is logged with context and
answered with a short apology, never a traceback.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Mapping

from core.engine import Engine
from core.errors import UserError
from core.results import Result

log = logging.getLogger("tutor.requests")

APOLOGY = "Sorry, something went wrong on my side while answering. It has been logged; please try again."


@dataclass(frozen=True)
class Outcome:
    result: Result | None
    error: str | None = None
    user_error: bool = False

    @property
    def ok(self) -> bool:
        return self.result is not None


def hash_user(user_id: str) -> str:
    return hashlib.sha256(user_id.encode()).hexdigest()[:12]


async def answer(
    engine: Engine,
    *,
    platform: str,
    user_id: str,
    command: str | None = None,
    args: Mapping[str, Any] | None = None,
    line: str | None = None,
) -> Outcome:
    """Answer a typed command (`command` + `args`) or a text-grammar `line`."""
    started = time.perf_counter()
    name = command or (line or "").strip().split(" ", 1)[0].lstrip("/") or "?"
    try:
        if line is not None:
            result = await engine.run_text(line)
        else:
            result = await engine.run(command or "", args or {})
        outcome = Outcome(result)
    except UserError as exc:
        outcome = Outcome(None, exc.message, user_error=True)
    except Exception:  # noqa: BLE001 - the whole point: never let one request take the bot down
        log.exception("internal error platform=%s command=%s user=%s", platform, name, hash_user(user_id))
        outcome = Outcome(None, APOLOGY)
    seconds = time.perf_counter() - started
    status = "ok" if outcome.ok else ("user_error" if outcome.user_error else "error")
    known = any(c.name == name for c in engine.registry)  # typos must not grow the metric labels
    engine.metrics.observe(platform, name if known else "unknown", status, seconds)
    _log_request(platform, name, user_id, outcome, status, seconds)
    return outcome


def _log_request(platform: str, command: str, user_id: str, outcome: Outcome, status: str, seconds: float) -> None:
    model = json.dumps(outcome.result.model if outcome.result else "-")
    log.info(
        "request platform=%s command=%s user=%s model=%s latency_ms=%d outcome=%s",
        platform, command, hash_user(user_id), model, seconds * 1000, status,
    )
