"""The tutor's shared state for one engine: the store, the keys, the question pool, the background work.

`build_registry()` makes one `Tutor` and binds the tutor's commands to it, so the state lives with
the engine that owns the registry (no global state). It opens the database and builds the pool on
first use. `start(engine)`, called once the app's event loop runs, adds the background work: the
retention purge (at start, then daily) and the pool refill on the engine's worker pool, only while
the engine is idle. Without it the tutor still works: a cold pool computes a question when asked,
and the purge runs on the first tutor request of the day.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.context import Caller, TaskContext
from core.registry import Command, Registry
from core.results import Result
from core.tutor.kinds import Kind, all_kinds, servable
from core.tutor.pool import QuestionPool
from core.tutor.privacy import Keys, tutor_keys
from core.tutor.questions import Question
from core.tutor.recent_runs import RecentRuns
from core.tutor.schedule import next_review

if TYPE_CHECKING:  # pragma: no cover
    from core.engine import Engine
    from core.settings import Settings
    from core.store import Database
    from core.store.board import BoardStore
    from core.store.learners import LearnerStore
    from core.store.progress import ProgressStore
    from core.store.rounds import RoundStore

log = logging.getLogger("tutor.service")

DAY_S = 86400.0
LOCAL = Caller("local", "local", direct=True)
"""Who asks when a command runs without the policy (`Engine.run`, the one-shot `tutor ask`)."""
TOUCH_EVERY_S = 3600.0
"""A learner's last activity is written at most this often: retention counts in days, and a write per
request would double the store's work on the quiz path."""
TOUCHED = 10_000
IDLE_POLL_S = 1.0
BETWEEN_REFILLS_S = 0.05


@dataclass(frozen=True)
class Limits:
    """How many quiz rounds one learner may start: so no one grows the database, or the key pool's
    use, without bound (core/tutor/quiz.py answers the excess with a note). A `Tutor`'s own, so a test
    or the bench can change them."""

    open_rounds: int = 5
    """Questions of theirs waiting for an answer at once (those opened in the last `open_for_s`)."""
    per_minute: int = 6
    """Questions they may start in any 60 seconds (quizzes, reviews, a lesson's questions)."""
    kept: int = 100
    """Rounds kept per asker: opening one past it deletes their oldest closed rounds (answers stay)."""
    open_for_s: float = 3600.0
    """A question left unanswered this long stops counting as open (and may be trimmed)."""


@dataclass
class State:
    settings: Settings
    db: Database
    keys: Keys
    learners: LearnerStore
    rounds: RoundStore
    progress: ProgressStore
    board: BoardStore
    pool: QuestionPool
    kinds: dict[str, Kind]
    """Every kind this pack's models can serve."""
    runs: RecentRuns
    """The lesson runs of the last few minutes, per learner (core/tutor/recent_runs.py)."""


