"""/qkv and /causal: one decoder head computed by hand equals the model's own `output_attentions`, on the
tiny pack (GPT-2's class: the hub pack's code path) and the offline pack (SmolLM2: Llama-style, grouped-query
attention, rotary positions); the check has teeth; the commands answer with the run's own numbers."""
from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
import torch

from core.engine import Engine
from core.errors import UserError
from core.tasks import qkv
from core.tasks.shared.common import load
from core.tutor.service import context_of

SENTENCES = ("The cat sat on the mat because it was tired.", "Paris is lovely in spring, and so is Rome!")


def reading(engine: Engine, text: str) -> qkv.Reading:
    return qkv.read(load(context_of(engine), "qkv"), text)


def worst_difference(r: qkv.Reading) -> float:
    worst = 0.0
    for layer in range(r.layers):
        projected = qkv.project(r, layer)
        for head in range(r.heads):
            worst = max(worst, qkv.head_of(r, layer, head, projected).difference)
    return worst


@pytest.mark.parametrize("text", SENTENCES)
def test_tiny_hand_computed_heads_equal_the_models_map(tiny_engine, text):
    """GPT-2's class (the hub pack's): LayerNorm, one fused Conv1D, the 1/√d scale, the causal mask."""
    r = reading(tiny_engine, text)
    assert type(r.loaded.model).__name__ == "GPT2LMHeadModel"
    assert r.layers * r.heads >= 8
    assert worst_difference(r) < qkv.EXACT


@pytest.mark.parametrize("text", SENTENCES)
def test_offline_hand_computed_heads_equal_the_models_map(offline_engine, text):
    """SmolLM2 (Llama-style): RMSNorm, 9 query heads sharing 3 key/value heads, rotary positions; every head of
    every layer."""
    r = reading(offline_engine, text)
    config = r.loaded.model.config
    assert config.num_key_value_heads < config.num_attention_heads, "grouped-query attention is exercised"
    assert worst_difference(r) < qkv.EXACT


def test_the_exactness_check_fails_without_the_mask_the_positions_or_the_right_key_head(offline_engine):
    """The equality above is not automatic: leaving out any step the model takes breaks it."""
    r = reading(offline_engine, SENTENCES[0])
    p = qkv.project(r, 3)
    head = qkv.head_of(r, 3, 4, p)
    assert head.difference < qkv.EXACT
    unmasked = torch.softmax(p.scores()[4], dim=-1).numpy()
    assert np.abs(unmasked - head.model).max() > 0.01
    other_kv = dataclasses.replace(p, k=p.k.roll(p.groups, dims=0))  # head 4 reading another key/value head
    assert qkv.head_of(r, 3, 4, other_kv).difference > 0.01
    assert qkv.head_of(r, 3, 4, _unrotated(r, 3)).difference > 0.01


def _unrotated(r: qkv.Reading, layer: int) -> qkv.Projected:
    """The layer's q and k without rotary positions (the projections alone)."""
    block = r.loaded.model.model.layers[layer]
    norm, attn = block.input_layernorm, block.self_attn
    h = r.hidden[layer]
    with torch.no_grad():
        x = norm(h.to(r.loaded.device)).cpu()
        q = attn.q_proj(x).view(len(h), -1, attn.head_dim).transpose(0, 1)
        k = attn.k_proj(x).view(len(h), -1, attn.head_dim).transpose(0, 1)
    p = qkv.project(r, layer)
    return dataclasses.replace(p, q=q, k=k.repeat_interleave(p.groups, dim=0))


def test_tiny_check_fails_without_the_scale(tiny_engine):
    r = reading(tiny_engine, SENTENCES[0])
    p = qkv.project(r, 1)
    assert qkv.head_of(r, 1, 2, p).difference < qkv.EXACT
    assert qkv.head_of(r, 1, 2, dataclasses.replace(p, scale=1.0)).difference > 1e-4


def test_the_first_token_sees_only_itself_and_rows_add_up_to_one(tiny_engine, offline_engine):
    for engine in (tiny_engine, offline_engine):
        r = reading(engine, SENTENCES[0])
        head = qkv.head_of(r, 0, 0)
        assert head.weights[0, 0] == pytest.approx(1.0)
        assert np.allclose(head.weights.sum(axis=1), 1.0, atol=1e-5)
        assert (head.weights[np.triu_indices(r.n, 1)] == 0).all()


