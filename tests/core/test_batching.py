"""Micro-batching: each caller gets its own answer, failures stay alone, nothing hangs on shutdown."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest

from core.batching import MicroBatcher, pick_batch
from core.context import TaskContext
from core.engine import Engine
from core.errors import UserError
from core.registry import Command, Option, Registry
from core.render.cache import PerThreadCache
from core.results import Result
from core.settings import Settings
from core.tasks import generate, qa
from core.tasks.shared.common import load
from core.tasks.shared.decoding import positions
from tests.support.tiny_decoders import tiny_chat_model

TEXTS = [f"Review number {i}: " + "good " * (i % 7) + "bad " * (i % 3) for i in range(16)]


def scores(result: Result) -> dict[str, float]:
    return {label: float(score) for label, score in result.table.rows}


async def test_concurrent_requests_are_batched_and_each_caller_gets_its_own_answer(tiny_settings):
    batched = Engine(tiny_settings)
    solo = Engine(Settings(pack="tiny", cache_dir=tiny_settings.cache_dir, max_batch=1))
    await batched.run("sentiment", {"text": "warm up"})  # load the model first, so the crowd queues
    results = await asyncio.gather(*(batched.run("sentiment", {"text": t}) for t in TEXTS))
    assert max(batched.batchers["sentiment"].batch_sizes) > 1
    for text, result in zip(TEXTS, results, strict=False):
        alone = await solo.run("sentiment", {"text": text})
        assert repr(text.strip()) in result.code
        assert scores(result) == pytest.approx(scores(alone), abs=1e-4)
    batched.close()
    solo.close()


async def test_a_lone_request_runs_alone(tiny_settings):
    engine = Engine(tiny_settings)
    await engine.run("sentiment", {"text": "one"})
    await engine.run("sentiment", {"text": "two"})
    assert list(engine.batchers["sentiment"].batch_sizes) == [1, 1]
    engine.close()


def _echo(ctx, args) -> Result:
    if "bad" in args["text"]:
        raise UserError(f"refused {args['text']}")
    time.sleep(0.05)
    return Result("echo", args["text"], "", "", "-")


def _echo_batch(ctx, batch: Sequence[dict[str, Any]]) -> list[Result]:
    return [_echo(ctx, args) for args in batch]  # one bad input breaks the whole batch


REGISTRY = Registry([Command("echo", "Echo.", (Option("text", "t", required=True, positional="main"),),
                             ("/echo hi",), _echo, needs_model=False, batch_handler=_echo_batch)])


async def test_an_input_that_fails_fails_alone(tmp_path):
    engine = Engine(Settings(pack="tiny", cache_dir=tmp_path), registry=REGISTRY)
    texts = ["a", "b", "bad one", "c", "d", "e"]
    outcomes = await asyncio.gather(*(engine.run("echo", {"text": t}) for t in texts), return_exceptions=True)
    engine.close()
    for text, outcome in zip(texts, outcomes, strict=False):
        if text == "bad one":
            assert isinstance(outcome, UserError) and outcome.message == "refused bad one"
        else:
            assert isinstance(outcome, Result) and outcome.answer == text


async def test_closing_the_engine_answers_every_waiting_caller(tmp_path):
    engine = Engine(Settings(pack="tiny", cache_dir=tmp_path, max_batch=2), registry=REGISTRY)
    tasks = [asyncio.create_task(engine.run("echo", {"text": str(i)})) for i in range(20)]
    await asyncio.sleep(0.02)
    engine.close()
    done = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=10)
    assert any(isinstance(d, UserError) and "shutting down" in d.message for d in done)
    assert all(isinstance(d, (Result, UserError, asyncio.CancelledError)) for d in done)


def test_batch_starts_with_the_oldest_and_groups_by_length():
    assert pick_batch([10, 200, 11, 12, 190], max_batch=3, max_tokens=10_000) == [0, 2, 3]
    assert pick_batch([200, 10, 190], max_batch=2, max_tokens=10_000) == [0, 2]


def test_batch_respects_the_padded_token_budget():
    assert pick_batch([100, 100, 100, 100], max_batch=16, max_tokens=250) == [0, 1]
    assert pick_batch([300], max_batch=16, max_tokens=250) == [0]


async def test_fillmask_batch_keeps_each_callers_text_and_top_k(tiny_settings):
    batched = Engine(tiny_settings)
    solo = Engine(Settings(pack="tiny", cache_dir=tiny_settings.cache_dir, max_batch=1))
    asks = [{"text": f"Paris is the [MASK] of country number {i}.", "top_k": 1 + i % 4} for i in range(8)]
    await batched.run("fillmask", asks[0])  # load first, so the rest arrive together
    results = await asyncio.gather(*(batched.run("fillmask", a) for a in asks))
    assert max(batched.batchers["fillmask"].batch_sizes) > 1
    for i, (ask, result) in enumerate(zip(asks, results, strict=False)):
        alone = await solo.run("fillmask", ask)
        assert len(result.table.rows) == ask["top_k"] and f"country number {i}." in result.answer
        assert [r[0] for r in result.table.rows] == [r[0] for r in alone.table.rows]
        expected = [float(r[1]) for r in alone.table.rows]
        assert [float(r[1]) for r in result.table.rows] == pytest.approx(expected, abs=1e-4)
    batched.close()
    solo.close()


async def test_a_bad_fillmask_in_a_batch_fails_alone(tiny_engine):
    asks = ["Paris is the [MASK] of France.", "no mask at all", "Rome is the <mask> of Italy."]
    outcomes = await asyncio.gather(*(tiny_engine.run_text(f"/fillmask {a}") for a in asks), return_exceptions=True)
    assert isinstance(outcomes[0], Result) and isinstance(outcomes[2], Result)
    assert isinstance(outcomes[1], UserError) and "exactly one `[MASK]`" in outcomes[1].message


def rows(result: Result) -> list[tuple[str, ...]]:
    return list(result.table.rows) if result.table else []


async def test_ner_batch_gives_each_caller_the_entities_of_its_own_text(tiny_settings):
    batched = Engine(tiny_settings)
    solo = Engine(Settings(pack="tiny", cache_dir=tiny_settings.cache_dir, max_batch=1))
    texts = [f"My name is Ada number {i} and I live in " + " and ".join(["London"] * (1 + i % 4)) for i in range(8)]
    await batched.run("ner", {"text": texts[0]})  # load first, so the rest arrive together
    results = await asyncio.gather(*(batched.run("ner", {"text": t}) for t in texts))
    assert max(batched.batchers["ner"].batch_sizes) > 1
    for text, result in zip(texts, results, strict=False):
        alone = await solo.run("ner", {"text": text})
        assert repr(text) in result.code
        assert [r[:2] for r in rows(result)] == [r[:2] for r in rows(alone)]
        assert [float(r[2]) for r in rows(result)] == pytest.approx([float(r[2]) for r in rows(alone)], abs=1e-4)
    batched.close()
    solo.close()


ZEROSHOT_ASKS = [
    {"text": "I love pizza with extra cheese", "labels": "food, sports, politics", "multi_label": False},
    {"text": "The match went to extra time", "labels": "sports, cooking", "multi_label": True},
    {"text": "Parliament voted on the new budget today", "labels": "politics, weather, music, food",
     "multi_label": False},
    {"text": "It will rain all weekend", "labels": "weather", "multi_label": True},
]


@pytest.mark.parametrize("pack", ["tiny", "offline"])  # an NLI model, and an embedding model
async def test_zeroshot_batch_keeps_each_callers_labels_and_scores(pack, tiny_settings):
    batched = Engine(Settings(pack=pack, cache_dir=tiny_settings.cache_dir))
    solo = Engine(Settings(pack=pack, cache_dir=tiny_settings.cache_dir, max_batch=1))
    await batched.run("zeroshot", ZEROSHOT_ASKS[0])
    asks = ZEROSHOT_ASKS * 3
    results = await asyncio.gather(*(batched.run("zeroshot", a) for a in asks))
    assert max(batched.batchers["zeroshot"].batch_sizes) > 1
    alone_of = {i: await solo.run("zeroshot", ask) for i, ask in enumerate(ZEROSHOT_ASKS)}  # each ask once
    for i, (ask, result) in enumerate(zip(asks, results, strict=False)):
        alone = alone_of[i % len(ZEROSHOT_ASKS)]
        assert sorted(r[0] for r in rows(result)) == sorted(x.strip() for x in ask["labels"].split(","))
        assert scores(result) == pytest.approx(scores(alone), abs=1e-3)
        one = "," not in ask["labels"]  # a lone label is scored on its own, as the answer says
        assert ("labels scored independently" in result.answer) == (ask["multi_label"] and not one)
        assert ("(scored on its own)" in result.answer) == (one and (ask["multi_label"] or pack == "tiny"))
    batched.close()
    solo.close()


async def test_a_zeroshot_with_bad_labels_in_a_batch_fails_alone(tiny_engine):
    lines = ["/zeroshot I love pizza | food, sports", "/zeroshot No labels here |  , ,",
             "/zeroshot The match went to extra time | sports, cooking"]
    outcomes = await asyncio.gather(*(tiny_engine.run_text(line) for line in lines), return_exceptions=True)
    assert isinstance(outcomes[0], Result) and isinstance(outcomes[2], Result)
    assert isinstance(outcomes[1], UserError) and "comma-separated labels" in outcomes[1].message


@pytest.mark.parametrize("pack", ["tiny", "offline"])  # a GPT-2 with no pad token, and SmolLM2
async def test_generate_batch_gives_each_prompt_its_own_greedy_continuation(pack, tiny_settings):
    batched = Engine(Settings(pack=pack, cache_dir=tiny_settings.cache_dir))
    solo = Engine(Settings(pack=pack, cache_dir=tiny_settings.cache_dir, max_batch=1))
    asks = [{"prompt": p, "max_new_tokens": n} for p, n in
            [("Once upon a time", 6), ("The capital of France is", 3), ("Hi", 8), ("Attention lets a model", 1)]]
    await batched.run("generate", asks[0])
    results = await asyncio.gather(*(batched.run("generate", a) for a in asks * 2))
    assert max(batched.batchers["generate"].batch_sizes) > 1
    alone_of = [await solo.run("generate", ask) for ask in asks]  # each ask once: it is asked twice in the crowd
    for i, (ask, result) in enumerate(zip(asks * 2, results, strict=False)):
        alone = alone_of[i % len(asks)]
        assert result.answer == alone.answer and result.answer.startswith(ask["prompt"])
    batched.close()
    solo.close()


@pytest.mark.parametrize("command, asks", [
    ("summarize", [{"text": "The Eiffel Tower is 330 metres tall. "
                            "It was the tallest structure in the world for 41 years."},
                   {"text": "Cats sleep for most of the day. They hunt at dawn and dusk."},
                   {"text": "The lesson covered tokenizers, then attention, then pipelines."}]),
    ("qa", [{"question": "Where do I live?", "context": "My name is Ada and I live in London."},
            {"question": "How tall is the tower?", "context": "The Eiffel Tower is 330 metres tall."},
            {"question": "What do cats do at dawn?", "context": "Cats sleep for most of the day and hunt at dawn."}]),
])
async def test_chat_model_batch_gives_each_caller_its_own_reply(command, asks, tiny_settings):
    batched = Engine(Settings(pack="offline", cache_dir=tiny_settings.cache_dir))
    solo = Engine(Settings(pack="offline", cache_dir=tiny_settings.cache_dir, max_batch=1))
    await batched.run(command, asks[0])
    results = await asyncio.gather(*(batched.run(command, a) for a in asks * 2))
    assert max(batched.batchers[command].batch_sizes) > 1
    alone_of = [await solo.run(command, ask) for ask in asks]  # each ask once: it is asked twice in the crowd
    for i, (ask, result) in enumerate(zip(asks * 2, results, strict=False)):
        alone = alone_of[i % len(asks)]
        assert result.answer == alone.answer and result.code == alone.code
        assert all(repr(value) in result.code or value in result.code for value in ask.values())
    batched.close()
    solo.close()



def test_generate_batch_fits_long_prompts_and_large_limits_each_as_alone(tiny_engine):
    """A prompt cut to fit its own 30 new tokens must not run to a neighbour's 50 in the same batch:
    the tiny GPT-2's 1,024 positions hold 994 + 30, not 994 + 50. Called directly: the engine would hide
    a failed batch by answering its requests one by one. Each 猫 is 3 byte-level pieces."""
    ctx = TaskContext(tiny_engine.settings, tiny_engine.pack, tiny_engine.models, tiny_engine.registry,
                      PerThreadCache(1))
    long = "x " * 150 + "猫" * 350
    asks = [{"prompt": p, "max_new_tokens": n} for p, n in
            [(long, 30), ("Hi", 50), ("猫" * 330, 10), (long[200:], 5)]]
    loaded = load(ctx, "generate", "causal-lm", "chat")
    room, lengths = positions(loaded), [len(loaded.tokenizer(a["prompt"])["input_ids"]) for a in asks]
    assert lengths[0] + 30 > room and lengths[3] + 5 > room  # both must be cut
    assert lengths[2] + 10 <= room < lengths[2] + 50  # fits alone, not with the neighbour's limit
    together = generate.run_batch(ctx, asks)
    for ask, result in zip(asks, together, strict=False):
        alone = generate.run(ctx, ask)
        assert result.answer == alone.answer and result.notices == alone.notices
        assert result.explanation == alone.explanation
    assert together[0].notices and not together[1].notices and not together[2].notices


def test_chat_batch_shortens_each_context_as_it_would_alone(tiny_settings, tmp_path):
    """Long contexts cut to fit a chat GPT-2's 160 positions decode beside short ones, each as alone."""
    chat_model = tiny_chat_model(tiny_settings, tmp_path / "chat")
    engine = Engine(Settings(pack="tiny", cache_dir=tiny_settings.cache_dir, model_overrides={"qa": str(chat_model)}))
    ctx = TaskContext(engine.settings, engine.pack, engine.models, engine.registry, PerThreadCache(1))
    long = " ".join(f"Fact {i}: Ada lives in London and walks to work." for i in range(40))
    asks = [{"question": "Where does Ada live?", "context": c} for c in (long, "Ada lives in London.", long[500:])]
    together = qa.run_batch(ctx, asks)
    for ask, result in zip(asks, together, strict=False):
        alone = qa.run(ctx, ask)
        assert (result.answer, result.code, result.notices) == (alone.answer, alone.code, alone.notices)
    assert any("were sent" in n for n in together[0].notices)
    assert not any("were sent" in n for n in together[1].notices)
    engine.close()


