"""Buttons on /generate and /fillmask, every command's buttons within the platforms' limits, and a
click through the fake adapter (the conformance suite's platform) on a real model."""
from __future__ import annotations

import asyncio

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from core.actions import check, decode, flatten
from core.policy import Request, Verdict
from core.tasks.shared.steps import MAX_STEPS_SHOWN
from core.tiny import tiny_dir
from tests.core.tasks.test_snippets import LONG_LINES, TEST_CACHE, run_snippet, same_output, split_snippet
from tests.support.explore import clicked, is_png, labels, menu, policy_on, typed
from tests.support.fake_adapter import FakeAdapter

PROMPT = "Once upon a time"


def new_text(result) -> str:
    return result.answer.split("**")[1] if "**" in result.answer else ""


async def test_steps_show_the_greedy_choice_and_the_same_text_as_generate(tiny):
    plain = await typed(tiny, f"/generate {PROMPT} max_new_tokens=6")
    steps = await clicked(tiny, plain, "Top 5 at each step")
    assert new_text(steps) == plain.answer.split("**")[1], "the open loop writes what generate() wrote"
    assert len(steps.table.rows) == 6 and is_png(steps.images[0].png)
    folder = tiny_dir(TEST_CACHE) / "generate"
    tokenizer, model = AutoTokenizer.from_pretrained(folder), AutoModelForCausalLM.from_pretrained(folder)
    with torch.no_grad():
        probs = model(**tokenizer(PROMPT, return_tensors="pt")).logits[0, -1].softmax(-1)
    top = probs.topk(5)
    first = steps.table.rows[0]
    assert [float(p) for p in first[3].split()[1::2]] == pytest.approx(top.values.tolist(), abs=1e-4)
    assert first[2] == f"{float(top.values[0]):.4f}", "greedy takes the most likely"
    assert "Greedy decoding takes the most likely token" in steps.explanation
    assert "Text only" in labels(steps)


async def test_sampling_is_reproducible_with_its_seed_and_changes_with_another(tiny):
    plain = await typed(tiny, f"/generate {PROMPT} max_new_tokens=12")
    sampled = await clicked(tiny, plain, "Sample at 1.0")
    again = await clicked(tiny, plain, "Sample at 1.0")
    assert new_text(sampled) == new_text(again) and "seed 0" in sampled.answer
    other = await clicked(tiny, sampled, "Sample again (seed 1)")
    assert new_text(other) != new_text(sampled) and "seed 1" in other.answer
    assert "**Why the text changes**" in sampled.explanation and "`seed=0`" in sampled.explanation
    program, printed = split_snippet(sampled.code)
    assert "torch.Generator().manual_seed(0)" in program and "logits / 1" in program
    assert same_output(printed, run_snippet(program)), "the snippet sets the same seed and prints the same text"
    greedy = await clicked(tiny, sampled, "Greedy")
    assert new_text(greedy) == new_text(plain)


async def test_sampled_steps_snippet_prints_every_steps_candidates(tiny):
    result = await typed(tiny, f"/generate {PROMPT} max_new_tokens=5 steps=true temperature=1.5 seed=7")
    program, printed = split_snippet(result.code)
    assert len(printed) == 6 and printed[0].startswith("1 ")
    assert same_output(printed, run_snippet(program))
    assert "flatter: unlikely tokens gain" in result.explanation


async def test_steps_stop_at_their_limit_and_say_so(tiny):
    result = await typed(tiny, f"/generate {PROMPT} max_new_tokens=40 steps=true")
    assert len(result.table.rows) == MAX_STEPS_SHOWN
    assert f"shows at most {MAX_STEPS_SHOWN} steps" in result.notices[0]


@pytest.mark.parametrize(("option", "words"), [
    ("temperature=hot", "`temperature` must be a number such as 0.7, 1.0 or 1.5, not `hot`."),
    ("temperature=9", "`temperature` must be between 0.05 and 2.0"),
])
async def test_a_wrong_temperature_gets_a_clear_answer(tiny, option, words):
    outcome = await tiny.handle(Request("test", "learner", line=f"/generate {PROMPT} {option}"))
    assert outcome.verdict is Verdict.USER_ERROR and words in outcome.message


async def test_more_guesses_doubles_top_k_until_its_limit(tiny):
    first = await typed(tiny, "/fillmask Paris is the <mask> of France.")
    more = await clicked(tiny, first, "More guesses (10)")
    assert len(more.table.rows) == 10
    most = await clicked(tiny, more, "More guesses (20)")
    assert len(most.table.rows) == 20 and not [label for label in labels(most) if label.startswith("More")]


async def test_mask_another_word_fills_the_mask_and_hides_the_chosen_word(tiny):
    first = await typed(tiny, "/fillmask Paris is the <mask> of France.")
    guess = first.table.rows[0][0]
    words = [o.label for o in menu(first).options]
    assert words == ["0: Paris", "1: is", "2: the", f"3: {guess} (the guess)", "4: of", "5: France"]
    moved = await clicked(tiny, first, "5: France")
    assert f"word 5, `France`, was masked instead: `Paris is the {guess} of [MASK].`" in moved.notices[0]
    by_typing = await typed(tiny, f"/fillmask Paris is the {guess} of [MASK].")
    assert moved.table == by_typing.table
    assert [o.label for o in menu(moved).options] == words, "word numbers stay those of the learner's sentence"
    refused = await tiny.handle(Request("test", "learner", line="/fillmask Paris is the <mask> of France. word=9"))
    assert refused.verdict is Verdict.USER_ERROR and "has 6 words (0 to 5); there is no word 9" in refused.message


@pytest.mark.parametrize("command", sorted(LONG_LINES))
async def test_every_commands_buttons_fit_every_platform_with_its_longest_text(tiny, command):
    result = await typed(tiny, LONG_LINES[command])
    check(result.actions)
    for one in flatten(result.actions):
        assert len(one.id) <= 100
        _name, args = decode(one.id)
        assert len(args.get("run", "")) <= 8 and "Ada, Bo" not in one.id and "猫" not in one.id
        assert all(len(value) <= 8 for value in args.values()), args


async def test_a_click_through_the_fake_platform_redraws_attention(tiny_engine, tmp_path):
    adapter = FakeAdapter(policy_on(tiny_engine, tmp_path))
    serving = asyncio.create_task(adapter.serve())
    try:
        adapter.push("ada", "/attention The cat sat on the mat. layer=0 head=1")
        await adapter.settle()
        buttons = {a.label: a.id for a in adapter.sent[-1].actions}
        assert "Layer 1 ▶" in buttons and "2: cat" in buttons, "buttons and the select's options both arrive"
        before = len(adapter.sent)
        adapter.choose("ada", buttons["Layer 1 ▶"])
        await adapter.settle()
        redrawn = adapter.sent[before:]
        assert redrawn and "layer 1, head 1" in "\n".join(m.text for m in redrawn)
        images = [i for m in redrawn for i in m.images]
        assert images and is_png(images[0].png)
        assert "◀ Layer 0" in {a.label for m in redrawn for a in m.actions}
    finally:
        await adapter.stop()
        await serving

