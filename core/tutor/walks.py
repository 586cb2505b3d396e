"""Part II's worked runs: the pipeline's steps one by one, and a padded batch, with that run's real tensors."""
from __future__ import annotations

import torch

from core.context import TaskContext
from core.results import Result, Table
from core.tasks.common import as_code, load, model_line, truncation_kwargs, with_output
from core.tokens import readable_tokens
from core.tutor.kinds.tokenizers import PAD_PARTNER

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

PADDING = """{head}enc = tokenizer({texts!r}, padding=True, truncation=True)
for ids, mask in zip(enc["input_ids"], enc["attention_mask"]):
    print(*ids)
    print(*mask)"""


def pipeline_walk(ctx: TaskContext, text: str) -> Result:
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
    from core.tutor.kinds.tokenizers import HEAD

    loaded = load(ctx, "tokenize")
    tok = loaded.tokenizer
    if tok.pad_token is None:
        from core.errors import UserError

        raise UserError("This pack's tokenizer has no padding token, so it cannot pad a batch.")
    texts = [text, PAD_PARTNER]
    enc = tok(texts, padding=True, truncation=True)
    rows, printed = [], []
    for t, ids, mask in zip(texts, enc["input_ids"], enc["attention_mask"], strict=True):
        rows.append((t, " ".join(readable_tokens(tok, tok.convert_ids_to_tokens(ids))), " ".join(map(str, mask))))
        printed += [" ".join(map(str, ids)), " ".join(map(str, mask))]
    head = HEAD.format(model=model_line(loaded), gguf=", gguf_file=GGUF" if loaded.spec.gguf_file else "")
    width = len(enc["input_ids"][0])
    return Result(
        command="learn", answer=f"Two texts, one batch: both rows are {width} tokens long after padding.",
        table=Table(("text", "tokens", "attention_mask"), tuple(rows)),
        explanation=(f"1. `padding=True` padded the shorter row with {tok.pad_token} up to the longer one's length.\n"
                     "2. The attention_mask is 1 for real tokens and 0 for padding: attention skips the 0s, so the "
                     "padding changes nothing in the answer."),
        code=with_output(PADDING.format(head=head, texts=texts), printed), model=loaded.spec.hub_id,
    )
