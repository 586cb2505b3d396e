"""The request policy, once: de-duplication, validation, cooldown, engine, outcomes, actions."""
from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from core.actions import decode
from core.engine import Engine
from core.policy import APOLOGY, EXPIRED, Policy, Request, Verdict
from core.settings import Settings
from core.store import Database, RunStore
from tests.support import Clock
from tests.support.toy_registry import TOY_REGISTRY


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = Engine(Settings(pack="tiny", cache_dir=tmp_path, cooldown_s=10.0), registry=TOY_REGISTRY)
    yield engine
    engine.close()


@pytest.fixture()
def clock() -> Clock:
    return Clock(1000.0)


@pytest.fixture()
def policy(engine: Engine, clock: Clock, tmp_path: Path) -> Policy:
    runs = RunStore(Database(f"sqlite:///{tmp_path / 'runs.db'}"), clock=lambda: clock.now)
    return Policy(engine, runs=runs, clock=clock)


def ask(line: str, user: str = "u1", request_id: str | None = None) -> Request:
    return Request(platform="test", user=user, line=line, request_id=request_id)


async def test_a_valid_command_is_answered(policy: Policy):
    outcome = await policy.handle(ask("/echo hi times=2"))
    assert outcome.verdict is Verdict.ANSWER and not outcome.private
    assert outcome.result is not None and outcome.result.answer == "You said: hi (x2)"


async def test_a_retried_request_is_answered_once(policy: Policy):
    first = await policy.handle(ask("/echo hi", request_id="ev1"))
    again = await policy.handle(ask("/echo hi", request_id="ev1"))
    assert first.ok and again.verdict is Verdict.DUPLICATE and again.silent
    other_platform = await policy.handle(dataclasses.replace(ask("/echo hi", request_id="ev1"), platform="x"))
    assert other_platform.ok, "request ids are scoped to their platform"


async def test_cooldown_is_spent_only_by_valid_model_commands(policy: Policy, clock: Clock):
    assert (await policy.handle(ask("/think cats step=12"))).verdict is Verdict.USER_ERROR, "invalid: no cooldown spent"
    assert (await policy.handle(ask("/thinkk cats"))).verdict is Verdict.USER_ERROR
    assert (await policy.handle(ask("/think cats"))).ok
    refused = await policy.handle(ask("/think dogs"))
    assert refused.verdict is Verdict.COOLDOWN and refused.private
    assert refused.message == "You're asking quickly! Try again in 10 s."
    assert (await policy.handle(ask("/echo still free"))).ok, "model-free commands never wait"
    assert (await policy.handle(ask("/think dogs", user="u2"))).ok, "the cooldown is per learner"
    clock.now += 10.0
    assert (await policy.handle(ask("/think dogs"))).ok


async def test_errors_are_private_words_and_internal_details_stay_in_the_log(policy: Policy, caplog):
    unknown = await policy.handle(ask("/ech hi"))
    assert unknown.verdict is Verdict.USER_ERROR and "Did you mean `/echo`?" in unknown.message
    boom = await policy.handle(ask("/boom"))
    assert boom.verdict is Verdict.APOLOGY and boom.message == APOLOGY and boom.private
    assert "internal detail" in caplog.text and "internal detail" not in boom.message
    assert "u1" not in caplog.text, "learners appear in logs only as a hash"


async def test_busy_is_its_own_outcome(policy: Policy, engine: Engine):
    engine.settings = dataclasses.replace(engine.settings, max_queue=0)
    outcome = await policy.handle(ask("/echo hi"))
    assert outcome.verdict is Verdict.BUSY and "busy" in outcome.message


async def test_typed_options_go_through_the_same_validation(policy: Policy):
    outcome = await policy.handle(Request("test", "u1", command="echo", args={"text": "hi", "times": 9}))
    assert outcome.verdict is Verdict.USER_ERROR and "`times` must be between 1 and 5" in outcome.message


async def test_an_action_reruns_its_stored_run_with_what_the_button_changes(policy: Policy, clock: Clock):
    first = await policy.handle(ask("/think a long sentence that would never fit in a button id " * 2))
    assert first.result is not None
    next_step = first.result.actions[0]
    command, args = decode(next_step.id)
    assert command == "think" and args["step"] == "1" and args["run"] != "*"
    assert len(next_step.id) <= 100
    clock.now += 10.0
    second = await policy.handle(Request("test", "u1", action=next_step.id))
    assert second.ok and second.result is not None
    assert second.result.answer.endswith("at step 1.") and "would never fit" in second.result.answer


async def test_an_expired_run_says_so(policy: Policy, clock: Clock):
    first = await policy.handle(ask("/think cats"))
    assert first.result is not None
    clock.now += 8 * 86400
    expired = await policy.handle(Request("test", "u1", action=first.result.actions[0].id))
    assert expired.verdict is Verdict.USER_ERROR and expired.message == EXPIRED


async def test_a_forged_or_foreign_action_id_is_a_user_error(policy: Policy):
    for forged in ("nonsense", "tt1:think:run=doesnotexist&step=1", "tt1:nosuch:step=1", "tt1:think:step=99"):
        outcome = await policy.handle(Request("test", "u1", action=forged))
        assert outcome.verdict is Verdict.USER_ERROR, forged