async def test_offline_qkv_answer_shows_a_row_where_the_mask_changes_the_winner(offline_engine):
    result = await offline_engine.run_text(f"/qkv {SENTENCES[0]}")
    r = reading(offline_engine, SENTENCES[0])
    pick = qkv.choose(r)
    assert pick.trap is not None and pick.trap > pick.token, "SmolLM2 has such a row in this sentence"
    head = qkv.head_of(r, pick.layer, pick.head)
    row = head.weights[pick.token]
    seen = np.sort(row[: pick.token + 1])[::-1]
    assert seen[0] - seen[1] >= qkv.MARGIN
    assert head.scores[pick.token, pick.trap] > head.scores[pick.token, : pick.token + 1].max()
    assert f"**Layer {pick.layer}, head {pick.head}**, token {pick.token}" in result.answer
    assert "below 1e-" in result.answer and "equals the model's own map" in result.answer
    for key, _score, mask, mine, model in result.table.rows:
        assert mine == model, "the hand-computed weight is the model's, to four decimals"
        assert (mask == qkv.NEG_INF) == (int(key.split()[0]) > pick.token)
    assert len(result.images) == 2 and all(i.png.startswith(b"\x89PNG") and i.alt for i in result.images)


async def test_qkv_follows_the_learners_layer_head_and_token(tiny_engine):
    result = await tiny_engine.run_text("/qkv The cat sat on the mat. layer=1 head=3 token=2")
    assert result.answer.startswith("**Layer 1, head 3**, token 2") and "the tutor's pick" not in result.answer
    assert [row[2] for row in result.table.rows][3:] == [qkv.NEG_INF] * (len(result.table.rows) - 3)


@pytest.mark.parametrize(("options", "said"), [("token=5", "token 5 `␣mat` (layer and head: the tutor's pick"),
                                               ("layer=1", "(head and token: the tutor's pick"),
                                               ("", "(the tutor's pick")])
async def test_qkv_credits_the_tutor_with_only_what_the_learner_left_open(tiny_engine, options, said):
    """`token=5` once read "token 5 `␣mat` (the tutor's pick)": the learner had picked it."""
    result = await tiny_engine.run_text(f"/qkv The cat sat on the mat. {options}")
    assert said in result.answer, result.answer


@pytest.mark.parametrize(("line", "said"), [
    ("/qkv The cat sat. layer=9", "This model has 2 layers: `layer` must be between 0 and 1; you gave 9."),
    ("/qkv The cat sat. head=7", "This model has 4 heads per layer: `head` must be between 0 and 3; you gave 7."),
    ("/qkv The cat sat. token=40", "Your text has 4 tokens: `token` must be between 0 and 3; you gave 40."),
    ("/causal The cat sat. layer=5", "This model has 2 layers: `layer` must be between 0 and 1; you gave 5."),
])
async def test_out_of_range_choices_get_a_clear_answer(tiny_engine, line, said):
    with pytest.raises(UserError) as caught:
        await tiny_engine.run_text(line)
    assert caught.value.message == said


async def test_odd_unicode_is_read_and_drawn(tiny_engine):
    result = await tiny_engine.run_text("/qkv 猫 😀 naïve café")
    assert result.table.rows and result.images


@pytest.mark.parametrize("engine_name", ["tiny_engine", "offline_engine"])
async def test_causal_counts_the_zeros_of_the_models_own_maps(request, engine_name):
    """The decoder's map has exactly n(n-1)/2 zeros, all above the diagonal; the encoder's none."""
    engine = request.getfixturevalue(engine_name)
    text = SENTENCES[0]
    result = await engine.run_text(f"/causal {text}")
    encoder, decoder = result.table.rows
    ctx = context_of(engine)
    enc = load(ctx, "attention")
    with torch.no_grad():
        enc_map = enc.model(**enc.tokenizer(text, return_tensors="pt"), output_attentions=True).attentions[0][0, 0]
    r = reading(engine, text)
    assert encoder[2:] == (str(len(enc_map)), str(len(enc_map) ** 2), str(int((enc_map == 0).sum())))
    assert encoder[4] == "0"
    assert decoder[2:] == (str(r.n), str(r.n * r.n), str(r.n * (r.n - 1) // 2))
    assert f"{r.n * (r.n - 1) // 2} of its {r.n * r.n} weights are exactly 0, every cell above" in result.answer
    assert result.images[0].png.startswith(b"\x89PNG") and "lower-triangular" in result.images[0].alt


async def test_a_one_token_text_is_worded_for_one_token(offline_engine):
    """"Hi" is one SmolLM2 token: /qkv shows its row, and /causal and /template count it in the singular."""
    from core.markup import to_plain

    row = await offline_engine.run_text("/qkv Hi")
    assert [r[0] for r in row.table.rows] == ["0 Hi"] and row.table.rows[0][3] == "1.0000"
    causal = to_plain((await offline_engine.run_text("/causal Hi")).answer)
    assert "0 of its 1 weight are exactly 0" in causal and "no cell above the diagonal" in causal
    template = to_plain((await offline_engine.run_text("/template Hi max_new_tokens=1")).answer)
    assert re.search(r"Your words sit at position \d+, not position 0\.", template), template
