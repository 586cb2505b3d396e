"""The guided path's teaching statements hold for the pack's own models (issue 19, §2).

Where a statement can be checked by a run, the test runs the model (tiny twins and the offline pack's
real weights) and checks the statement against what it did: the [UNK] claim, the word a fill-mask
lesson hides, padding's equality, which vector a classifier reads, segment embeddings, the decoding a
model's generation config gives, the measured attention heads, the zero-shot percentage.
"""
from __future__ import annotations

import math
import random
import re
from typing import Any

import pytest
import torch

from core.context import TaskContext
from core.markup import to_plain
from core.tasks.shared.common import load
from core.tasks.standins.fillmask import around
from core.tutor import heads, teach
from core.tutor import lesson_path as path
from core.tutor.kinds import run_command
from core.tutor.kinds.tokenizers import PAD_PARTNER
from core.tutor.kinds.words import hidden_word, masked, one_token_word
from core.tutor.lesson_path import LESSONS
from core.tutor.questions import NoQuestion
from core.tutor.service import context_of
from core.tutor.walks import NAMES, TOLERANCE, padding_walk
from tests.support import snippet_outputs

PACKS = ("tiny_engine", "offline_engine")


@pytest.fixture(params=PACKS)
def ctx(request: pytest.FixtureRequest) -> TaskContext:
    return context_of(request.getfixturevalue(request.param))


def lesson(name: str) -> path.Lesson:
    return next(x for x in LESSONS if x.id == name)


def explain(ctx: TaskContext, name: str, text: str | None = None) -> str:
    chosen = lesson(name)
    text = text or chosen.example
    return to_plain(chosen.explain(ctx, text, lambda: chosen.run(ctx, text)))


# --- tokenizers: [UNK] ---------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["tokenize", "generate", "fillmask"])
def test_the_unknown_token_claim_is_what_the_tokenizer_does(ctx: TaskContext, command: str):
    """WordPiece maps what it cannot spell to [UNK]; byte-level BPE never needs it: said as the tokenizer runs."""
    tok = load(ctx, command).tokenizer  # every pack serves all three (the offline pack's /fillmask: a stand-in)
    pieces = tok.tokenize(teach.UNSPELLABLE)
    said = to_plain(teach.vocabulary(tok))
    if teach.needs_unknown(tok):
        assert tok.unk_token in pieces, "the sample holds a character this tokenizer cannot spell"
        assert f"becomes {tok.unk_token}" in said and " ".join(pieces) in said
        assert "never" not in said
        if [tok.tokenize(w) for w in ("😀x", "x")] == [[tok.unk_token], ["x"]]:  # WordPiece drops the whole word
            assert f"becomes {tok.unk_token} whole" in said and f"😀x is one {tok.unk_token} though x alone" in said
            assert ": a character it has no piece for becomes" not in said, "the x has a piece: the word is lost"
    else:
        assert tok.unk_token not in pieces if tok.unk_token else True
        ids = tok(teach.UNSPELLABLE, add_special_tokens=False)["input_ids"]
        assert tok.decode(ids) == teach.UNSPELLABLE, "byte-level BPE spells the text back exactly"
        assert "never needs an unknown token" in said and f"becomes {len(pieces)} pieces" in said


def test_the_subwords_lesson_no_longer_says_no_word_is_out_of_vocabulary(ctx: TaskContext):
    said = explain(ctx, "subwords")
    assert "no word is ever out of vocabulary" not in said.lower()
    tok = load(ctx, "tokenize").tokenizer
    assert to_plain(teach.vocabulary(tok)) in said
    check = lesson("subwords").check
    assert "any word" not in check.right[0] and "[UNK]" in check.right[1]


# --- fill-mask: one token ------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["Tokenization is unbelievably useful.", "The Eiffel Tower is very tall.",
                                  "I love this film, but the ending was too long."])