async def test_text_is_cleaned_once_and_the_answer_says_so(policy: Policy):
    typed = await policy.handle(Request("test", "u1", command="echo", args={"text": "hi\ud800 there"}))
    line = await policy.handle(ask("/echo hi\x00 there"))
    for outcome in (typed, line):
        assert outcome.ok and outcome.result is not None
        outcome.result.answer.encode("utf-8")
        assert outcome.result.notices and "In your text" in outcome.result.notices[0]


async def test_an_ask_action_takes_the_typed_text_beside_its_short_id(engine: Engine, tmp_path: Path):
    from core.actions import Action, Ask
    from core.registry import Command, Option, Registry
    from core.results import Result

    def think(_ctx, args):
        return Result("think", f"Thought about {args['text']} at step {args['step']}.", "", "", "toy",
                      actions=(Ask(Action.to("Use my own sentence", "think", step=3), "text", "Your sentence"),))

    registry = Registry([Command("think", "A toy.", (Option("text", "t", "text", positional="main"),
                                                     Option("step", "s", "int", default=0)), ("/think x",), think,
                                 needs_model=False)])
    toy = Engine(Settings(pack="tiny", cache_dir=tmp_path), registry=registry)
    policy = Policy(toy, runs=RunStore(Database(f"sqlite:///{tmp_path / 'ask.db'}")))
    first = await policy.handle(ask("/think cats"))
    ask_text = first.result.actions[0]
    outcome = await policy.handle(Request("test", "u1", action=ask_text.action.id, args={"text": "my own words"}))
    toy.close()
    assert outcome.ok and outcome.result is not None
    assert outcome.result.answer == "Thought about my own words at step 3."


async def test_a_timer_that_names_its_own_run_gets_the_stored_id(engine: Engine, tmp_path: Path):
    from core.actions import THIS_RUN, encode
    from core.registry import Command, Option, Registry
    from core.results import Result, Timer

    def quiz(_ctx, args):
        return Result("quiz", f"Question about {args['text']} ({args['step']})", "", "", "toy",
                      timer=Timer(20, encode("quiz", {"run": THIS_RUN, "step": "1"})))

    registry = Registry([Command("quiz", "A toy quiz.", (
        Option("text", "t", "text", required=True, positional="main"),
        Option("step", "s", "int", default=0)), ("/quiz x",), quiz, needs_model=False)])
    toy = Engine(Settings(pack="tiny", cache_dir=tmp_path), registry=registry)
    policy = Policy(toy, runs=RunStore(Database(f"sqlite:///{tmp_path / 'timer.db'}")))
    first = await policy.handle(ask("/quiz a long question text"))
    assert first.result is not None and first.result.timer is not None
    assert "run=*" not in first.result.timer.action_id
    reveal = await policy.handle(Request("test", "u1", action=first.result.timer.action_id))
    toy.close()
    assert reveal.ok and reveal.result is not None and reveal.result.answer == "Question about a long question text (1)"



@asynccontextmanager
async def processes(tmp_path: Path, shared: bool) -> AsyncIterator[tuple[Policy, Policy]]:
    """Two bot processes (each its own engine, cache and memory), on one database when `shared`."""
    url = f"sqlite:///{tmp_path / 'shared.db'}" if shared else ""
    engines = [Engine(Settings(pack="tiny", cache_dir=tmp_path / name, cooldown_s=0.0, database_url=url),
                      registry=TOY_REGISTRY) for name in ("a", "b")]
    try:
        yield Policy(engines[0]), Policy(engines[1])
    finally:
        for engine in engines:
            engine.close()


async def test_a_retry_that_reaches_another_process_on_the_shared_database_is_answered_once(tmp_path: Path):
    async with processes(tmp_path, shared=True) as (first, second):
        answered = await first.handle(ask("/echo hi", request_id="Ev42"))
        retried = await second.handle(ask("/echo hi", request_id="Ev42"))
        assert answered.ok and retried.verdict is Verdict.DUPLICATE and retried.silent
        assert (await second.handle(ask("/echo hi", request_id="Ev43"))).ok, "only the same id is a duplicate"


async def test_processes_without_a_shared_database_each_answer_what_reaches_them(tmp_path: Path):
    async with processes(tmp_path, shared=False) as (first, second):
        assert (await first.handle(ask("/echo hi", request_id="Ev42"))).ok
        assert (await second.handle(ask("/echo hi", request_id="Ev42"))).ok, "no shared memory to ask"


async def test_a_click_reaching_another_process_finds_the_run_in_the_shared_database(tmp_path: Path):
    async with processes(tmp_path, shared=True) as (first, second):
        asked = await first.handle(ask("/think a question kept in the shared database"))
        next_step = next(a for a in asked.result.actions if a.label == "Next step")
        clicked = await second.handle(Request("test", "u1", action=next_step.id))
        assert clicked.ok and "at step 1." in clicked.result.answer
        assert "kept in the shared database" in clicked.result.answer
