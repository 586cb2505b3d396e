"""The engine: off-loop model work, time-outs, a bounded queue, lazy shared loads, LRU eviction."""
from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from core.context import TaskContext
from core.engine import Engine
from core.errors import UserError
from core.packs import Pack
from core.policy import APOLOGY, Policy, Request, Verdict
from core.registry import Command, Option, Registry
from core.render.cache import PerThreadCache
from core.results import Result
from core.settings import Settings
from core.tasks import helpcmd


def _sleepy(ctx, args) -> Result:
    time.sleep(float(args["text"]))
    return Result("sleep", f"slept on {threading.current_thread().name}", "", "", "-")


def _broken(ctx, args) -> Result:
    raise RuntimeError("secret internal detail")


TEST_REGISTRY = Registry([
    Command("sleep", "Sleep for N seconds in a worker.", (Option("text", "seconds", required=True, positional="main"),),
            ("/sleep 1",), _sleepy, needs_model=False),
    Command("broken", "Always fails.", (), ("/broken",), _broken, needs_model=False),
])


def engine_with(tmp_path, **settings) -> Engine:
    return Engine(Settings(pack="tiny", cache_dir=tmp_path, **settings), registry=TEST_REGISTRY)


async def test_model_work_runs_off_the_event_loop(tmp_path):
    engine = engine_with(tmp_path)
    gaps, last, done = [], time.perf_counter(), False

    async def ticker() -> None:
        nonlocal last
        while not done:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    result = await engine.run_text("/sleep 1.0")
    done = True
    await tick
    engine.close()
    assert result.answer.startswith("slept on tutor-model")
    assert max(gaps) < 0.5, "the event loop kept running while the worker slept"


async def test_slow_request_times_out_with_a_clear_message(tmp_path):
    engine = engine_with(tmp_path, request_timeout_s=0.3)
    with pytest.raises(UserError, match="took longer than 0 s, so I stopped waiting"):
        await engine.run_text("/sleep 1.5")
    engine.close()


async def test_queue_is_bounded_and_says_busy(tmp_path):
    engine = engine_with(tmp_path, max_queue=1)
    first = asyncio.create_task(engine.run_text("/sleep 0.5"))
    await asyncio.sleep(0.05)
    with pytest.raises(UserError, match="busy"):
        await engine.run_text("/sleep 0.1")
    assert (await first).answer.startswith("slept")
    engine.close()


async def test_internal_error_becomes_an_apology_and_is_logged(tmp_path, caplog):
    engine = engine_with(tmp_path)
    with caplog.at_level(logging.ERROR, logger="tutor.requests"):
        outcome = await Policy(engine).handle(Request("test", "u1", line="/broken"))
    engine.close()
    assert outcome.verdict is Verdict.APOLOGY and outcome.message == APOLOGY
    assert "secret internal detail" not in outcome.message
    assert "command=broken" in caplog.text and "RuntimeError" in caplog.text


async def test_models_load_once_and_are_shared(tiny_settings):
    engine = Engine(tiny_settings)
    await asyncio.gather(*(engine.run_text("/sentiment I love this") for _ in range(4)))
    assert engine.models.loads == 1
    engine.close()


async def test_memory_budget_evicts_the_least_recently_used_model(tiny_settings):
    # 1 MB: less than the tiny DistilBERT (4 MB, the real uncased vocabulary), so each load evicts the other
    engine = Engine(Settings(pack="tiny", cache_dir=tiny_settings.cache_dir, memory_budget_mb=1))
    await engine.run_text("/sentiment I love this")
    await engine.run_text("/ner Ada lives in London")
    assert [m.command for m in engine.models.loaded()] == ["ner"]
    await engine.run_text("/sentiment I love this")
    assert engine.models.loads == 3
    engine.close()


async def test_hub_pack_without_network_fails_fast_and_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")
    engine = Engine(Settings(pack="hub", cache_dir=tmp_path))
    with pytest.raises(UserError) as info:
        await asyncio.wait_for(engine.run_text("/sentiment I love this"), timeout=60)
    engine.close()
    assert "cannot be reached" in info.value.message and "--pack offline" in info.value.message


def _without(pack: Pack, command: str) -> Pack:
    return Pack(pack.name, {k: v for k, v in pack.models.items() if k != command}, pack.hub)


async def test_a_pack_without_a_model_names_who_can_serve_it(offline_engine):
    with pytest.raises(UserError, match="`hub` pack serves it with distilbert"):
        _without(offline_engine.pack, "sentiment").spec("sentiment")


async def test_models_command_lists_what_the_pack_serves_and_lacks(offline_engine):
    result = await offline_engine.run_text("/models")
    served = {row[0]: row for row in result.table.rows}
    assert {"/tokenize", "/attention", "/zeroshot", "/generate", "/sentiment"} <= set(served)
    assert served["/sentiment"][2] == "chat (stand-in)"  # the offline pack serves it through a stand-in
    ctx = TaskContext(offline_engine.settings, _without(offline_engine.pack, "sentiment"), offline_engine.models,
                      offline_engine.registry, PerThreadCache(1))
    lacking = helpcmd.run_models(ctx, {})
    assert "/sentiment" not in {row[0] for row in lacking.table.rows} and "cannot serve: /sentiment" in lacking.answer


def test_a_model_override_for_an_unknown_command_is_a_config_error(tmp_path):
    from core.settings import ConfigError

    with pytest.raises(ConfigError, match="TUTOR_MODEL_SENTIMNT names no command"):
        Engine(Settings.from_env({"TUTOR_PACK": "tiny", "TUTOR_MODEL_SENTIMNT": "x", "TUTOR_CACHE_DIR": str(tmp_path)}))


async def test_a_model_override_replaces_one_command_and_reads_its_kind(tiny_settings):
    from core.tiny import tiny_dir

    qa_model = str(tiny_dir(tiny_settings.cache_dir) / "qa")
    engine = Engine(Settings(pack="offline", cache_dir=tiny_settings.cache_dir, model_overrides={"qa": qa_model}))
    result = await engine.run_text("/qa Where? | In London.")
    engine.close()
    assert result.table.columns == ("answer", "score", "characters")  # extractive, not chat


async def test_warm_up_loads_the_chosen_models_in_the_background(tiny_settings):
    engine = Engine(Settings(pack="tiny", cache_dir=tiny_settings.cache_dir, warmup="ner, /fillmask"))
    assert engine.warm_up() == ["ner", "fillmask"]
    for _ in range(300):
        if len(engine.models.loaded()) == 2:
            break
        await asyncio.sleep(0.1)
    assert sorted(m.command for m in engine.models.loaded()) == ["fillmask", "ner"]
    engine.close()


def test_warm_up_of_an_unknown_command_is_a_config_error(tiny_settings):
    from core.settings import ConfigError

    engine = Engine(Settings(pack="tiny", cache_dir=tiny_settings.cache_dir, warmup="help"))
    with pytest.raises(ConfigError, match="`help`, which is not a command with a model"):
        engine.warm_up()
    engine.close()