def test_fill_mask_hides_a_word_the_model_can_restore(tiny_engine, text: str):
    """The word hidden is one token for the fill-mask model; a longer word it splits is left alone."""
    ctx = context_of(tiny_engine)
    tok = load(ctx, "fillmask").tokenizer
    one = one_token_word(tok)
    word = hidden_word(text, one)
    assert word is not None
    assert len(tok.tokenize(" " + word)) == 1, word
    longest = max(re.findall(r"[^\W\d_]+", text), key=len)
    if len(tok.tokenize(" " + longest)) > 1:
        assert word != longest, "a word of several tokens can never come back from one mask"
    hidden = masked(text, one)
    assert hidden == re.sub(rf"\b{word}\b", "[MASK]", text, count=1)
    result = run_command(ctx, "fillmask", {"text": hidden, "top_k": 5})
    assert result.table is not None and len(result.table.rows) == 5
    assert f"hid `{word}`" in lesson("fillmask").explain(ctx, text, lambda: result)


@pytest.mark.parametrize("text", ["The Eiffel Tower is very tall.", "Paris is the [MASK] of France."])
def test_the_fill_mask_lesson_on_the_stand_in_says_what_the_causal_model_did(offline_engine, text: str):
    """Offline, SmolLM2 (left to right) stands in for a masked model: the lesson says what it saw at the mask,
    and its numbers are a fresh run's: the top guess's next-token probability from the left context alone,
    and its share against the runner-up from scoring both whole sentences. Nothing of BERT's pre-training."""
    ctx = context_of(offline_engine)
    loaded = load(ctx, "fillmask")
    assert loaded.role == "chat"
    tok = loaded.tokenizer
    hidden = path.fill_text(ctx, text)
    word = hidden_word(text, one_token_word(tok))
    if word is not None:
        assert len(tok.tokenize(" " + word)) == 1 and hidden == re.sub(rf"\b{word}\b", "[MASK]", text, count=1)
    result = lesson("fillmask").run(ctx, text)
    said = to_plain(lesson("fillmask").explain(ctx, text, lambda: result))
    left, right = around(hidden)  # the stand-in reads the sentence that holds the mask
    assert f"saw {left.rstrip()} and nothing after it" in said
    hid = f"hid {word}, a single token for this model" if word else "hides only a word that is a single token"
    assert hid in said
    assert "pre-trained" not in said and "next-sentence" not in said
    (best, share, _), (runner, runner_share, _) = result.table.rows[:2]
    start = tok.convert_tokens_to_ids("<|endoftext|>")
    left_ids = [start, *tok.encode(left.rstrip(), add_special_tokens=False)]
    sentences = [left_ids + tok.encode(" " + w, add_special_tokens=False) + tok.encode(right, add_special_tokens=False)
                 for w in (best, runner)]
    with torch.no_grad():
        alone = loaded.model(torch.tensor([left_ids])).logits[0, -1].float().softmax(-1)
        totals = [float(loaded.model(torch.tensor([ids])).logits[0, :-1].float().log_softmax(-1)
                        .gather(-1, torch.tensor(ids[1:])[:, None]).sum()) for ids in sentences]
    p = float(alone[tok.encode(" " + best, add_special_tokens=False)[0]])
    assert f"{best} had probability {p:.4f} from the left context alone" in said
    assert f"a share of {share} among the candidates" in said
    rounding = 5e-5 / float(runner_share) + 5e-5 / float(share)  # the table's four decimals, as log-ratio error
    assert math.log(float(share) / float(runner_share)) == pytest.approx(totals[0] - totals[1], abs=rounding + 0.01)


def test_fill_mask_pretraining_is_said_for_the_models_own_family(tiny_engine):
    ctx = context_of(tiny_engine)
    family = load(ctx, "fillmask").model.config.model_type
    said = explain(ctx, "fillmask")
    assert path.PRETRAINING[family] in said
    assert "exactly this way" not in said
    if family == "roberta":
        assert "without BERT's next-sentence prediction" in said


# --- padding -------------------------------------------------------------------------------------------

def test_padding_changes_the_vectors_only_by_rounding_as_the_walk_says(ctx: TaskContext):
    text = "Short one."
    result = padding_walk(ctx, text)
    loaded = load(ctx, "attention", "encoder")
    tok = loaded.tokenizer
    alone = tok(text, return_tensors="pt")
    batch = tok([text, PAD_PARTNER], padding=True, return_tensors="pt")
    with torch.no_grad():
        single = loaded.model(**alone).last_hidden_state[0]
        padded = loaded.model(**batch).last_hidden_state[0]
    n = alone["input_ids"].shape[1]
    difference = float((padded[:n] - single).abs().max())
    assert difference < TOLERANCE
    said = to_plain(result.explanation)
    assert f"differ by at most {difference:.1e}" in said and "equal up to floating-point rounding" in said
    blind = float(torch.cosine_similarity(padded[:n].mean(0), padded.mean(0), dim=0))
    assert f"cosine similarity {blind:.2f}" in said and "pooling must skip the padding" in said
    assert "changes nothing" not in said
    assert "padded on the left" in explain(ctx, "padding")


