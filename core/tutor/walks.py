"""Part II's worked runs: the pipeline's steps one by one, and a padded batch, with that run's real tensors."""
from __future__ import annotations

import itertools

from core.context import TaskContext
from core.markup import code
from core.results import Result, Table
from core.tasks.shared.common import as_code, load, model_line, truncation_kwargs, with_output
from core.tokens import readable_tokens
from core.tutor.kinds.tokenizers import PAD_PARTNER
from core.wording import plural

WALK = """import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

{model}
tokenizer = AutoTokenizer.from_pretrained(MODEL)
model = AutoModelForSequenceClassification.from_pretrained(MODEL)
inputs = tokenizer({text!r}, return_tensors="pt", {truncation})
print(*tokenizer.convert_ids_to_tokens(inputs["input_ids"][0]))  # 1. text -> tokens
print(*inputs["input_ids"][0].tolist())  # 2. tokens -> ids
with torch.no_grad():
    logits = model(**inputs).logits[0]  # 3. ids -> model -> logits
print(*(f"{{x:.4f}}" for x in logits.tolist()))
probs = torch.softmax(logits, dim=-1)  # 4. logits -> softmax -> probabilities
print(*(f"{{p:.4f}}" for p in probs.tolist()))
print(model.config.id2label[int(probs.argmax())])  # 5. the label"""

PADDING = """import torch
from transformers import AutoModel, AutoTokenizer

{model}
tokenizer = AutoTokenizer.from_pretrained(MODEL)
model = AutoModel.from_pretrained(MODEL)
texts = {texts!r}
enc = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
for ids, mask in zip(enc["input_ids"], enc["attention_mask"]):
    print(*ids.tolist())
    print(*mask.tolist())
row = int(enc["attention_mask"].sum(1).argmin())  # the shorter text: the row padding=True padded
real = enc["attention_mask"][row].bool()  # its real tokens (mask 1), not its padding (mask 0)
alone = tokenizer(texts[row], truncation=True, return_tensors="pt")
with torch.no_grad():
    padded = model(**enc).last_hidden_state[row]  # the shorter text's row of the batch
    single = model(**alone).last_hidden_state[0]  # the same text on its own
print((padded[real] - single).abs().max().item() < {tolerance})  # the real tokens: equal up to rounding
kept = padded[real].mean(0)  # mean pooling over the real tokens only
blind = padded.mean(0)  # the padding averaged in too
print(f"{{torch.cosine_similarity(kept, blind, dim=0).item():.2f}}")"""
TOLERANCE = 1e-4
"""Padded and unpadded vectors of the real tokens differ only by floating-point rounding: about 1e-6 in
float32 on a CPU; other hardware rounds differently, so the claim and the snippet say "below 1e-4"."""


def pipeline_walk(ctx: TaskContext, text: str) -> Result:
    import torch
    loaded = load(ctx, "sentiment", "classifier")
    tok, labels = loaded.tokenizer, loaded.model.config.id2label
    inputs = tok(text, return_tensors="pt", **truncation_kwargs(loaded)).to(loaded.device)
    raw = tok.convert_ids_to_tokens(inputs["input_ids"][0])
    ids = inputs["input_ids"][0].tolist()
    with torch.no_grad():
        logits = loaded.model(**inputs).logits[0].float().cpu()
    probs = torch.softmax(logits, dim=-1)
    best = labels[int(probs.argmax())]
    names = [labels[i] for i in range(len(logits))]
    rows = (("1. tokens", " ".join(readable_tokens(tok, raw))), ("2. ids", " ".join(map(str, ids))),
            ("3. logits", ", ".join(f"{n} {x:+.4f}" for n, x in zip(names, logits.tolist(), strict=True))),
            ("4. softmax", ", ".join(f"{n} {p:.4f}" for n, p in zip(names, probs.tolist(), strict=True))),
            ("5. label", best))
    printed = [" ".join(raw), " ".join(map(str, ids)), " ".join(f"{x:.4f}" for x in logits.tolist()),
               " ".join(f"{p:.4f}" for p in probs.tolist()), best]
    return Result(
        command="learn", answer=f"**{best}**: the text went through the five steps below, with this run's numbers.",
        table=Table(("step", "value"), rows),
        explanation=(f"1. The tokenizer split the text into {len(raw)} tokens, special ones included.\n"
                     "2. Each token became its row number in the vocabulary: the model only ever sees these ids.\n"
                     f"3. The model turned the ids into one logit per label ({len(names)} labels).\n"
                     "4. Softmax: exp(logit) divided by the sum over the labels, so they add up to 1.\n"
                     "5. The label with the largest probability is the answer `pipeline()` gives."),
        code=with_output(WALK.format(model=model_line(loaded), text=text,
                                     truncation=as_code(truncation_kwargs(loaded))), printed),
        model=loaded.spec.hub_id,
    )


