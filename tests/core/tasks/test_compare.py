"""/compare: the same text through two or three tokenizers, checked against bare transformers.

The tiny pack compares the twins of bert-base-uncased, GPT-2 and RoBERTa; the offline pack
all-MiniLM-L6-v2's WordPiece and SmolLM2's byte-level BPE.
"""
from __future__ import annotations

import re

import pytest
from transformers import AutoTokenizer

from core.context import TaskContext
from core.packs import Pack
from core.policy import Request, Verdict
from core.tasks import compare
from core.tiny import tiny_dir
from core.tokens import readable_tokens
from tests.core.tasks.test_snippets import TEST_CACHE, run_snippet, same_output, split_snippet
from tests.support.explore import clicked, is_png, policy_on, typed

TEXT = "Tokenization isn't magic 🤗 你好"


def twin(name: str):
    return AutoTokenizer.from_pretrained(tiny_dir(TEST_CACHE) / compare.TINY_TWINS[name])


async def test_each_tokenizers_tokens_ids_and_count_are_what_bare_transformers_gives(tiny):
    result = await typed(tiny, f"/compare {TEXT}")
    rows = {row[0]: row for row in result.table.rows}
    assert list(rows) == ["bert", "gpt2", "roberta"]
    for name in rows:
        tokenizer = twin(name)
        ids = tokenizer(TEXT)["input_ids"]
        shown = readable_tokens(tokenizer, tokenizer.convert_ids_to_tokens(ids))
        assert rows[name][4] == str(len(ids))
        assert f"**{name}** (" in result.answer
        assert " ".join(f"`{t}`" for t in shown) in result.answer
        assert "ids: " + " ".join(map(str, ids)) in result.answer
    assert rows["bert"][5] == "[CLS] [SEP]" and rows["gpt2"][5] == "none" and rows["roberta"][5] == "<s> </s>"
    assert is_png(result.images[0].png) and "bert: " in result.images[0].alt


async def test_markers_are_visible_and_explained(tiny):
    result = await typed(tiny, f"/compare {TEXT}")
    assert "`##ization`" in result.answer, "WordPiece's continuation marker stays"
    assert "`␣is`" in result.answer and "Ġ" not in result.answer, "the byte-level space is drawn as ␣"
    assert "`<0xF0>`" in result.answer, "byte pieces are named by their bytes"
    for words in ("`##` marks a WordPiece piece", "`␣` is a space", "is a byte piece", "`[UNK]` (in bert)"):
        assert words in result.explanation


async def test_one_sentence_says_why_the_counts_differ(tiny):
    result = await typed(tiny, f"/compare {TEXT}")
    line = next(s for s in result.explanation.splitlines() if "The counts differ because" in s)
    assert "`你好` is 2 pieces (`[UNK]` `[UNK]`) for bert but 6 pieces" in line
    assert "they add different special tokens (bert 2, gpt2 0, roberta 2)" in line
    same = await typed(tiny, "/compare cat tokenizers=gpt2,roberta")
    assert "they add different special tokens (gpt2 0, roberta 2)" in same.explanation


async def test_the_tiny_snippet_prints_the_same_tokens_ids_and_counts(tiny):
    result = await typed(tiny, f"/compare {TEXT}")
    program, expected = split_snippet(result.code)
    assert expected[0].startswith("bert 11 [CLS] token ##ization")
    assert same_output(expected, run_snippet(program))


async def test_the_offline_pack_compares_wordpiece_with_smollm2s_byte_level_bpe(offline_engine, tmp_path):
    policy = policy_on(offline_engine, tmp_path)
    result = await typed(policy, f"/compare {TEXT}")
    assert [row[:3] for row in result.table.rows] == [
        ("bert", "sentence-transformers/all-MiniLM-L6-v2", "WordPiece"),
        ("smollm2", "HuggingFaceTB/SmolLM2-135M-Instruct", "byte-level BPE")]
    assert "`␣<0xF0 0x9F>`" in result.answer, "a byte piece that also carries the space"
    program, expected = split_snippet(result.code)
    assert "gguf_file=SMOLLM2_GGUF" in program and "SMOLLM2_GGUF = " in program
    comments = [line for line in program.splitlines() if line.lstrip().startswith("#")]
    assert any(" GGUF copy" in line for line in comments), "the comment names the file format"
    assert not any("SMOLLM2_GGUF" in line for line in comments), "a variable's rename stays out of the comments"
    assert same_output(expected, run_snippet(program))


async def test_tokenizers_option_picks_and_refuses_clearly(tiny):
    two = await typed(tiny, "/compare Hello world tokenizers=roberta,bert")
    assert [row[0] for row in two.table.rows] == ["roberta", "bert"]
    refused = await tiny.handle(Request("test", "learner", line="/compare Hello tokenizers=bert,t5"))
    assert refused.verdict is Verdict.USER_ERROR
    assert "`bert`, `gpt2`, `roberta`" in refused.message and "`t5` is not one of them" in refused.message
    for line, said in (("/compare Hello world tokenizers=bert, gpt2", "`tokenizers=bert,` ends with a comma"),
                       ("/compare Hello world tokenizers=bert,BERT", "you named one, `bert` (twice)"),
                       ("/compare Hello world tokenizers=gpt2", "you named one, `gpt2`. Name another")):
        refused = await tiny.handle(Request("test", "learner", line=line))  # once: 1 tokenizer, `gpt2` in the text
        assert refused.verdict is Verdict.USER_ERROR and said in refused.message, line


async def test_tokenize_opens_compare_and_toggles_special_tokens(tiny):
    first = await typed(tiny, "/tokenize The cat sat.")
    compared = await clicked(tiny, first, "Compare with other tokenizers")
    assert compared.command == "compare" and "`cat`" in compared.answer
    bare = await clicked(tiny, first, "Without special tokens")
    assert [row[1] for row in bare.table.rows] == ["the", "cat", "sat", "."]
    assert "**Without special tokens**" in bare.explanation and "With special tokens" in [
        a.label for a in bare.actions]
    program, expected = split_snippet(bare.code)
    assert "add_special_tokens=False" in program and same_output(expected, run_snippet(program))
    gpt2_like = AutoTokenizer.from_pretrained(tiny_dir(TEST_CACHE) / "generate")
    assert [a.label for a in compare_actions(gpt2_like)] == ["Compare with other tokenizers"], \
        "a tokenizer that adds no special tokens gets no toggle"


def compare_actions(tokenizer):
    from core.tasks.tokenize import tokenize_actions

    return tokenize_actions(tokenizer, ["The cat sat."], True)


def test_the_hub_pack_declares_bert_gpt2_and_roberta_by_hub_id(tiny_settings):
    ctx = TaskContext(tiny_settings, Pack("hub", {}), None, None, None)  # type: ignore[arg-type]
    declared = compare.declared(ctx)
    assert {name: spec.source for name, spec in declared.items()} == {
        "bert": "google-bert/bert-base-uncased", "gpt2": "openai-community/gpt2", "roberta": "FacebookAI/roberta-base"}
    assert all(spec.role == "tokenizer" for spec in declared.values())


@pytest.mark.parametrize("name", ["bert", "gpt2"])
def test_the_snippets_readable_tokens_equal_the_tutors_on_the_whole_vocabulary(name):
    tokenizer = twin(name)
    namespace = {"re": re}
    exec(compare.READABLE, namespace)
    vocab = [*tokenizer.get_vocab(), "", "Ġ<|endoftext|>"]
    assert [namespace["readable"](tokenizer, t) for t in vocab] == readable_tokens(tokenizer, vocab)
