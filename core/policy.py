"""The request policy, once for every platform.

Every adapter turns a platform event into a `Request` and hands it to `Policy.handle`, which
answers with an `Outcome`; the adapter only delivers that outcome in its own dialect. The steps,
in order:

1. **De-duplication**: a platform that retries (Slack re-sends an event it thinks was missed, a
   replayed slash command) carries the same request id; the replay is dropped silently, before
   anything else, so it cannot even earn a cooldown note.
2. **Parse and validate**: the text grammar or typed options, checked against the registry;
   a mistake is a `UserError` with its own words. Only visible commands can be typed: a hidden one
   (a quiz's answer, a lesson's step, /forget's confirmation) is reached through an action alone.
   An action runs only with its seal for the conversation it comes from (core/actions.py): the
   policy seals every action it hands out, so an id typed, forged or carried elsewhere is refused.
3. **Cooldown**: one budget per learner, spent by every model run they cause: up front by a valid
   command that declares a model, and by a personal command (a tutor's) when, and only when, it
   loads a model to answer (`core.cooldown.Budget`); `/help`, a typo and a ready quiz are free.
4. **Engine**: the model work, on worker threads; busy and time-outs come back as outcomes.

Internal failures are logged with context and answered with `APOLOGY`: never a traceback.
"""
from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from core.actions import OLDER, SEAL, SEAL_CHARS, THIS_RUN, decode, encode, sealed, unseal, uses_run
from core.context import Caller
from core.cooldown import Budget, Cooldown, OverBudget
from core.errors import Busy, StoreUnavailable, UserError
from core.grammar import read_typed
from core.results import Timer
from core.tutor.keys import LogNames

if TYPE_CHECKING:  # pragma: no cover
    from core.engine import Engine
    from core.registry import Command
    from core.results import Result
    from core.store import RunStore

log = logging.getLogger("tutor.requests")
NO_BUTTONS = ("The buttons under this answer are off: the tutor cannot open its database here "
              "(tell whoever runs the tutor; `tutor doctor` checks it).")
EXPIRED = ("This answer's buttons have expired (runs are kept for 7 days), so I no longer have its text. "
           "Type the command again to get fresh buttons.")
FOREIGN = ("I can't run that choice here: it is not one I gave in this conversation (or the tutor's database "
           "was replaced since). Type the command again to get fresh buttons.")

APOLOGY = "Sorry, something went wrong on my side while answering. It has been logged; please try again."
SEEN_REQUESTS = 4096
"""How many request ids are remembered to drop a platform's retries; the oldest fall out."""


class Verdict(StrEnum):
    ANSWER = "answer"
    USER_ERROR = "user_error"
    COOLDOWN = "cooldown"
    BUSY = "busy"
    APOLOGY = "apology"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Request:
    """One thing a learner asked, in platform-neutral terms.

    Exactly one of `line` (the text grammar: console, Slack mentions and DMs), `command` (typed
    options: Discord and Slack slash commands) or `action` (an encoded action from a button,
    a select or a numbered choice) says what was asked."""

    platform: str
    user: str
    line: str | None = None
    command: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    action: str | None = None
    request_id: str | None = None
    """The platform's id for this delivery (event id, trigger id, interaction id): retries repeat it."""
    place: str = ""
    """The conversation (channel, DM, thread) it came from: quizzes run per place."""
    group: str = ""
    """The server or workspace, for settings a whole study group shares (the opt-in board)."""
    direct: bool = False
    """A one-to-one conversation with the bot (a DM, the console)."""
    admin: bool = False
    """The platform says this learner may manage the server or workspace (turning the board on)."""


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    command: str = "?"
    result: Result | None = None
    message: str = ""
    """The words for the learner when there is no result (errors, cooldown, busy, apology)."""

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.ANSWER

    @property
    def private(self) -> bool:
        """Errors, cooldowns and apologies go to the asker alone, never to the whole channel."""
        return self.verdict not in (Verdict.ANSWER, Verdict.DUPLICATE)

    @property
    def silent(self) -> bool:
        """Nothing to deliver: a platform's retry of a request already answered."""
        return self.verdict is Verdict.DUPLICATE


class SeenRequests:
    """A bounded memory of request ids, so each is answered once."""

    def __init__(self, capacity: int = SEEN_REQUESTS) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()

    def first_time(self, *keys: str | None) -> bool:
        """True (and remembers every key) unless one of the keys was seen already."""
        present = [k for k in keys if k]
        if any(k in self._seen for k in present):
            return False
        for key in present:
            self._seen[key] = None
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True