LONG = ("The Great Wall of China is over 21,000 kilometres long. Its construction spanned many dynasties, and "
        "millions of workers built it over centuries.")
"""A learner's own sentence with more tokens than the built-in partner: then the partner is the padded row."""


@pytest.mark.parametrize(("text", "padded_row"), [("Short one.", 0), (LONG, 1)])
def test_the_padding_step_names_the_row_it_padded_with_its_real_count(ctx: TaskContext, text: str, padded_row: int):
    """Whichever text is shorter gets the padding, and the step says which, with the tokenizer's own counts; the
    vectors it compares and averages are that row's, as the snippet prints."""
    result = padding_walk(ctx, text)
    loaded = load(ctx, "attention", "encoder")
    tok = loaded.tokenizer
    texts = [text, PAD_PARTNER]
    batch = tok(texts, padding=True, truncation=True, return_tensors="pt")
    masks = batch["attention_mask"].tolist()
    lengths, width = [sum(m) for m in masks], len(masks[0])
    row = lengths.index(min(lengths))
    pads = width - lengths[row]
    assert row == padded_row and pads > 0 and masks[row].count(0) == pads and 0 not in masks[1 - row]
    answer, said = to_plain(result.answer), to_plain(result.explanation)
    assert f"{NAMES[row]} is the shorter here ({lengths[row]} real tokens against {lengths[1 - row]})" in answer
    assert f"added {pads} {tok.pad_token} tokens to its row; both rows are {width} tokens long." in answer
    assert f"padded the shorter row, {NAMES[row]}'s, with {pads} {tok.pad_token} tokens" in said
    mask_cells = [r[2] for r in result.table.rows]
    assert mask_cells[row] in (" ".join(map(str, masks[row])), f"1 ({lengths[row]} times), 0 ({pads} times)")
    assert mask_cells[1 - row] in (" ".join(map(str, masks[1 - row])), f"1 ({width} times)")
    real = batch["attention_mask"][row].bool()
    with torch.no_grad():
        padded = loaded.model(**batch).last_hidden_state[row]
        single = loaded.model(**tok(texts[row], truncation=True, return_tensors="pt")).last_hidden_state[0]
    difference = float((padded[real] - single).abs().max())
    blind = float(torch.cosine_similarity(padded[real].mean(0), padded.mean(0), dim=0))
    assert difference < TOLERANCE and blind < 0.99, "the padded row: averaging its padding in changes the vector"
    assert f"{NAMES[row]}'s vectors in the batch and on its own differ by at most {difference:.1e}" in said
    assert f"cosine similarity {blind:.2f}" in said
    if ctx.settings.pack == "offline":  # the snippet, run as a learner would, prints the run's numbers
        program, shown = result.code.split("\n# It prints:\n")
        (printed,) = snippet_outputs([program])
        assert printed.split() == shown.replace("# ", "").split()
        assert printed.split()[-2:] == ["True", f"{blind:.2f}"]


# --- [CLS], pooling, segments -----------------------------------------------------------------------------

def test_a_classifier_said_to_read_cls_reads_exactly_the_first_vector(tiny_engine):
    """DistilBERT's head, fed the first token's final vector alone, gives the model's own logits."""
    ctx = context_of(tiny_engine)
    loaded = load(ctx, "sentiment", "classifier")
    said = teach.classifier_reads(loaded)
    assert said and "first token" in said
    model = loaded.model
    inputs = loaded.tokenizer("I love this film.", return_tensors="pt")
    with torch.no_grad():
        hidden = model.distilbert(**inputs).last_hidden_state
        logits = model(**inputs).logits
        again = model.classifier(torch.relu(model.pre_classifier(hidden[:, 0])))
    assert torch.allclose(logits, again, atol=1e-6)
    assert to_plain(f"/sentiment's {said}") in explain(ctx, "special")