def padding_walk(ctx: TaskContext, text: str) -> Result:
    """Two texts in one padded batch through the pack's encoder: the mask, and what it buys (the shorter
    text's vectors equal its unpadded ones up to rounding) and what it does not (pooling must skip the
    padding too), measured on this run. The shorter text is the padded one, whichever of the two it is: the
    learner's text or the built-in partner."""
    import torch
    loaded = load(ctx, "attention", "encoder")
    tok = loaded.tokenizer
    if tok.pad_token is None:
        from core.errors import UserError

        raise UserError("This pack's tokenizer has no padding token, so it cannot pad a batch.")
    texts = [text, PAD_PARTNER]
    enc = tok(texts, padding=True, truncation=True, return_tensors="pt")
    masks = enc["attention_mask"].tolist()
    lengths = [sum(m) for m in masks]
    row = lengths.index(min(lengths))  # the shorter text (the first on a tie): the row padding=True padded
    real = enc["attention_mask"][row].bool()
    alone = tok(texts[row], truncation=True, return_tensors="pt")
    with torch.no_grad():
        padded = loaded.model(**enc.to(loaded.device)).last_hidden_state[row].float().cpu()
        single = loaded.model(**alone.to(loaded.device)).last_hidden_state[0].float().cpu()
    difference = float((padded[real] - single).abs().max())
    similarity = float(torch.cosine_similarity(padded[real].mean(0), padded.mean(0), dim=0))
    width = enc["input_ids"].shape[1]
    pads = width - lengths[row]
    tokens = [readable_tokens(tok, tok.convert_ids_to_tokens(ids)) for ids in enc["input_ids"].tolist()]
    printed = [line for ids, mask in zip(enc["input_ids"].tolist(), masks, strict=True)
               for line in (" ".join(map(str, ids)), " ".join(map(str, mask)))]
    printed += [str(difference < TOLERANCE), f"{similarity:.2f}"]
    pad = code(tok.pad_token)
    table = _mask_table(texts, tokens, masks)
    snippet = with_output(PADDING.format(model=model_line(loaded), texts=texts, tolerance=TOLERANCE), printed)
    if pads == 0:
        return Result(
            command="learn", answer=f"Two texts, one batch: both are {plural(width, 'token')} long, so "
                                    "`padding=True` added no padding.",
            table=table,
            explanation=(f"1. Neither row needed padding: both texts have {width} real tokens, so every "
                         "attention_mask value is 1.\n"
                         "2. Choose a sentence shorter or longer than the built-in one to see padding and the 0s "
                         "it gets."),
            code=snippet, model=loaded.spec.label,
        )
    shorter, longer = NAMES[row], NAMES[1 - row]
    return Result(
        command="learn",
        answer=(f"Two texts, one batch: {shorter} is the shorter here ({lengths[row]} real tokens against "
                f"{lengths[1 - row]}), so `padding=True` added {plural(pads, pad + ' token')} to its row; both "
                f"rows are {width} tokens long."),
        table=table,
        explanation=(f"1. `padding=True` padded the shorter row, {shorter}'s, with {plural(pads, pad + ' token')} "
                     f"up to the length of {longer}; its attention_mask is 0 there.\n"
                     f"2. Through {loaded.spec.hub_id}, {shorter}'s vectors in the batch and on its own differ "
                     f"by at most {difference:.1e}: "
                     + ("equal up to floating-point rounding, because attention skips the 0s."
                        if difference < TOLERANCE else "more than rounding: this model does not ignore padding.")
                     + f"\n3. Averaging that row with its padding included (mean pooling that ignores the mask) "
                       f"gives a sentence vector with cosine similarity {similarity:.2f} to the right one: pooling "
                       "must skip the padding too."),
        code=snippet, model=loaded.spec.label,
    )


NAMES = ("the running example", "the built-in sentence")
"""How the step names the two texts: the lesson's sentence (the example or the learner's own) and
`PAD_PARTNER`. Either may be the shorter, so the step says which one was padded."""
BRIEF = 32
"""A text in the padding step's table when the table is summarised (`CELLS`): at most this many characters,
cut at a word."""
CELLS = 150
"""The padding table's tokens and mask cells of one row together, written out one by one; past that (a long
sentence, up to 200 characters) each run of real tokens keeps its ends and each run of one mask value is
counted, so the step still fits a phone."""


def _brief(text: str) -> str:
    if len(text) <= BRIEF:
        return text
    return text[:BRIEF - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def _mask_table(texts: list[str], tokens: list[list[str]], masks: list[list[int]]) -> Table:
    """One row per text: its tokens with the padding, and its attention_mask, written out when they are
    short and summarised in runs when they are long (`CELLS`)."""
    literal = [(" ".join(t), " ".join(map(str, m))) for t, m in zip(tokens, masks, strict=True)]
    if max(len(a) + len(b) for a, b in literal) <= CELLS:
        return Table(("text", "tokens", "attention_mask"),
                     tuple((x, a, b) for x, (a, b) in zip(texts, literal, strict=True)))
    cells = [_runs(t, m) for t, m in zip(tokens, masks, strict=True)]
    return Table(("text", "tokens", "attention_mask"),
                 tuple((_brief(x), a, b) for x, (a, b) in zip(texts, cells, strict=True)))


def _runs(tokens: list[str], mask: list[int]) -> tuple[str, str]:
    """The tokens with each run of real ones cut to its ends and each run of padding counted ("[PAD] (15
    times)"), and the mask as runs ("1 (15 times), 0 (15 times)")."""
    words, values = [], []
    for value, run in itertools.groupby(zip(tokens, mask, strict=True), key=lambda pair: pair[1]):
        shown = [t for t, _ in run]
        if value:
            words.append(" ".join(shown) if len(shown) <= 6 else " ".join([*shown[:3], "…", *shown[-2:]]))
        else:
            words.append(f"{shown[0]} ({len(shown)} times)")
        values.append(f"{value} ({len(shown)} times)")
    return " ".join(words), ", ".join(values)