class Policy:
    """The one request policy; the app creates one per engine and hands it to every adapter."""

    def __init__(self, engine: Engine, *, runs: RunStore | None = None, cooldown_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic, keep_runs: bool = True) -> None:
        """`cooldown_s` overrides TUTOR_COOLDOWN_S: the console passes 0 (one learner, their own machine).
        `keep_runs=False` (`tutor ask`: one answer, then the process ends) stores no run behind an
        answer's actions, and so never opens the store for a model command."""
        self.engine = engine
        self.cooldown = Cooldown(engine.settings.cooldown_s if cooldown_s is None else cooldown_s, clock)
        self.seen = SeenRequests()
        self.names = LogNames(engine.settings)
        """How log lines name a learner: their keyed id, never a hash of the platform's id."""
        self.keep_runs = keep_runs
        self._runs = runs
        self._opening = threading.Lock()
        self.shared = None
        if engine.settings.database_url.strip():
            # several processes share a configured database: a retry that reaches another process is a duplicate
            from core.store.requests import SharedRequests

            self.shared = SharedRequests(self.runs.db)

    @property
    def runs(self) -> RunStore:
        """The runs behind answers' actions, opened on first use (SQLAlchemy costs a start 0.2 s), in a
        worker thread like every store call (`_in_store`)."""
        with self._opening:
            if self._runs is None:
                from core.store import Database, RunStore, database_url

                settings = self.engine.settings
                self._runs = RunStore(Database(database_url(settings.cache_dir, settings.database_url)))
        return self._runs

    async def _in_store(self, work: Callable[[RunStore], Any]) -> Any:
        """`work(self.runs)` off the event loop (opening the store too, the first time)."""
        return await asyncio.to_thread(lambda: work(self.runs))

    async def handle(self, request: Request) -> Outcome:
        """Answer one request; never raises (every failure becomes an outcome)."""
        started = time.perf_counter()
        if not self.seen.first_time(_scoped(request)) or not await self._first_anywhere(request):
            return Outcome(Verdict.DUPLICATE, _name_of(request))
        outcome = await self._answer(request)
        self._record(request, outcome, time.perf_counter() - started)
        return outcome

    async def _first_anywhere(self, request: Request) -> bool:
        """The shared database's say, off the event loop; a database that cannot be reached does not
        stop the answer (this process has already checked its own memory)."""
        key = _scoped(request)
        if self.shared is None or key is None:
            return True
        try:
            return await asyncio.to_thread(self.shared.claim, key)
        except Exception as exc:  # noqa: BLE001 - logged; answering once here beats not answering
            log.warning("shared de-duplication unavailable (%s): answering", type(exc).__name__)
            return True

    async def _answer(self, request: Request) -> Outcome:
        name = _name_of(request)
        try:
            command, args, notice = await self.resolve(request)
            name = command.name
            if command.needs_model:
                wait = self.cooldown.wait_left(request.user)
                if wait > 0:
                    return Outcome(Verdict.COOLDOWN, name, message=Cooldown.message(wait))
            if command.personal:
                args["caller"] = Caller(request.platform, request.user, request.place, request.group,
                                        request.direct, request.admin)
                args["budget"] = Budget(self.cooldown, request.user)
            result = await self.engine.answer(command, args, notice)
            return Outcome(Verdict.ANSWER, name, await self._bind(request, command, args, result))
        except OverBudget as exc:
            return Outcome(Verdict.COOLDOWN, name, message=Cooldown.message(exc.seconds_left))
        except Busy as exc:
            return Outcome(Verdict.BUSY, name, message=exc.message)
        except UserError as exc:
            return Outcome(Verdict.USER_ERROR, name, message=exc.message)
        except Exception:  # the whole point: one request never takes the bot down (logged below)
            log.exception("internal error platform=%s command=%s user=%s", request.platform, name,
                          self.names.lazy(request.platform, request.user))
            return Outcome(Verdict.APOLOGY, name, message=APOLOGY)

    async def resolve(self, request: Request) -> tuple[Command, dict[str, Any], str | None]:
        """The command, its checked arguments, and the notice when the learner's text had to be
        cleaned (`core.text`); `UserError` when the request is not valid."""
        registry = self.engine.registry
        if request.action is not None:
            name, raw = decode(await self._unsealed(request))
            command = registry.get(name)
            raw = {**(await self._from_run(command, raw)), **request.args}  # e.g. the text a modal asked for
            args, notice = command.check(raw)
            return command, args, notice
        return read_typed(registry, line=request.line, command=request.command, args=request.args)

    async def _unsealed(self, request: Request) -> str:
        """The action's id, once its seal is found to be this conversation's; `UserError` otherwise."""
        assert request.action is not None
        encoded, seal = unseal(request.action)
        decode(encoded)  # an id of another shape or version: said in its own words
        if not seal:
            raise UserError(OLDER)
        key = await self._in_store(lambda runs: runs.action_key())
        if not hmac.compare_digest(seal, seal_of(key, request.platform, request.place, encoded)):
            raise UserError(FOREIGN)
        return encoded

    async def _from_run(self, command: Command, raw: dict[str, Any]) -> dict[str, Any]:
        """An action's options on top of the stored run it names (read off the event loop)."""
        run_id = raw.pop("run", None)
        if run_id is None:
            return raw
        stored = await self._in_store(lambda runs: runs.get(run_id))
        if stored is None:
            raise UserError(EXPIRED)
        known = {o.name for o in command.options}
        return {**{k: v for k, v in stored[1].items() if k in known}, **raw}

    async def _bind(self, request: Request, command: Command, args: dict[str, Any], result: Result) -> Result:
        """Store the run behind the answer's actions and timer, put its id in them, and seal every one for
        this conversation (off the event loop). Without the store the answer stands, without its buttons."""
        if not self.keep_runs or not (result.actions or result.timer):
            return result
        timer_action = decode(result.timer.action_id) if result.timer else None
        timer_uses_run = timer_action is not None and timer_action[1].get("run") == THIS_RUN
        needs_run = uses_run(result.actions) or timer_uses_run
        stored = {k: v for k, v in args.items() if k not in PER_REQUEST}  # who asked is never stored with a run

        def keep(runs: RunStore) -> tuple[bytes, str | None]:
            return runs.action_key(), runs.put(command.name, stored) if needs_run else None

        try:
            key, run_id = await self._in_store(keep)
        except StoreUnavailable:
            return dataclasses.replace(result, actions=(), timer=None, notices=(*result.notices, NO_BUTTONS))
        actions, timer = result.actions, result.timer
        if run_id is not None:
            actions = tuple(a.with_run(run_id) for a in actions)
            if timer is not None and timer_action is not None and timer_uses_run:
                timer = Timer(timer.seconds, encode(timer_action[0], {**timer_action[1], "run": run_id}))

        def seal(encoded: str) -> str:
            return seal_of(key, request.platform, request.place, encoded)

        if timer is not None:
            timer = Timer(timer.seconds, f"{timer.action_id}{SEAL}{seal(timer.action_id)}")
        return dataclasses.replace(result, actions=sealed(actions, seal), timer=timer)

    def _record(self, request: Request, outcome: Outcome, seconds: float) -> None:
        known = any(c.name == outcome.command for c in self.engine.registry)  # typos must not grow labels
        self.engine.metrics.observe(request.platform, outcome.command if known else "unknown",
                                    _status(outcome), seconds)
        model = json.dumps(outcome.result.model if outcome.result else "-")
        log.info("request platform=%s command=%s user=%s model=%s latency_ms=%d outcome=%s",
                 request.platform, outcome.command if known else "unknown",
                 self.names.lazy(request.platform, request.user), model, seconds * 1000, _status(outcome))


PER_REQUEST = ("caller", "budget")
"""Arguments the policy adds for one request (who asks, their budget): never stored with a run."""


def seal_of(key: bytes, platform: str, place: str, encoded: str) -> str:
    """An action id's seal for one conversation: HMAC-SHA256 over the platform, the place and the id."""
    message = "\0".join(("action", platform, place, encoded)).encode("utf-8", "surrogatepass")
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:8]).decode("ascii")[:SEAL_CHARS]


def _scoped(request: Request) -> str | None:
    return f"{request.platform}:{request.request_id}" if request.request_id else None


def _name_of(request: Request) -> str:
    if request.command:
        return request.command.strip().lstrip("/").lower() or "?"
    if request.line:
        return request.line.strip().split(" ", 1)[0].lstrip("/").lower() or "?"
    return "action" if request.action else "?"


def _status(outcome: Outcome) -> str:
    """The metric label: the three the dashboards already know, plus cooldown and busy."""
    return {Verdict.ANSWER: "ok", Verdict.APOLOGY: "error"}.get(outcome.verdict, outcome.verdict.value)
