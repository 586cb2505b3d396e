"""/fillmask: a masked language model guesses the hidden word.

On the offline pack, which has no masked language model, SmolLM2 stands in: words proposed from the
left context, re-ranked by scoring each filled-in sentence whole (core/tasks/standins/fillmask.py).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from core import tiny
from core.actions import Choice
from core.context import TaskContext
from core.errors import UserError
from core.markup import bold, code, plain
from core.packs import SMOLLM2, Offline, TaskModel
from core.results import Result, Table
from core.tasks import standins
from core.tasks.shared import attribution, guesses, occlusion
from core.tasks.shared.base import one
from core.tasks.shared.common import f4, load, model_line, pct, truncation_kwargs, truncation_notice, with_output
from core.tasks.standins import fillmask as standin

MASKS = re.compile(r"\[MASK\]|<mask>", re.IGNORECASE)
MODEL = TaskModel(roles=("masked-lm", "chat"), hub="distilbert/distilroberta-base", tiny=tiny.ROBERTA_MLM,
                  offline=Offline(SMOLLM2, "chat", stands_in=standin.STANDS_IN),
                  hub_classes=("RobertaForMaskedLM", "RobertaTokenizer"))
"""A masked language model; on the offline pack, a causal chat model that scores whole sentences stands in."""

SNIPPET = """from transformers import pipeline

{model}
unmasker = pipeline("fill-mask", model=MODEL)
text = {text!r}.replace("[MASK]", unmasker.tokenizer.mask_token)
for r in unmasker(text, top_k={top_k}, tokenizer_kwargs={truncation}):
    print(r["token_str"], f"{{r['score']:.4f}}")"""


def with_model_mask(text: str, mask_token: str) -> str:
    """Accept `[MASK]` and `<mask>` whatever the model's own mask token is; exactly one."""
    found = len(MASKS.findall(text))
    if found == 0:
        raise UserError("Put exactly one `[MASK]` (or `<mask>`) where the hidden word goes, "
                        "e.g. `/fillmask Paris is the [MASK] of France.`")
    if found > 1:
        raise UserError(f"Your text has {found} masks; /fillmask fills exactly one. Keep one `[MASK]`.")
    return MASKS.sub(mask_token, text)


def run_batch(ctx: TaskContext, batch: Sequence[dict[str, Any]]) -> list[Result]:
    """Several requests in one padded forward pass; each keeps its own text and top_k."""
    if any(_explores(args) for args in batch):
        return attribution.each(batch, lambda plain: run_batch(ctx, plain), lambda args: explore(ctx, args),
                                apart=_explores)
    for args in batch:
        with_model_mask(args["text"], "[MASK]")  # refuse bad input before loading a model
    loaded = load(ctx, "fillmask")
    if standins.is_standin(loaded):
        return standin_fills(loaded, batch)[0]
    texts = [with_model_mask(args["text"], loaded.tokenizer.mask_token) for args in batch]
    read = [_check_mask_is_read(loaded, text) for text in texts]
    top_k = max(args["top_k"] for args in batch)
    guesses = loaded.pipeline("fill-mask")(texts, top_k=top_k, batch_size=len(texts),
                                           tokenizer_kwargs=truncation_kwargs(loaded))
    guesses = [guesses] if len(texts) == 1 else guesses  # one text gives one list, several a list each
    return [_with_actions(loaded, _result(loaded, args, found[:args["top_k"]], *counts), args, args["text"],
                          found[0]["token_str"].strip())
            for args, found, counts in zip(batch, guesses, read, strict=True)]


run = one(run_batch)


def standin_fills(loaded: Any, batch: Sequence[dict[str, Any]]) -> tuple[list[Result], list[standin.Filled]]:
    """Every request's candidates proposed in one forward pass and scored in another: each answer, and the fill
    it came from (a fill-mask question reads both, core/tutor/kinds/pipelines.py, rather than filling twice)."""
    filled = standin.fill(loaded, [with_model_mask(args["text"], "[MASK]") for args in batch])
    answers = []
    for args, one_fill in zip(batch, filled, strict=True):
        buttons = guesses.fillmask_actions(args, args["text"], one_fill.guesses[0].word, 0)
        answers.append(replace(standin.result(loaded, one_fill, args["top_k"]), actions=_without_why(buttons)))
    return answers, filled


def _without_why(actions: tuple[Choice, ...]) -> tuple[Choice, ...]:
    """The stand-in has no masked-model scores to occlude: no "which words mattered" button."""
    return tuple(a for a in actions if ("why", "true") not in getattr(a, "args", ()))


