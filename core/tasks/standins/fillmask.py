"""/fillmask without a masked language model: a left-to-right model proposes, whole sentences decide.

A masked language model (the guide's fill-mask) reads the words on both sides of the mask at once
and scores every vocabulary entry for it in one pass. A causal model cannot: at any position it has
seen only the tokens before it, so at the mask it knows `Paris is the` and nothing of `of France.`.
The stand-in works in two steps:

1. The left context alone proposes candidates: the model's most likely next tokens there that begin
   a word (after a space, a word's token starts with one).
2. Each candidate is put into the mask and the whole sentence is scored: the sum of the
   log-probabilities of all its tokens, each given the ones before it. Now the tokens after the mask
   are scored given the candidate, which is how the right context gets its say. Softmax over the
   candidates' totals gives the scores: shares among the candidates, not probabilities over the
   vocabulary, and a word the left context did not propose cannot win.

The sentences are scored from the model's `<|endoftext|>` token (what separates texts in its training
data), so the first word is scored too. Chosen among candidates by measuring (bench/substitutes.py).
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import UserError
from core.markup import bold, code, plain
from core.models import Loaded
from core.results import Result, Table
from core.tasks.shared.common import f4, pct, with_output
from core.tasks.standins import check_fits, load_lines, next_token_logprobs, stand_in_line, token_logprobs
from core.wording import plural

CANDIDATES = 20
"""How many words the left context proposes (at least the learner's top_k)."""
START = "<|endoftext|>"
WORD = re.compile(r"\w+")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
STANDS_IN = ("this pack has no masked language model, so SmolLM2, which reads left to right, proposes words from "
             "the text before the mask and scores each filled-in sentence whole, where a masked model reads both "
             "sides at once.")

SNIPPET = """import re

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

{load}
text = {text!r}
left, right = text.split("[MASK]")
left = re.split(r"(?<=[.!?])\\s+", left)[-1]  # only the sentence that holds the mask is read
right = re.split(r"(?<=[.!?])\\s+", right, maxsplit=1)[0]
start = tokenizer.convert_tokens_to_ids({start!r})  # what separates texts in its training data
left_ids = [start] + tokenizer.encode(left.rstrip(), add_special_tokens=False)
right_ids = tokenizer.encode(right, add_special_tokens=False)
with torch.no_grad():  # 1. the left context alone proposes the candidates
    ranked = model(torch.tensor([left_ids])).logits[0, -1].argsort(descending=True).tolist()
space = left != left.rstrip()  # after a space, a word's token starts with one
candidates = []
for token_id in ranked:
    piece = tokenizer.decode([token_id])
    if piece.startswith(" ") == space and re.fullmatch(r"\\w+", piece.strip()):
        candidates.append(token_id)
    if len(candidates) == {count}:
        break
# 2. each candidate in the mask, and the whole sentence scored: log p(token | the tokens before it), summed
batch = torch.tensor([left_ids + [c] + right_ids for c in candidates])
with torch.no_grad():
    logprobs = model(batch).logits[:, :-1].log_softmax(dim=-1)
totals = logprobs.gather(-1, batch[:, 1:, None])[..., 0].sum(dim=-1)
scores = totals.softmax(dim=-1)  # shares among the candidates, not over the vocabulary
for i in scores.argsort(descending=True, stable=True)[:{top_k}].tolist():
    print(tokenizer.decode([candidates[i]]).strip(), f"{{float(scores[i]):.4f}}")"""


@dataclass(frozen=True)
class Guess:
    token: int
    word: str
    left_logprob: float
    """log p(candidate | the text before the mask): the left context's own view."""
    left_rank: int
    """Its place among the candidates by the left context alone (1 = first)."""
    right_logprob: float
    """log p(the text after the mask | the text before it and the candidate): the right context's say."""
    total: float
    """log p(whole sentence): the text before the mask, the candidate and the text after it."""
    share: float
    """softmax of `total` over the candidates."""


@dataclass(frozen=True)
class Filled:
    text: str
    """The learner's text, with `[MASK]` where the hidden word goes."""
    guesses: list[Guess]
    """Best first."""
    tokens: int
    """Tokens of a filled-in sentence, the start token included."""
    left: str
    """The text before the mask within its sentence: what the model read there (`around`)."""

    def sentence(self, guess: Guess) -> str:
        left, right = self.text.split("[MASK]")
        space = " " if left != left.rstrip() else ""
        return left.rstrip() + space + guess.word + right


def around(text: str) -> tuple[str, str]:
    """The text before and after the mask within the sentence that holds it (a sentence ends at `.`, `!` or
    `?` before a space): what the stand-in reads, so that a long text costs no more than that sentence
    (20 whole texts scored would be 20 times the text)."""
    left, right = text.split("[MASK]")
    return SENTENCE_END.split(left)[-1], SENTENCE_END.split(right, maxsplit=1)[0]


def parts(loaded: Loaded, text: str, start: int) -> tuple[list[int], list[int], bool]:
    """(the start token and the left context's ids, the right context's ids, whether a space comes before
    the mask), within the sentence that holds the mask (`around`)."""
    left, right = around(text)
    tok = loaded.tokenizer
    left_ids = [start, *tok(left.rstrip(), add_special_tokens=False)["input_ids"]]
    right_ids = list(tok(right, add_special_tokens=False)["input_ids"])
    check_fits(loaded, len(left_ids) + 1 + len(right_ids))
    return left_ids, right_ids, left != left.rstrip()


def start_id(loaded: Loaded, start: str = START) -> int:
    """`start` (`<|endoftext|>`) where the vocabulary has it (SmolLM2, GPT-2), else the tokenizer's start
    or end token."""
    tok = loaded.tokenizer
    if start in tok.get_vocab():
        return int(tok.convert_tokens_to_ids(start))
    return int(tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id)


def candidates(loaded: Loaded, ranked: list[int], space: bool, count: int) -> list[int]:
    """The first `count` tokens of the left context's ranking that begin a word at the mask."""
    found = []
    for token_id in ranked:
        piece = loaded.tokenizer.decode([token_id])
        if piece.startswith(" ") == space and WORD.fullmatch(piece.strip()):
            found.append(token_id)
            if len(found) == count:
                break
    if not found:
        raise UserError("The model proposed no word for the mask here; put the mask where a word goes.")
    return found


def fill(loaded: Loaded, texts: Sequence[str], count: int = CANDIDATES, start: str = START) -> list[Filled]:
    """Both steps for every text: one forward pass over the left contexts, one over every filled-in sentence.
    `count` and `start` are for bench/substitutes.py, which measures other choices."""
    first_id = start_id(loaded, start)
    split = [parts(loaded, text, first_id) for text in texts]
    first = next_token_logprobs(loaded, [left for left, _, _ in split])
    proposals = []
    for (_, _, space), row in zip(split, first, strict=True):
        ranked = row.argsort(descending=True).tolist()
        proposals.append(candidates(loaded, ranked, space, count))
    sentences = [[*left, c, *right] for (left, right, _), found in zip(split, proposals, strict=True) for c in found]
    scored = iter(token_logprobs(loaded, sentences))
    out = []
    for text, (left, right, _), found, row in zip(texts, split, proposals, first, strict=True):
        rows = [next(scored) for _ in found]
        totals = [sum(r) for r in rows]
        shares = _softmax(totals)
        guesses = [Guess(c, loaded.tokenizer.decode([c]).strip(), float(row[c]), rank + 1,
                         sum(r[len(left):]), total, share)
                   for rank, (c, r, total, share) in enumerate(zip(found, rows, totals, shares, strict=True))]
        guesses.sort(key=lambda g: -g.total)
        out.append(Filled(text, guesses, len(left) + 1 + len(right), around(text)[0]))
    return out


def _softmax(values: list[float]) -> list[float]:
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def result(loaded: Loaded, filled: Filled, top_k: int) -> Result:
    shown = filled.guesses[:top_k]
    best = filled.guesses[0]
    count = len(filled.guesses)
    rows = tuple((g.word, f4(g.share), f4(math.exp(g.left_logprob))) for g in shown)
    by_left = sorted(filled.guesses, key=lambda g: g.left_rank)[:3]
    runner = filled.guesses[1] if count > 1 else None
    left_shown = code(filled.left.rstrip()) if filled.left.strip() else "nothing (the mask starts its sentence)"
    alone = around(filled.text)
    only = (" (the one that holds the mask: the other sentences of your text are not read)"
            if "".join(alone) != "".join(filled.text.split("[MASK]")) else "")
    start = loaded.tokenizer.convert_ids_to_tokens(start_id(loaded))
    right = f"{code(best.word)} {best.right_logprob:.2f}"
    if runner is not None:
        right += f", {code(runner.word)} {runner.right_logprob:.2f}"
    return Result(
        command="fillmask",
        answer=(f"Best guess: {bold(plain(best.word))} ({pct(best.share)} of the {count} candidates' share): "
                f"{plain(filled.sentence(best))}\n" + stand_in_line(STANDS_IN)),
        table=Table(("token", "score", "left context alone"), rows),
        explanation=(
            f"1. A left-to-right model sees only what comes before a position: at the mask it read {left_shown}, "
            f"not what follows. Its {count} most likely next tokens there that begin a word are the candidates; "
            "the left context alone ranks "
            + ", ".join(f"{code(g.word)} {pct(math.exp(g.left_logprob))}" for g in by_left) + " first.\n"
            f"2. Each candidate went into the mask and the whole sentence{only}, {plural(filled.tokens, 'token')} "
            f"from {code(start)} (which separates texts in its training data), was scored: the log-probability of each "
            "token given the ones before it, summed. The tokens after the mask are scored given the candidate, "
            f"which is how the right context gets its say (their log-probability: {right}).\n"
            f"3. Softmax over the {count} sentence totals gives the scores: shares among these candidates, not "
            "probabilities over the vocabulary, and a word the left context did not propose cannot win. "
            f"{code(best.word)} was candidate {best.left_rank} of {count} by the left context alone. A masked language "
            "model (the guide's fill-mask) reads both sides at once and scores its whole vocabulary in one pass."
        ),
        code=with_output(SNIPPET.format(load=load_lines(loaded), text=filled.text, start=start, count=count,
                                        top_k=top_k),
                         [f"{g.word} {f4(g.share)}" for g in shown]),
        model=loaded.spec.label,
    )
