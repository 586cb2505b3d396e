"""The tiny pack is shaped like the hub pack, and every answer on it is what bare transformers gives.

The hub pack is the default, but CI cannot reach the Hub: these tests pin that the tiny twins have the
hub models' classes, labels, special tokens and generation settings, so the default pack's code paths
run here; and that each command answers exactly what the pipeline (or the model's own forward or
generate) says on the same local model.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import torch

from core.commands import build_registry
from core.engine import Engine
from core.packs import ModelSpec, build_pack, declared, hub_models
from core.registry import Registry
from core.tiny import MNLI, NER_LABELS, SST2, tiny_dir, tiny_models


def hub_classes(registry: Registry) -> dict[str, tuple[str, str]]:
    """Each model-backed command's hub model classes, (model class, tokenizer class), as its registry entry's
    model declares them (`TaskModel.hub_classes`): the classes its tiny twin must be built of."""
    missing = [name for name, model in declared(registry).items() if model.hub_classes is None]
    assert not missing, f"declare hub_classes=(model class, tokenizer class) in the MODEL of {missing}"
    return {name: model.hub_classes for name, model in declared(registry).items() if model.hub_classes}


def assert_twins_have_the_hub_classes(base: Path, registry: Registry) -> None:
    """Every declared model's tiny twin, built under `base`, is of its hub model's declared classes, at hidden
    size 32."""
    from transformers import AutoTokenizer

    for command, (model_class, tokenizer_class) in hub_classes(registry).items():
        cfg = config(base / command)
        assert cfg["architectures"] == [model_class], command
        assert type(AutoTokenizer.from_pretrained(base / command)).__name__ == tokenizer_class, command
        assert next(cfg[k] for k in ("hidden_size", "dim", "d_model", "n_embd") if k in cfg) == 32, command


@pytest.fixture(scope="module")
def folders(tiny_engine: Engine) -> dict[str, Path]:
    from core.tiny import ensure_tiny

    base = tiny_dir(tiny_engine.settings.cache_dir)
    ensure_tiny(base, tiny_models(build_registry()))
    return {command: base / command for command in hub_classes(build_registry())}


def config(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


def test_the_tiny_pack_covers_every_hub_model_with_its_class(tiny_engine, folders):
    registry = build_registry()
    assert set(folders) == set(hub_models(registry))
    assert_twins_have_the_hub_classes(tiny_dir(tiny_engine.settings.cache_dir), registry)


def test_commands_sharing_a_hub_model_declare_the_same_classes():
    registry, by_model = build_registry(), {}
    for command, classes in hub_classes(registry).items():
        by_model.setdefault(hub_models(registry)[command].hub_id, set()).add(classes)
    assert all(len(classes) == 1 for classes in by_model.values()), by_model


def test_tiny_models_carry_the_hub_models_labels(folders):
    assert list(config(folders["sentiment"])["id2label"].values()) == list(SST2) == ["NEGATIVE", "POSITIVE"]
    assert list(config(folders["ner"])["id2label"].values()) == list(NER_LABELS)
    assert {label.split("-")[-1] for label in NER_LABELS} == {"O", "PER", "ORG", "LOC", "MISC"}
    assert config(folders["zeroshot"])["id2label"] == {"0": "contradiction", "1": "neutral", "2": "entailment"}
    assert list(MNLI) == ["contradiction", "neutral", "entailment"]


def test_tokenizer_families_and_special_tokens_match_the_hub_models(folders):
    from transformers import AutoTokenizer

    gpt2 = AutoTokenizer.from_pretrained(folders["generate"])
    assert gpt2.pad_token is None and gpt2.eos_token == gpt2.bos_token == "<|endoftext|>"
    assert gpt2.convert_ids_to_tokens(gpt2("The cat sat")["input_ids"]) == ["The", "Ġcat", "Ġsat"]
    assert gpt2.model_max_length == 1024 and config(folders["generate"])["n_positions"] == 1024
    roberta = AutoTokenizer.from_pretrained(folders["fillmask"])
    encoded = roberta("Paris is the <mask> of France.")
    tokens = roberta.convert_ids_to_tokens(encoded["input_ids"])
    assert tokens[0] == "<s>" and tokens[-1] == "</s>" and "<mask>" in tokens and "Ġ" not in tokens  # lstrip
    assert (roberta.bos_token_id, roberta.pad_token_id, roberta.eos_token_id) == (0, 1, 2)
    assert roberta.mask_token_id == len(roberta.get_vocab()) - 1
    assert "token_type_ids" not in encoded
    cased = AutoTokenizer.from_pretrained(folders["ner"])
    assert cased.convert_ids_to_tokens(cased("Paris")["input_ids"]) == ["[CLS]", "Paris", "[SEP]"]
    assert cased.convert_ids_to_tokens([100, 101, 102, 103]) == ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert "token_type_ids" not in AutoTokenizer.from_pretrained(folders["qa"])("Where?", "Here.")
    uncased = AutoTokenizer.from_pretrained(folders["tokenize"])
    assert uncased("I'm learning")["input_ids"] == [101, 1045, 1005, 1049, 4083, 102]  # real bert-base-uncased


def test_distilbart_twin_has_its_decoder_start_and_forced_tokens(folders):
    generation = json.loads((folders["summarize"] / "generation_config.json").read_text())
    assert generation["decoder_start_token_id"] == 2 and generation["forced_bos_token_id"] == 0
    assert generation["forced_eos_token_id"] == 2 and generation["min_length"] == 56
    assert config(folders["summarize"])["max_position_embeddings"] == 1024


def test_the_build_is_seeded_and_the_tokenizers_are_reproducible(tmp_path, folders):
    from safetensors.torch import load_file

    from core.tiny import _build, tiny_models

    _build({command: tiny_models(build_registry())[command] for command in ("generate", "ner")},
           lambda command: tmp_path / command)
    for command in ("generate", "ner"):
        fresh = load_file(tmp_path / command / "model.safetensors")
        cached = load_file(folders[command] / "model.safetensors")
        assert fresh.keys() == cached.keys() and all(torch.equal(fresh[k], cached[k]) for k in fresh)
        assert (tmp_path / command / "tokenizer.json").read_text() == (folders[command] / "tokenizer.json").read_text()


def test_tiny_labels_say_what_is_random_and_what_is_real(tiny_settings):
    pack = build_pack(tiny_settings, build_registry())
    assert "random" not in pack.models["tokenize"].label and "bert-base-uncased" in pack.models["tokenize"].label
    for command, spec in pack.models.items():
        assert spec.hub_id == f"tiny/{command}" and spec.hub_url == ""
        assert command == "tokenize" or "random weights" in spec.label
    assert "trained locally" in pack.models["generate"].label and "derived locally" in pack.models["ner"].label


def test_offline_smollm2_is_labelled_a_quantised_copy():
    from core.packs import offline_models

    spec = offline_models(build_registry())["generate"]
    assert spec.hub_id == "HuggingFaceTB/SmolLM2-135M-Instruct" and spec.hub_url.endswith(spec.hub_id)
    assert "Q4_1 quantised" in spec.label and "float32" in spec.label
    assert ModelSpec("a/b", "classifier", "a/b").label == "a/b"  # the label defaults to the Hub id


# ----- each answer equals bare transformers on the same local model -----

def pipe(task: str, folder: Path):
    from transformers import pipeline

    return pipeline(task, model=str(folder), device="cpu")


async def test_sentiment_equals_the_text_classification_pipeline(tiny_engine, folders):
    text = "The movie was a waste of time."
    result = await tiny_engine.run_text(f"/sentiment {text}")
    expected = pipe("text-classification", folders["sentiment"])(text, top_k=None)
    assert [r[0] for r in result.table.rows] == [e["label"] for e in expected]
    assert [float(r[1]) for r in result.table.rows] == pytest.approx([e["score"] for e in expected], abs=1e-4)


async def test_ner_equals_the_token_classification_pipeline(tiny_engine, folders):
    text = "My name is Ada Lovelace and I live in London, near the Thames."
    result = await tiny_engine.run_text(f"/ner {text}")
    expected = pipe("token-classification", folders["ner"])(text, aggregation_strategy="simple")
    rows = list(result.table.rows) if result.table else []
    assert [(r[0], r[1]) for r in rows] == [(e["word"], e["entity_group"]) for e in expected]
    assert [float(r[2]) for r in rows] == pytest.approx([float(e["score"]) for e in expected], abs=1e-4)
    pieces = pipe("token-classification", folders["ner"]).tokenizer.tokenize(text)
    assert any(piece.startswith("##") for piece in pieces)  # the grouping of sub-words ran


@pytest.mark.parametrize("multi", [False, True])
async def test_zeroshot_equals_the_zero_shot_pipeline(tiny_engine, folders, multi):
    text, labels = "The match went to extra time", ["sports", "cooking", "politics"]
    result = await tiny_engine.run("zeroshot", {"text": text, "labels": ", ".join(labels), "multi_label": multi})
    expected = pipe("zero-shot-classification", folders["zeroshot"])(text, candidate_labels=labels, multi_label=multi)
    assert [r[0] for r in result.table.rows] == expected["labels"]
    assert [float(r[1]) for r in result.table.rows] == pytest.approx(expected["scores"], abs=1e-4)


async def test_fillmask_equals_the_fill_mask_pipeline_with_robertas_mask(tiny_engine, folders):
    result = await tiny_engine.run_text("/fillmask Paris is the [MASK] of France. top_k=4")
    expected = pipe("fill-mask", folders["fillmask"])("Paris is the <mask> of France.", top_k=4)
    assert [r[0] for r in result.table.rows] == [e["token_str"].strip() or e["token_str"] for e in expected]
    assert [float(r[1]) for r in result.table.rows] == pytest.approx([e["score"] for e in expected], abs=1e-4)


async def test_generate_equals_the_text_generation_pipeline_also_left_padded_in_a_batch(tiny_settings, folders):
    """GPT-2 has no pad token: a batch pads on the left with another id, masked out, and each prompt
    still gets exactly what the pipeline gives it alone."""
    generator = pipe("text-generation", folders["generate"])
    engine = Engine(tiny_settings)
    asks = [("Once upon a time", 6), ("Hi", 9), ("The capital of France is a city", 4)]
    await engine.run("generate", {"prompt": "warm up", "max_new_tokens": 1})
    results = await asyncio.gather(*(engine.run("generate", {"prompt": p, "max_new_tokens": n}) for p, n in asks))
    assert max(engine.batchers["generate"].batch_sizes) > 1
    engine.close()
    for (prompt, n), result in zip(asks, results, strict=False):
        out = generator(prompt, max_new_tokens=n, do_sample=False, return_full_text=False)[0]["generated_text"]
        assert result.answer == f"{prompt}**{out}**"


async def test_qa_equals_the_best_span_of_the_models_own_logits(tiny_engine, folders):
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    question, context = "Where do I live?", "My name is Ada and I live in London, near the river."
    result = await tiny_engine.run("qa", {"question": question, "context": context})
    tokenizer = AutoTokenizer.from_pretrained(folders["qa"])
    model = AutoModelForQuestionAnswering.from_pretrained(folders["qa"]).eval()
    enc = tokenizer(question, context, return_offsets_mapping=True, return_tensors="pt")
    offsets = enc.pop("offset_mapping")[0]
    with torch.no_grad():
        out = model(**enc)
    inside = [i for i, s in enumerate(enc.sequence_ids(0)) if s == 1]
    start = torch.softmax(out.start_logits[0][inside], -1)
    end = torch.softmax(out.end_logits[0][inside], -1)
    score, s, e = max((float(start[a] * end[b]), a, b) for a in range(len(inside))
                      for b in range(a, min(len(inside), a + 30)))
    a, b = int(offsets[inside[s]][0]), int(offsets[inside[e]][1])
    assert result.table.rows[0] == (context[a:b], f"{score:.4f}", f"{a}-{b}")


async def test_summarize_equals_the_models_own_generate(tiny_engine, folders):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    text = "The Eiffel Tower is 330 metres tall. It was the tallest structure in the world for 41 years."
    result = await tiny_engine.run("summarize", {"text": text})
    tokenizer = AutoTokenizer.from_pretrained(folders["summarize"])
    model = AutoModelForSeq2SeqLM.from_pretrained(folders["summarize"]).eval()
    with torch.no_grad():
        ids = model.generate(**tokenizer(text, return_tensors="pt"), max_new_tokens=60)
    assert int(ids[0][0]) == 2 and int(ids[0][1]) == 0  # decoder start `</s>`, then the forced `<s>`
    assert result.answer == f"**Summary:** {tokenizer.decode(ids[0], skip_special_tokens=True).strip()}"


async def test_tokenize_and_attention_equal_the_tokenizer_and_the_models_weights(tiny_engine, folders):
    from transformers import AutoModel, AutoTokenizer

    text = "The cat sat on the mat."
    tokens = await tiny_engine.run_text(f"/tokenize {text}")
    tokenizer = AutoTokenizer.from_pretrained(folders["attention"])
    ids = tokenizer(text)["input_ids"]
    shown = list(zip(tokenizer.convert_ids_to_tokens(ids), map(str, ids), strict=True))
    assert [(r[1], r[2]) for r in tokens.table.rows] == shown
    attention = await tiny_engine.run_text(f"/attention {text} layer=1 head=2")
    model = AutoModel.from_pretrained(folders["attention"], attn_implementation="eager").eval()
    with torch.no_grad():
        weights = model(**tokenizer(text, return_tensors="pt"), output_attentions=True).attentions[1][0, 2]
    names = tokenizer.convert_ids_to_tokens(ids)
    real = [i for i, t in enumerate(names) if t not in tokenizer.all_special_tokens]
    expected = []
    for i in real:
        j = max(real, key=lambda k: float(weights[i, k]))
        expected.append((names[i], names[j], f"{float(weights[i, j]):.4f}"))
    assert list(attention.table.rows) == expected