class Tutor:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._state: State | None = None
        self._lock = threading.Lock()
        self._purged_at = float("-inf")
        self._task: asyncio.Task[None] | None = None
        self._touched: OrderedDict[str, float] = OrderedDict()
        self.limits = Limits()

    def state(self, ctx: TaskContext) -> State:
        with self._lock:
            if self._state is None:
                self._state = _build(ctx)
            return self._state

    def learner(self, ctx: TaskContext, args: dict[str, Any]) -> tuple[State, Caller, str]:
        """The state, who asks, and their key; marks them active and runs a purge that is due."""
        state = self.state(ctx)
        caller = args.get("caller") or LOCAL
        key = state.keys.learner(caller.platform, caller.user)
        self.purge_if_due(state)
        self._touch(state, key)
        return state, caller, key

    def _touch(self, state: State, key: str) -> None:
        now = self.clock()
        with self._lock:
            if now - self._touched.get(key, float("-inf")) < TOUCH_EVERY_S:
                return
            self._touched[key] = now
            self._touched.move_to_end(key)
            while len(self._touched) > TOUCHED:
                self._touched.popitem(last=False)
        state.learners.touch(key, now)

    def forgotten(self, key: str) -> None:
        """The learner was just forgotten: their next request records them again (and the purge then finds
        what it writes), even within the hour in which activity is otherwise written once."""
        with self._lock:
            self._touched.pop(key, None)

    def purge_if_due(self, state: State) -> None:
        now = self.clock()
        with self._lock:
            if now - self._purged_at < DAY_S:
                return
            self._purged_at = now
        done = state.learners.purge(now, state.settings.retention_days)
        with self._lock:
            self._touched.clear()  # a purged learner must be written again when they come back
        if done.learners or done.rounds:
            log.info("retention purge: %d inactive learners and %d old rounds deleted", done.learners, done.rounds)

    def record(self, state: State, learner: str, question: Question, correct: bool) -> None:
        """Review the learner's card for this kind (FSRS, core/tutor/schedule.py) after a counted answer."""
        current = state.progress.review(learner, question.kind)
        after = next_review(current, question.kind, question.topic, correct, self.clock(), question.subject)
        if after is not None:
            state.progress.put_review(learner, after, self.clock())

    # --- background work ------------------------------------------------------------------------------
    def start(self, engine: Engine) -> asyncio.Task[None]:
        """Run the purge and the pool refill in the background of the running event loop."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._background(engine), name="tutor-background")
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _background(self, engine: Engine) -> None:
        refill = Command("tutor-refill", "Compute one question for the quiz pool.", (), ("",),
                         self._refill, needs_model=False, hidden=True)
        ctx = context_of(engine)
        while True:
            state = await asyncio.to_thread(self.state, ctx)
            await asyncio.to_thread(self.purge_if_due, state)
            if wants_refill(state, engine):
                try:
                    await engine.execute(refill, {})
                except Exception:
                    log.exception("quiz pool refill failed")
                    await asyncio.sleep(IDLE_POLL_S * 10)
                await asyncio.sleep(BETWEEN_REFILLS_S)
            else:
                await asyncio.sleep(IDLE_POLL_S)

    def _refill(self, ctx: TaskContext, _args: dict[str, Any]) -> Result:
        self.state(ctx).pool.fill_one(ctx)
        return Result("tutor-refill", "", "", "", "-")


def wants_refill(state: State, engine: Engine) -> bool:
    """The pool lacks a question and no request is in flight: a refill would delay nobody."""
    return engine.queue_depth == 0 and state.pool.needy() is not None


def _build(ctx: TaskContext) -> State:
    from core.store import Database, database_url
    from core.store.board import BoardStore
    from core.store.learners import LearnerStore
    from core.store.progress import ProgressStore
    from core.store.rounds import RoundStore

    settings = ctx.settings
    db = Database(database_url(settings.cache_dir, settings.database_url))
    try:
        keys = tutor_keys(settings, db)  # the secret, checked against the database's
    except BaseException:
        db.close()
        raise
    kinds = {k.name: k for k in servable(all_kinds(), ctx.pack)}
    return State(settings, db, keys, LearnerStore(db), RoundStore(db), ProgressStore(db), BoardStore(db),
                 QuestionPool(kinds.values()), kinds, RecentRuns())


def context_of(engine: Engine) -> TaskContext:
    """The context the engine gives handlers, rebuilt from its public parts."""
    from core.render.cache import PerThreadCache

    return TaskContext(engine.settings, engine.pack, engine.models, engine.registry, PerThreadCache(1))


def find(registry: Registry) -> Tutor | None:
    """The `Tutor` a registry's tutor commands are bound to (see core/tutor/commands.py)."""
    for command in registry:
        owner = getattr(command.handler, "__self__", None)
        tutor = getattr(owner, "tutor", None)
        if isinstance(tutor, Tutor):
            return tutor
    return None


async def start(engine: Engine) -> Tutor | None:
    """Start the tutor's background work for this engine (the app calls it once its loop runs)."""
    tutor = find(engine.registry)
    if tutor is not None:
        tutor.start(engine)
    return tutor