def test_the_embedding_model_is_said_to_mean_pool_as_its_config_and_vectors_show(offline_engine):
    ctx = context_of(offline_engine)
    loaded = load(ctx, "zeroshot")
    assert loaded.role == "embedding" and teach.pooling(loaded.spec.source) == "mean"
    said = explain(ctx, "special")
    assert "mean pooling" in said and "[CLS] has no special role" in said
    assert "classifiers read their answer off" not in said


@pytest.mark.parametrize("command", ["attention", "fillmask"])
def test_token_type_ids_are_said_to_matter_only_where_the_model_has_segment_embeddings(tiny_engine, command: str):
    ctx = context_of(tiny_engine)
    loaded = load(ctx, command)
    has, said = teach.segments(loaded)
    inputs = loaded.tokenizer("The cat sat.", "It was tired.", return_tensors="pt")
    types = inputs.get("token_type_ids")
    if has:
        base = getattr(loaded.model, "base_model", loaded.model)
        with torch.no_grad():
            zeros = base(input_ids=inputs["input_ids"], token_type_ids=torch.zeros_like(types)).last_hidden_state
            ones = base(input_ids=inputs["input_ids"], token_type_ids=types).last_hidden_state
        assert not torch.allclose(zeros, ones), "segment embeddings change what the model reads"
        assert "so the second text's 1s change what it reads" in said
    else:
        assert (getattr(loaded.model.config, "type_vocab_size", 0) or 0) < 2
        assert "it reads both texts the same way" in said


def test_offline_encoder_has_segment_embeddings_as_the_lesson_says(offline_engine):
    ctx = context_of(offline_engine)
    loaded = load(ctx, "attention")
    has, said = teach.segments(loaded)
    assert has and to_plain(said) in explain(ctx, "special")


# --- decoding ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["generate", "summarize"])
def test_the_decoding_said_is_what_generate_does_when_asked_nothing(ctx: TaskContext, command: str):
    loaded = load(ctx, command)
    mode, said = teach.decoding(loaded)
    config = loaded.model.generation_config
    assert f"`num_beams={int(config.num_beams or 1)}`" in said  # markup: `said` is the core's text
    if mode != "greedy":
        return
    tok = loaded.tokenizer
    ids = tok("The Eiffel Tower is", return_tensors="pt")
    with torch.no_grad():
        default = loaded.model.generate(**ids, max_new_tokens=4, max_length=None, min_length=0)
        greedy = loaded.model.generate(**ids, max_new_tokens=4, max_length=None, min_length=0, do_sample=False,
                                       num_beams=1)
    assert torch.equal(default, greedy), "the config's default decoding is greedy, as said"
    if command == "generate":
        assert to_plain(said) in explain(ctx, "generate") and "Greedy decoding is the default" not in said


def test_summarization_is_explained_for_the_kind_of_model_that_ran(ctx: TaskContext):
    said = explain(ctx, "summarize")
    role = ctx.pack.models["summarize"].role
    assert "the same step as text generation" not in said
    if role == "seq2seq":
        assert "encoder-decoder" in said and "cross-attention" in said and "beam search" in said
        beams = int(load(ctx, "summarize").model.generation_config.num_beams or 1)
        assert f"num_beams={beams}" in said
    else:
        assert "decoder-only chat model" in said and "This pack's model is an encoder-decoder" not in said


def test_question_answering_is_explained_for_the_model_that_ran_and_shows_its_question(ctx: TaskContext):
    qa = lesson("qa")
    said = explain(ctx, "qa")
    assert f"The question was {path.QUESTION}." in said
    if ctx.pack.models["qa"].role == "extractive-qa":
        assert "Extractive QA does what it did" in said
    else:
        assert "a chat model wrote this answer" in said and "Extractive QA does what it did" not in said
    assert qa.shows is not None and path.QUESTION in qa.shows(qa.example)


# --- NER -----------------------------------------------------------------------------------------------

def test_ner_examples_come_from_the_run(tiny_engine):
    ctx = context_of(tiny_engine)
    text = lesson("ner").example
    result = run_command(ctx, "ner", {"text": text})
    said = to_plain(lesson("ner").explain(ctx, text, lambda: result))
    assert "Lon" not in said and "##don" not in said
    tok = load(ctx, "ner").tokenizer
    for word, label, *_ in result.table.rows[:2]:
        pieces = tok.tokenize(word)
        assert f"{word} [{label}] " + ("is one token" if len(pieces) == 1 else f"joins {len(pieces)} tokens") in said


