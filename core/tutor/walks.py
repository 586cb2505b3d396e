"""Part II's worked runs: the pipeline's steps one by one, and a padded batch, with that run's real tensors."""
from __future__ import annotations

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
alone = tokenizer(texts[0], truncation=True, return_tensors="pt")
n = alone["input_ids"].shape[1]
with torch.no_grad():
    padded = model(**enc).last_hidden_state[0]  # the first text's row of the batch
    single = model(**alone).last_hidden_state[0]  # the first text on its own
print((padded[:n] - single).abs().max().item() < {tolerance})  # the real tokens: equal up to rounding
kept = padded[:n].mean(0)  # mean pooling over the real tokens only
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
    """Two texts in one padded batch through the pack's encoder: the mask, and what it buys (the short
    text's vectors equal its unpadded ones up to rounding) and what it does not (pooling must skip the
    padding too), measured on this run."""
    import torch
    loaded = load(ctx, "attention", "encoder")
    tok = loaded.tokenizer
    if tok.pad_token is None:
        from core.errors import UserError

        raise UserError("This pack's tokenizer has no padding token, so it cannot pad a batch.")
    texts = [text, PAD_PARTNER]
    enc = tok(texts, padding=True, truncation=True, return_tensors="pt")
    alone = tok(text, truncation=True, return_tensors="pt")
    n = alone["input_ids"].shape[1]
    with torch.no_grad():
        padded = loaded.model(**enc.to(loaded.device)).last_hidden_state[0].float().cpu()
        single = loaded.model(**alone.to(loaded.device)).last_hidden_state[0].float().cpu()
    difference = float((padded[:n] - single).abs().max())
    similarity = float(torch.cosine_similarity(padded[:n].mean(0), padded.mean(0), dim=0))
    rows, printed = [], []
    for t, ids, mask in zip(texts, enc["input_ids"].tolist(), enc["attention_mask"].tolist(), strict=True):
        rows.append((t, " ".join(readable_tokens(tok, tok.convert_ids_to_tokens(ids))), " ".join(map(str, mask))))
        printed += [" ".join(map(str, ids)), " ".join(map(str, mask))]
    printed += [str(difference < TOLERANCE), f"{similarity:.2f}"]
    width = enc["input_ids"].shape[1]
    pads = width - n
    return Result(
        command="learn", answer=f"Two texts, one batch: both rows are {width} tokens long after padding.",
        table=Table(("text", "tokens", "attention_mask"), tuple(rows)),
        explanation=(f"1. `padding=True` padded the shorter row with {plural(pads, code(tok.pad_token) + ' token')} "
                     "up to the longer one's length; its attention_mask is 0 there.\n"
                     f"2. Through {loaded.spec.hub_id}, {code(text)}'s vectors in the batch and on its own differ "
                     f"by at most {difference:.1e}: "
                     + ("equal up to floating-point rounding, because attention skips the 0s."
                        if difference < TOLERANCE else "more than rounding: this model does not ignore padding.")
                     + f"\n3. Averaging that row with its padding included (mean pooling that ignores the mask) "
                       f"gives a sentence vector with cosine similarity {similarity:.2f} to the right one: pooling "
                       "must skip the padding too."),
        code=with_output(PADDING.format(model=model_line(loaded), texts=texts, tolerance=TOLERANCE), printed),
        model=loaded.spec.label,
    )
