"""Which words mattered (`why=true`): occlusion in one batched pass, checked one token at a time.

Each test recomputes the numbers the slow, obvious way (one forward pass per hidden token, with
bare transformers) and compares; the snippets must print the same numbers in a fresh interpreter.
"""
from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification, AutoTokenizer

from core.policy import Request, Verdict
from core.tasks.shared.attribution import MAX_HIDDEN
from core.tiny import tiny_dir
from tests.core.tasks.test_snippets import TEST_CACHE, run_snippet, same_output, split_snippet
from tests.support.explore import clicked, is_png, labels, policy_on, typed

REVIEW = "I loved the acting but the ending was dull."


def changes(result) -> dict[int, float]:
    return {int(row[0]): float(row[3]) for row in result.table.rows}


async def test_sentiment_occlusion_equals_one_pass_per_hidden_token(tiny):
    answer = await typed(tiny, f"/sentiment {REVIEW}")
    why = await clicked(tiny, answer, "Which words mattered?")
    folder = tiny_dir(TEST_CACHE) / "sentiment"
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    ids = tokenizer(REVIEW, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        base = model(input_ids=ids).logits.softmax(-1)[0]
    label = int(base.argmax())
    expected = {}
    for i in range(1, ids.shape[1] - 1):  # every token but [CLS] and [SEP], one pass each
        hidden = ids.clone()
        hidden[0, i] = tokenizer.mask_token_id
        with torch.no_grad():
            expected[i] = float(base[label] - model(input_ids=hidden).logits.softmax(-1)[0, label])
    assert changes(why) == pytest.approx(expected, abs=1e-4)
    assert why.answer.startswith(f"**`{model.config.id2label[label]}`** ({float(base[label]) * 100:.1f}%)")
    assert answer.table.rows[0][1] == f"{float(base[label]):.4f}", "the same probability as the plain answer"
    assert is_png(why.images[0].png) and "Back to the answer" in labels(why)
    assert "**What it does not show**" in why.explanation and "one batched forward pass" in why.explanation
    back = await clicked(tiny, why, "Back to the answer")
    assert back.answer == answer.answer


async def test_fillmask_occlusion_measures_the_best_guess_and_keeps_the_mask(tiny):
    text = "Paris is the <mask> of France."
    why = await typed(tiny, f"/fillmask {text} why=true")
    folder = tiny_dir(TEST_CACHE) / "fillmask"
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForMaskedLM.from_pretrained(folder)
    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    at = int((ids[0] == tokenizer.mask_token_id).nonzero()[0, 0])
    with torch.no_grad():
        base = model(input_ids=ids).logits[0, at].softmax(-1)
    guess = int(base.argmax())
    expected = {}
    for i in range(1, ids.shape[1] - 1):
        if i == at:
            continue
        hidden = ids.clone()
        hidden[0, i] = tokenizer.mask_token_id
        with torch.no_grad():
            expected[i] = float(base[guess] - model(input_ids=hidden).logits[0, at].softmax(-1)[guess])
    assert changes(why) == pytest.approx(expected, abs=1e-4)
    assert at not in changes(why), "the mask being filled is never hidden"
    program, printed = split_snippet(why.code)
    assert same_output(printed, run_snippet(program))


@pytest.mark.parametrize("line", [
    f"/sentiment {REVIEW} why=true",
    "/zeroshot I love pizza | food, sports, politics why=true",
    "/zeroshot I love pizza | food, sports multi_label=true why=true",
])
async def test_tiny_occlusion_snippets_print_the_same_numbers(tiny, line):
    result = await typed(tiny, line)
    program, printed = split_snippet(result.code)
    assert len(printed) == 1 + len(result.table.rows)
    assert same_output(printed, run_snippet(program))


async def test_nli_occlusion_reads_every_hidden_copy_with_every_hypothesis(tiny):
    plain = await typed(tiny, "/zeroshot I love pizza | food, sports, politics")
    why = await clicked(tiny, plain, "Which words mattered?")
    assert "each read with all 3 hypotheses" in why.explanation
    top_label, top_score = plain.table.rows[0]
    assert why.answer.startswith(f"**`{top_label}`** (")
    assert why.code.split("# It prints:\n# ")[1].split("\n")[0] == f"{top_label} {top_score}"
    assert [row[1] for row in why.table.rows] == ["I", "␣love", "␣pizza"]
    assert why.images[0].alt.startswith("The text's 5 tokens"), "the picture shows the text, not the hypothesis"


async def test_offline_embedding_occlusion_snippet_prints_the_same_numbers(offline_engine, tmp_path):
    policy = policy_on(offline_engine, tmp_path)
    plain = await typed(policy, "/zeroshot I love pizza with extra cheese | sports, food, politics")
    why = await clicked(policy, plain, "Which words mattered?")
    assert why.answer.startswith("**`food`**")
    assert why.code.split("# It prints:\n# ")[1].split("\n")[0] == "food " + plain.table.rows[0][1]
    assert max(changes(why).items(), key=lambda kv: kv[1])[0] in (3, 6), "pizza or cheese matters most for food"
    program, printed = split_snippet(why.code)
    assert same_output(printed, run_snippet(program))


async def test_a_text_too_long_to_occlude_has_no_button_and_a_typed_request_says_why(tiny):
    long = " ".join(["word"] * (MAX_HIDDEN + 5))
    plain = await typed(tiny, f"/sentiment {long}")
    assert "Which words mattered?" not in labels(plain)
    refused = await tiny.handle(Request("test", "learner", line=f"/sentiment {long} why=true"))
    assert refused.verdict is Verdict.USER_ERROR
    assert f"at most {MAX_HIDDEN} tokens" in refused.message and f"yours has {MAX_HIDDEN + 5}" in refused.message