class _Recorder(MicroBatcher):
    """A batcher whose batches take a moment each, remembering how many ran at once."""

    def __init__(self, in_flight: int) -> None:
        super().__init__(None, None, max_batch=32, max_tokens=10_000, wait_s=0.002, in_flight=in_flight)
        self.running = self.most_at_once = 0

    async def execute(self, batch: list[dict[str, Any]]) -> list[Any]:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        await asyncio.sleep(0.05)
        self.running -= 1
        return [args["n"] * 10 for args in batch]


async def test_a_crowd_is_split_evenly_over_the_batches_allowed_in_flight():
    batcher = _Recorder(in_flight=2)
    answers = await asyncio.gather(*(batcher.submit({"n": n}) for n in range(8)))
    assert answers == [n * 10 for n in range(8)]
    assert list(batcher.batch_sizes) == [4, 4] and batcher.most_at_once == 2


async def test_one_batch_in_flight_takes_the_whole_crowd_and_queues_the_late_ones():
    batcher = _Recorder(in_flight=1)
    first = [asyncio.ensure_future(batcher.submit({"n": n})) for n in range(5)]
    for _ in range(10_000):  # arranged, not hoped for: the late ones come once the first batch runs
        if batcher.running:
            break
        await asyncio.sleep(0.001)
    assert batcher.running == 1 and list(batcher.batch_sizes) == [5]
    late = [asyncio.ensure_future(batcher.submit({"n": n})) for n in range(5, 8)]
    assert await asyncio.gather(*first, *late) == [n * 10 for n in range(8)]
    assert list(batcher.batch_sizes) == [5, 3] and batcher.most_at_once == 1


def test_sentiment_batch_explains_each_text_as_it_would_alone(tiny_engine):
    """A batch's answers read the batch's own padded encodings: each says what the model read of its own
    text (special tokens, unknown characters, what truncation cut) exactly as the text's answer alone does."""
    from core.tasks import sentiment

    ctx = tiny_engine.backend.context
    texts = ["ok", "naïve café \u2603 \U0001d518\U0001d52b, a longer text that pads the others", "token " * 600,
             "fine day"]
    batched = sentiment.run_batch(ctx, [{"text": t} for t in texts])
    assert any(r.notices for r in batched) and any("stands for" in r.explanation for r in batched)
    for text, together in zip(texts, batched, strict=True):
        alone = sentiment.run(ctx, {"text": text})
        assert together.explanation.splitlines()[0] == alone.explanation.splitlines()[0]
        assert together.code.split("# It prints:")[0] == alone.code.split("# It prints:")[0]
        assert (together.notices, together.actions) == (alone.notices, alone.actions)