# --- zero-shot -----------------------------------------------------------------------------------------

def test_nli_single_label_percentages_are_shares_of_entailment_scores(tiny_engine):
    """Single-label: softmax over each label's entailment logit (contradiction plays no part), as said."""
    ctx = context_of(tiny_engine)
    text, labels = "I love pizza with extra cheese", ["food", "sports", "politics", "weather"]
    result = run_command(ctx, "zeroshot", {"text": text, "labels": ", ".join(labels)})
    loaded = load(ctx, "zeroshot", "nli")
    entail = next(i for label, i in loaded.model.config.label2id.items() if label.lower().startswith("entail"))
    pairs = loaded.tokenizer([text] * len(labels), [f"This example is {label}." for label in labels],
                             return_tensors="pt", padding=True)
    with torch.no_grad():
        logits = loaded.model(**pairs).logits[:, entail]
    shares = torch.softmax(logits, dim=0).tolist()
    shown = {row[0]: float(row[1]) for row in result.table.rows}
    for label, share in zip(labels, shares, strict=True):
        assert abs(shown[label] - share) < 1e-4
    said = to_plain(result.explanation)
    assert "entailment vs contradiction" not in said and "not a probability on its own" in said
    assert "share among the labels you gave" in explain(ctx, "zeroshot")


def test_embedding_zero_shot_percentages_are_called_relative_shares(offline_engine):
    ctx = context_of(offline_engine)
    result = run_command(ctx, "zeroshot", {"text": "I love pizza with extra cheese", "labels": path.LABELS})
    said = to_plain(result.explanation)
    assert "not the probability that the text is about it" in said and "0.05" in said
    assert "a relative share" in explain(ctx, "zeroshot")


# --- attention -----------------------------------------------------------------------------------------

def test_attention_says_may_flow_everywhere(ctx: TaskContext):
    result = run_command(ctx, "attention", {"text": "The cat sat on the mat.", "layer": 0, "head": 0})
    assert "may flow" in result.explanation and "information flows" not in result.explanation
    for name in ("onehead", "limits"):
        assert "may flow" in explain(ctx, name) and "information flows" not in explain(ctx, name)


def recount(loaded: Any, texts: tuple[str, ...], at: tuple[int, int]) -> tuple[float, float]:
    """The previous-token rate and the structural share of one head, recomputed one sentence at a time."""
    tok = loaded.tokenizer
    special = {tok.cls_token, tok.sep_token, tok.pad_token}
    hits = rows = 0
    parked = 0.0
    for text in texts:
        enc = tok(text, return_tensors="pt")
        with torch.no_grad():
            grid = loaded.model(**enc, output_attentions=True).attentions[at[0]][0, at[1]]
        tokens = tok.convert_ids_to_tokens(enc["input_ids"][0])
        for i in range(1, len(tokens)):
            if tokens[i] in special:
                continue
            rows += 1
            hits += int(grid[i].argmax()) == i - 1
            parked += float(sum(grid[i][j] for j, t in enumerate(tokens) if t in special))
    return hits / rows, parked / rows


def test_the_measured_heads_are_what_a_recount_finds(ctx: TaskContext):
    example = lesson("onehead").example
    measured = heads.measure(ctx, avoid=example)
    loaded = load(ctx, "attention", "encoder")
    texts = heads.sentences(example)
    assert example not in texts, "the learner predicts on a new sentence"
    previous, parking = measured.best("previous"), measured.best("parking")
    assert recount(loaded, texts, previous)[0] == pytest.approx(measured.rate("previous", previous), abs=1e-6)
    assert recount(loaded, texts, parking)[1] == pytest.approx(measured.rate("parking", parking), abs=1e-4)
    said = to_plain(explain(ctx, "allheads"))
    assert f"layer {previous[0]}, head {previous[1]} put its strongest link on the previous token" in said
    assert "concatenates" in said and "W_O" in said and "residual" in said and "MLP" in said
    assert "Heads specialise:" not in said
    if ctx.settings.pack == "offline":  # trained weights: a real previous-token head
        assert measured.rate("previous", previous) > 0.9 and "no clear pattern" not in explain(ctx, "onehead")
    else:  # random weights: the lesson says there is no clear pattern
        assert "no clear pattern" in explain(ctx, "onehead")


