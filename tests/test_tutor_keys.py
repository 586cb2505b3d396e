"""Every question kind's answer key equals a fresh run of the model, and its snippet prints the key.

The key is computed by one engine; the check runs another engine (its own model store, so the models
load and run again) through the ordinary commands or the raw model, as a learner would.
"""
from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from conftest import TEST_CACHE
from core.engine import Engine
from core.markup import to_plain
from core.tokens import readable_tokens
from core.tutor.kinds import all_kinds, servable
from core.tutor.questions import Question
from core.tutor.service import context_of
from tests.decoder_support import DECODER_KINDS, decoder_key
from tests.test_snippets import same_output, split_snippet
from tests.tutor_support import sqlite_url, study_group

TINY_KINDS = sorted(all_kinds())
OFFLINE_KINDS = ["token-count", "token-split", "special-token", "cls-id", "pad-count", "zeroshot-label",
                 "attention-top", "attention-noop", "next-word", *DECODER_KINDS]


def questions(engine: Engine, names: list[str], per_kind: int = 2) -> list[Question]:
    """`per_kind` questions of each kind, computed by this engine's tutor."""
    from core.tutor.service import find

    tutor = find(engine.registry)
    ctx = context_of(engine)
    state = tutor.state(ctx)
    assert set(names) <= set(state.kinds), set(names) - set(state.kinds)
    state.pool._rng = random.Random(7)
    return [state.pool.compute(ctx, name) for name in names for _ in range(per_kind)]


def _tokenizer(engine: Engine) -> Any:
    return engine.models.get("tokenize", engine.pack.spec("tokenize")).tokenizer


def _band(value: float, cuts: tuple[float, float, float], closed_top: bool) -> int:
    low, mid, high = cuts
    top = value > high if closed_top else value >= high
    return 3 if top else 2 if value >= mid else 1 if value >= low else 0


async def fresh_key(engine: Engine, q: Question) -> Any:
    """The key, computed again from `q.inputs` by another engine: what each option list must contain."""
    i = q.inputs
    if q.kind in ("token-count", "token-split", "special-token", "cls-id", "pad-count"):
        return _tokenizer_key(_tokenizer(engine), q.kind, i)
    if q.kind == "sentiment-90":
        rows = (await engine.run("sentiment", {"text": i["text"]})).table.rows
        p = next(float(r[1]) for r in rows if r[0].lower().startswith("pos"))
        return ("under 50%", "50% to 70%", "70% to 90%", "over 90%")[_band(p, (0.5, 0.7, 0.9), True)]
    if q.kind == "fillmask-top":
        return (await engine.run("fillmask", {"text": i["text"], "top_k": 1})).table.rows[0][0]
    if q.kind == "zeroshot-label":
        return (await engine.run("zeroshot", {"text": i["text"], "labels": ", ".join(i["labels"])})).table.rows[0][0]
    if q.kind == "qa-span":
        return (await engine.run("qa", {"question": i["question"], "context": i["context"]})).table.rows[0][0]
    if q.kind == "next-word":
        answer = to_plain((await engine.run("generate", {"prompt": i["prompt"], "max_new_tokens": 1})).answer)
        return answer[len(i["prompt"]):].strip()
    if q.kind == "ner-type":
        return _ner_key(engine, i["text"], i["target"])
    if q.kind in DECODER_KINDS:
        return decoder_key(engine, q)
    return _attention_key(engine, q.kind, i)


def _tokenizer_key(tok: Any, kind: str, i: dict[str, Any]) -> Any:
    if kind == "token-count":
        return str(len(tok(i["word"], truncation=True)["input_ids"]))
    if kind == "token-split":
        return " ".join(readable_tokens(tok, tok.tokenize(i["word"])))
    enc = tok(i.get("text", ""), return_special_tokens_mask=True)
    if kind == "special-token":
        tokens = tok.convert_ids_to_tokens(enc["input_ids"])
        return {t for t, m in zip(tokens, enc["special_tokens_mask"], strict=True) if m}
    if kind == "cls-id":
        return str(enc["input_ids"][0])
    masks = tok(i["texts"], padding=True, truncation=True)["attention_mask"]
    return str(min(masks, key=sum).count(0))


def _ner_key(engine: Engine, text: str, target: str) -> str:
    """The type of the first token inside the target word whose own label is not O (raw logits)."""
    loaded = engine.models.get("ner", engine.pack.spec("ner"))
    enc = loaded.tokenizer(text, return_offsets_mapping=True, return_tensors="pt")
    offsets = enc.pop("offset_mapping")[0].tolist()
    with torch.no_grad():
        labels = loaded.model(**enc).logits[0].argmax(-1).tolist()
    start = text.index(target)
    for (a, b), label in zip(offsets, labels, strict=True):
        name = loaded.model.config.id2label[label]
        if b > a and a < start + len(target) and b > start and name != "O":
            return name.split("-", 1)[-1]
    return "no entity"