def _explores(args: dict[str, Any]) -> bool:
    return bool(args.get("why")) or args.get("word") is not None


def explore(ctx: TaskContext, args: dict[str, Any]) -> Result:
    """`word=N` (mask another word of the filled sentence) and `why=true` (which words mattered)."""
    original = args["text"]
    with_model_mask(original, "[MASK]")  # refuse bad input before loading a model
    loaded = load(ctx, "fillmask")
    if standins.is_standin(loaded) and args.get("why"):
        raise UserError("`why=true` hides each word and watches a masked model's guess; this pack has no masked "
                        "language model (SmolLM2 stands in), so it is not offered here. Ask without `why=true`, "
                        "or use the hub pack.")
    best = None
    text, moved = original, None
    if args.get("word") is not None:
        best = _best_guess(loaded, original)
        text, moved = guesses.move_mask(original, best, args["word"])
    if args.get("why"):
        _, _, notice = _check_mask_is_read(loaded, with_model_mask(text, loaded.tokenizer.mask_token))
        result = occlusion.fillmask(loaded, with_model_mask(text, loaded.tokenizer.mask_token), text, notice)
    else:
        result = run_batch(ctx, [{**args, "text": text, "word": None}])[0]
        if best is not None and standins.is_standin(loaded):
            result = replace(result, actions=_without_why(guesses.fillmask_actions(args, original, best, 0)))
        elif best is not None:  # the buttons name the words of the learner's own sentence
            result = _with_actions(loaded, result, args, original, best)
    return replace(result, notices=((moved,) if moved else ()) + result.notices)


def _best_guess(loaded: Any, text: str) -> str:
    """The top guess for the learner's mask: the masked model's, or the stand-in's."""
    if standins.is_standin(loaded):
        return standin.fill(loaded, [with_model_mask(text, "[MASK]")])[0].guesses[0].word
    found = loaded.pipeline("fill-mask")(with_model_mask(text, loaded.tokenizer.mask_token), top_k=1,
                                         tokenizer_kwargs=truncation_kwargs(loaded))
    return str(found[0]["token_str"]).strip()


def _with_actions(loaded: Any, result: Result, args: dict[str, Any], text: str, guess: str) -> Result:
    """More guesses, which words mattered, and another word to mask."""
    count = occlusion.fillmask_count(loaded, with_model_mask(text, loaded.tokenizer.mask_token))
    return replace(result, actions=guesses.fillmask_actions(args, text, guess, count))


def _check_mask_is_read(loaded: Any, text: str) -> tuple[int, int, str | None]:
    """The text's tokens, how many of them the model reads, and the truncation notice."""
    count, notice = truncation_notice(loaded, text)
    ids = loaded.tokenizer(text, **truncation_kwargs(loaded))["input_ids"]
    if notice and ids.count(loaded.tokenizer.mask_token_id) == 0:
        raise UserError("The mask falls after the part of the text this model can read. Shorten the text.")
    return count, len(ids), notice


def _result(loaded: Any, args: dict[str, Any], guesses: list[dict[str, Any]], count: int, read: int,
            notice: str | None) -> Result:
    text, mask = args["text"], loaded.tokenizer.mask_token
    rows = tuple((g["token_str"].strip() or g["token_str"], f4(g["score"])) for g in guesses)
    best = guesses[0]
    length = f"{count} tokens" if read == count else f"{count} tokens, of which the model read the first {read}"
    return Result(
        command="fillmask",
        answer=f"Best guess: {bold(plain(rows[0][0]))} ({pct(best['score'])}): {plain(best['sequence'])}",
        table=Table(("token", "score"), rows),
        explanation=(
            f"1. Your mask became this model's own mask token {code(mask)}; the text is {length}.\n"
            f"2. The model produced one score for each of the {loaded.model.config.vocab_size} vocabulary entries "
            "at the masked position.\n"
            f"3. Softmax made them probabilities; these are the top {len(rows)}. This is how BERT-style models "
            "were pre-trained: predicting hidden words from both sides of the context."
        ),
        code=with_output(SNIPPET.format(model=model_line(loaded), text=MASKS.sub("[MASK]", text), top_k=args["top_k"],
                                        truncation=truncation_kwargs(loaded)),
                         [f"{g['token_str']} {f4(g['score'])}" for g in guesses]),
        model=loaded.spec.label,
        notices=(notice,) if notice else (),
    )