def test_each_attention_prediction_asks_about_the_head_the_run_shows(ctx: TaskContext):
    rng = random.Random(7)
    for name in ("onehead", "allheads", "limits"):
        chosen = lesson(name)
        try:
            question = chosen.predict(ctx, chosen.example, rng)
        except NoQuestion:  # random weights: no key 0.05 ahead of the rest, so the lesson asks another question
            assert ctx.pack.name == "tiny" and name != "limits", name
            continue
        result = chosen.run(ctx, chosen.example)
        layer, head = question.inputs["layer"], question.inputs["head"]
        headline = to_plain(result.answer)
        expected = f"of layer {layer}" if head == "all" else f"layer {layer}, head {head}"
        assert expected in headline, (name, question.inputs, headline[:200])
        assert question.inputs["text"] == chosen.example


def test_attention_argmax_predictions_keep_a_margin(ctx: TaskContext):
    """A prediction about the head with the most weight is asked only with a 0.05 lead over every option."""
    rng = random.Random(3)
    measured = heads.measure(ctx, avoid=lesson("onehead").example)
    text = lesson("onehead").example
    for make in (lambda: heads.top_question(ctx, text, measured.best("previous"), measured, rng),
                 lambda: heads.layer_question(ctx, text, measured.best("previous")[0], rng),
                 lambda: heads.maps_question(ctx, text, measured, rng)):
        try:
            question = make()
        except NoQuestion:
            assert ctx.pack.name == "tiny", "the offline model's trained heads give clear leads"
            continue
        numbers = [float(re.findall(r"\d\.\d{4}", why)[0]) for why in question.why]
        key = numbers[question.key]
        assert all(key - n >= heads.MARGIN for i, n in enumerate(numbers) if i != question.key), question.why


def test_confidence_is_not_called_correctness(tiny_engine):
    ctx = context_of(tiny_engine)
    result = run_command(ctx, "sentiment", {"text": "I love this film."})
    assert "sure" not in to_plain(result.answer) and "probability" in to_plain(result.answer)
    said = explain(ctx, "sentiment")
    assert "not that the label is right" in said and "confidently wrong" in said


def test_the_qa_prediction_states_the_question_it_asks(ctx: TaskContext):
    """The offline pack's chat /qa falls back to "which word does the answer begin with": it once named the context
    only, so the learner predicted an answer to a question they had not been shown."""
    chosen = lesson("qa")
    question = chosen.fallback(ctx, chosen.example, random.Random(3))
    asked = path._question(chosen.example)
    assert f"to `{asked}`, asked about `{chosen.example}`" in question.prompt, question.prompt


def test_a_check_counts_for_the_topic_it_asks_about():
    """Lesson 8's check asks what softmax does to logits: a pipelines question, though Part II is filed under
    tokenizers (it was shown as "Quiz: tokenizers")."""
    assert path.check_question(lesson("walk"), 1.0).topic == "pipelines"
    assert path.check_question(lesson("subwords"), 1.0).topic == path.PARTS[lesson("subwords").part][2]


def test_the_first_word_prediction_gives_every_option_the_keys_case(ctx: TaskContext):
    """The summary of "The Eiffel Tower is..." began with `The`, and the other options were lowercase words of
    the text: the one capital gave the key away."""
    chosen = lesson("summarize")
    for seed in range(3):
        try:
            question = chosen.predict(ctx, chosen.example, random.Random(seed))
        except NoQuestion:  # a random twin may write no word
            assert ctx.pack.name == "tiny"
            continue
        key = question.options[question.key]
        assert len({o[:1].isupper() for o in question.options}) == 1, (key, question.options)


@pytest.mark.parametrize(("text", "padded_row"), [("Short one.", 0), (LONG, 1)])
def test_the_padding_prediction_asks_about_the_row_the_run_pads(ctx: TaskContext, text: str, padded_row: int):
    """A learner's text longer than the built-in one once made the question "how many 0s does your text get?",
    always 0: the padded row is the other one."""
    texts = [text, PAD_PARTNER]
    masks = load(ctx, "attention", "encoder").tokenizer(texts, padding=True, truncation=True)["attention_mask"]
    question = lesson("padding").predict(ctx, text, random.Random(1))
    assert question.prompt.endswith(f"How many 0s does the attention_mask of `{texts[padded_row]}` get?")
    assert question.options[question.key] == str(list(masks[padded_row]).count(0)) != "0"