def _attention_key(engine: Engine, kind: str, i: dict[str, Any]) -> Any:
    loaded = engine.models.get("attention", engine.pack.spec("attention"))
    inputs = loaded.tokenizer(i["text"], truncation=True, return_tensors="pt")
    with torch.no_grad():
        row = loaded.model(**inputs, output_attentions=True).attentions[i["layer"]][0, i["head"], i["source"]]
    tokens = loaded.tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    if kind == "attention-top":
        j = int(row.argmax())
        return tokens[j] if tokens.count(tokens[j]) == 1 else f"{tokens[j]} (token {j})"
    noops = {t for t in loaded.tokenizer.all_special_tokens if t not in (loaded.tokenizer.mask_token,
                                                                          loaded.tokenizer.unk_token)}
    share = float(sum(w for t, w in zip(tokens, row.tolist(), strict=True) if t in noops))
    return ("under 10%", "10% to 40%", "40% to 70%", "over 70%")[_band(share, (0.1, 0.4, 0.7), True)]


async def check_keys(made: list[Question], fresh: Engine) -> None:
    for q in made:
        expected = await fresh_key(fresh, q)
        if isinstance(expected, set):
            assert q.answer in expected and not set(q.options) - {q.answer} & expected, (q.kind, q.inputs)
        else:
            assert q.answer == expected, (q.kind, q.inputs, q.options)
        assert len(set(q.options)) == 4 and q.options.count(q.answer) == 1


async def test_every_kind_is_served_by_the_tiny_pack(tmp_path: Path):
    with study_group(sqlite_url(tmp_path)) as cls:
        assert {k.name for k in servable(all_kinds(), cls.engine.pack)} == set(TINY_KINDS)
    assert len(TINY_KINDS) >= 8 and {k.topic for k in all_kinds().values()} == {
        "tokenizers", "pipelines", "attention", "generation"}


async def test_tiny_keys_equal_a_fresh_run_of_the_model(tmp_path: Path, tiny_engine: Engine):
    with study_group(sqlite_url(tmp_path)) as cls:
        await check_keys(questions(cls.engine, TINY_KINDS), tiny_engine)


async def test_offline_keys_equal_a_fresh_run_of_the_real_models(tmp_path: Path, offline_engine: Engine):
    with study_group(sqlite_url(tmp_path), pack="offline") as cls:
        served = {k.name for k in servable(all_kinds(), cls.engine.pack)}
        assert served == set(OFFLINE_KINDS), "the offline pack serves these, and says so for the rest"
        await check_keys(questions(cls.engine, OFFLINE_KINDS, per_kind=1), offline_engine)


async def test_a_key_that_is_not_the_runs_answer_is_caught(tmp_path: Path, tiny_engine: Engine):
    """The check above can fail: the same questions with their keys moved to another option."""
    with study_group(sqlite_url(tmp_path)) as cls:
        made = questions(cls.engine, ["token-count", "cls-id", "zeroshot-label"], per_kind=1)
    for q in made:
        with pytest.raises(AssertionError):
            await check_keys([dataclasses.replace(q, key=(q.key + 1) % 4)], tiny_engine)


RUNNER = r"""
import contextlib, io, json, sys
out = []
for program in json.load(sys.stdin):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(program, "<snippet>", "exec"), {"__name__": "__main__"})
    out.append(buffer.getvalue())
print(json.dumps(out))
"""


def test_every_tiny_kinds_snippet_prints_what_its_reveal_says(tmp_path: Path):
    with study_group(sqlite_url(tmp_path)) as cls:
        made = questions(cls.engine, TINY_KINDS, per_kind=1)
    programs, expected = zip(*(split_snippet(q.code) for q in made), strict=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "TUTOR_CACHE_DIR": str(TEST_CACHE)}
    done = subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(programs), capture_output=True,
                          text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    for q, want, got in zip(made, expected, json.loads(done.stdout.splitlines()[-1]), strict=True):
        assert same_output(want, got.rstrip("\n").splitlines()), (q.kind, want, got)
        assert to_plain(q.answer) in got or q.kind in ("token-split", "sentiment-90", "attention-noop",
                                                       "attention-top", "ner-type", "template-first"), \
            (q.kind, q.answer, got)
