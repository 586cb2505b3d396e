"""Occlusion for each command that has "which words mattered": /sentiment, /fillmask, /zeroshot.

Each function hides every token of the learner's own text in turn, runs all the hidden copies
with the text as typed in ONE forward pass, and returns a `core.tasks.shared.attribution.Occlusion`;
its snippet does the same, batched the same way, and prints the same numbers.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.errors import UserError
from core.markup import code
from core.models import Loaded
from core.results import Result
from core.tasks.shared import attribution as at
from core.tasks.shared.base import forward
from core.tasks.shared.common import as_code, truncation_kwargs, truncation_notice
from core.tasks.shared.zeroshot_rules import HYPOTHESIS, TEMPERATURE

if TYPE_CHECKING:  # pragma: no cover
    import torch

SENTIMENT = """
enc = tokenizer({text!r}, return_special_tokens_mask=True, return_tensors="pt", {truncation})
special = enc.pop("special_tokens_mask")[0].bool()
ids = enc["input_ids"]
{hide}inputs = {{k: v.repeat(len(batch), 1) for k, v in enc.items()}} | {{"input_ids": batch}}
with torch.no_grad():  # every hidden copy and your text in ONE forward pass
    probs = model(**inputs).logits.softmax(dim=-1)
label = int(probs[0].argmax())  # the answer's class
base, hidden = probs[0, label], probs[1:, label]
{print}"""

FILLMASK = """
text = {text!r}.replace("[MASK]", tokenizer.mask_token)
enc = tokenizer(text, return_special_tokens_mask=True, return_tensors="pt", {truncation})
special = enc.pop("special_tokens_mask")[0].bool()
ids = enc["input_ids"]
at = int((ids[0] == tokenizer.mask_token_id).nonzero()[0, 0])  # the mask to fill
special[at] = True  # it stays masked: it is the question
{hide}inputs = {{k: v.repeat(len(batch), 1) for k, v in enc.items()}} | {{"input_ids": batch}}
with torch.no_grad():  # every hidden copy and your text in ONE forward pass
    probs = model(**inputs).logits[:, at].softmax(dim=-1)
guess = int(probs[0].argmax())  # the best guess for the mask
base, hidden = probs[0, guess], probs[1:, guess]
{print}"""

NLI = """
TEXT, labels = {text!r}, {labels!r}
enc = tokenizer([TEXT] * len(labels), [f"This example is {{label}}." for label in labels], padding=True,
                truncation="only_first", return_tensors="pt")
positions = [i for i, s in enumerate(enc.sequence_ids(0)) if s == 0]  # your text's own tokens
HIDE = tokenizer.{which}_token_id
copies = 1 + len(positions)  # copy 0: your text; copy k: token positions[k - 1] hidden, once per label
inputs = {{k: v.repeat(copies, 1) for k, v in enc.items()}}
for copy, i in enumerate(positions, start=1):
    inputs["input_ids"][copy * len(labels):(copy + 1) * len(labels), i] = HIDE
with torch.no_grad():  # every copy of every (text, hypothesis) pair in ONE forward pass
    logits = model(**inputs).logits.reshape(copies, len(labels), -1)
entail = next(i for name, i in model.config.label2id.items() if name.lower().startswith("entail"))
{scores}
label = int(scores[0].argmax())  # the answer's label
base, hidden = scores[0, label], scores[1:, label]
print(labels[label], f"{{float(base):.4f}}")
tokens = tokenizer.convert_ids_to_tokens(enc["input_ids"][0])
for copy, i in enumerate(positions, start=1):  # how much the label's score fell with token i hidden
    print(readable(tokenizer, tokens[i]), f"{{float(base - hidden[copy - 1]):+.4f}}")"""

NLI_SINGLE = "scores = logits[..., entail].softmax(dim=-1)  # labels share 100%"
NLI_MULTI = """contradiction = -1 if entail == 0 else 0
scores = logits[..., [contradiction, entail]].softmax(dim=-1)[..., 1]  # each label on its own"""

EMBEDDING = """

def pool(batch):  # mean of the token vectors, normalised
    with torch.no_grad():
        hidden_states = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden_states * mask).sum(1) / mask.sum(1), dim=-1)


labels = {labels!r}
label_vectors = pool(tokenizer(labels, padding=True, truncation=True, max_length={limit}, return_tensors="pt"))
enc = tokenizer({text!r}, truncation=True, max_length={limit}, return_special_tokens_mask=True, return_tensors="pt")
special = enc.pop("special_tokens_mask")[0].bool()
ids = enc["input_ids"]
{hide}inputs = {{k: v.repeat(len(batch), 1) for k, v in enc.items()}} | {{"input_ids": batch}}
similarity = pool(inputs) @ label_vectors.T  # every hidden copy and your text in ONE forward pass
scores = {scores}
label = int(scores[0].argmax())  # the answer's label
base, hidden = scores[0, label], scores[1:, label]
{print}"""


def _forward(loaded: Loaded, enc: dict[str, torch.Tensor], batch: torch.Tensor) -> Any:
    inputs = {k: v.repeat(len(batch) // len(v), 1) for k, v in enc.items()} | {"input_ids": batch}
    return forward(loaded, inputs)


def _own_tokens(enc: dict[str, torch.Tensor], special: torch.Tensor) -> list[int]:
    return [i for i in range(enc["input_ids"].shape[1]) if not bool(special[i])]


def sentiment(loaded: Loaded, text: str) -> Result:
    tok = loaded.tokenizer
    enc = dict(tok(text, return_special_tokens_mask=True, return_tensors="pt", **truncation_kwargs(loaded)))
    special = enc.pop("special_tokens_mask")[0].bool()
    positions = _own_tokens(enc, special)
    at.check_size(len(positions))
    hide, hidden_as = at.replacement(tok)
    batch = at.hidden_copies(enc["input_ids"][0], positions, hide)
    probs = _forward(loaded, enc, batch).logits.float().softmax(dim=-1).cpu()
    label = int(probs[0].argmax())
    occ = _occlusion(loaded.model.config.id2label[label], probs[:, label], enc["input_ids"][0], positions,
                     loaded, hidden_as)
    print_label = "model.config.id2label[label]"
    snippet = (at.snippet_setup(loaded, "AutoModelForSequenceClassification")
            + SENTIMENT.format(text=text, truncation=as_code(truncation_kwargs(loaded)),
                               hide=at.hide_lines(at.which_token(loaded, hidden_as)),
                               print=at.PRINT.format(label=print_label)))
    _, notice = truncation_notice(loaded, text)
    return at.result("sentiment", loaded, occ, what=f"the probability of {code(occ.label)}", count=len(positions),
                     passes=f"all {len(positions)} hidden copies ran together", snippet=snippet,
                     notices=(notice,) if notice else ())


def _occlusion(label: str, scores: torch.Tensor, ids: torch.Tensor, positions: list[int], loaded: Loaded,
               hidden_as: str) -> at.Occlusion:
    """`scores[0]` with every token, `scores[k]` with `positions[k-1]` hidden."""
    hidden: list[float | None] = [None] * len(ids)
    for row, i in enumerate(positions, start=1):
        hidden[i] = float(scores[row])
    return at.Occlusion(label, float(scores[0]), at.readable(loaded, ids.tolist()), hidden, hidden_as)


def fillmask_count(loaded: Loaded, text: str) -> int:
    enc = loaded.tokenizer(text, return_special_tokens_mask=True, **truncation_kwargs(loaded))
    return len(enc["input_ids"]) - sum(enc["special_tokens_mask"]) - 1


def fillmask(loaded: Loaded, text: str, shown_text: str, notice: str | None) -> Result:
    """`text` holds the model's own mask token; `shown_text` is the learner's, with `[MASK]`."""
    tok = loaded.tokenizer
    enc = dict(tok(text, return_special_tokens_mask=True, return_tensors="pt", **truncation_kwargs(loaded)))
    special = enc.pop("special_tokens_mask")[0].bool()
    masks = (enc["input_ids"][0] == tok.mask_token_id).nonzero()
    if len(masks) == 0:
        raise UserError("The mask falls after the part of the text this model can read. Shorten the text.")
    position = int(masks[0, 0])
    special[position] = True
    positions = _own_tokens(enc, special)
    at.check_size(len(positions))
    hide, hidden_as = at.replacement(tok)
    batch = at.hidden_copies(enc["input_ids"][0], positions, hide)
    probs = _forward(loaded, enc, batch).logits[:, position].float().softmax(dim=-1).cpu()
    guess = int(probs[0].argmax())
    word = tok.decode([guess]).strip() or tok.decode([guess])
    occ = _occlusion(word, probs[:, guess], enc["input_ids"][0], positions, loaded, hidden_as)
    snippet = (at.snippet_setup(loaded, "AutoModelForMaskedLM")
            + FILLMASK.format(text=shown_text, truncation=as_code(truncation_kwargs(loaded)),
                              hide=at.hide_lines(at.which_token(loaded, hidden_as)),
                              print=at.PRINT.format(label="tokenizer.decode([guess]).strip()")))
    return at.result("fillmask", loaded, occ, what=f"the probability of the guess {code(occ.label)}",
                     count=len(positions), passes=f"all {len(positions)} hidden copies ran together", snippet=snippet,
                     notices=(notice,) if notice else ())


def zeroshot_count(loaded: Loaded, text: str, labels: list[str]) -> tuple[int, int]:
    """The text's own tokens, and how many copies each hidden token needs (one per label for NLI)."""
    count = len(loaded.tokenizer(text, add_special_tokens=False)["input_ids"])
    return count, len(labels) if loaded.role == "nli" else 1


def zeroshot(loaded: Loaded, text: str, labels: list[str], multi: bool, limit: int) -> Result:
    if loaded.role == "nli":
        return _nli(loaded, text, labels, multi)
    return _embedding(loaded, text, labels, multi, limit)


def _nli(loaded: Loaded, text: str, labels: list[str], multi: bool) -> Result:
    tok = loaded.tokenizer
    enc = tok([text] * len(labels), [HYPOTHESIS.format(label) for label in labels], padding=True,
              truncation="only_first", return_tensors="pt")
    positions = [i for i, s in enumerate(enc.sequence_ids(0)) if s == 0]
    at.check_size(len(positions), len(labels))
    hide, hidden_as = at.replacement(tok)
    copies = 1 + len(positions)
    inputs = {k: v.repeat(copies, 1) for k, v in enc.items()}
    for copy, i in enumerate(positions, start=1):
        inputs["input_ids"][copy * len(labels):(copy + 1) * len(labels), i] = hide
    logits = forward(loaded, inputs).logits.reshape(copies, len(labels), -1)
    entail = next(i for name, i in loaded.model.config.label2id.items() if name.lower().startswith("entail"))
    independent = multi or len(labels) == 1  # what the zero-shot pipeline does for a single label too
    if independent:
        scores = logits[..., [-1 if entail == 0 else 0, entail]].softmax(dim=-1)[..., 1]
    else:
        scores = logits[..., entail].softmax(dim=-1)
    label = int(scores[0].argmax())
    text_part = enc["input_ids"][0][:positions[-1] + 2]  # the text and the special tokens around it
    occ = _occlusion(labels[label], scores[:, label], text_part, positions, loaded, hidden_as)
    snippet = (at.snippet_setup(loaded, "AutoModelForSequenceClassification")
            + NLI.format(text=text, labels=labels, which=at.which_token(loaded, hidden_as),
                         scores=NLI_MULTI if independent else NLI_SINGLE))
    return at.result("zeroshot", loaded, occ, what=f"the score of {code(occ.label)}", count=len(positions),
                     passes=f"all {len(positions)} hidden copies, each read with all {len(labels)} hypotheses, "
                            "ran together", snippet=snippet)


def _embedding(loaded: Loaded, text: str, labels: list[str], multi: bool, limit: int) -> Result:
    import torch
    tok = loaded.tokenizer
    label_enc = tok(labels, padding=True, truncation=True, max_length=limit, return_tensors="pt")
    enc = dict(tok(text, truncation=True, max_length=limit, return_special_tokens_mask=True, return_tensors="pt"))
    special = enc.pop("special_tokens_mask")[0].bool()
    positions = _own_tokens(enc, special)
    at.check_size(len(positions))
    hide, hidden_as = at.replacement(tok)
    batch = at.hidden_copies(enc["input_ids"][0], positions, hide)
    inputs = {k: v.repeat(len(batch), 1) for k, v in enc.items()} | {"input_ids": batch}
    similarity = _pool(loaded, inputs) @ _pool(loaded, dict(label_enc)).T
    scores = similarity.clamp(min=0) if multi else torch.softmax(similarity / TEMPERATURE, dim=-1)
    label = int(scores[0].argmax())
    occ = _occlusion(labels[label], scores[:, label], enc["input_ids"][0], positions, loaded, hidden_as)
    snippet = (at.snippet_setup(loaded, "AutoModel")
            + EMBEDDING.format(labels=labels, text=text, limit=limit,
                               hide=at.hide_lines(at.which_token(loaded, hidden_as)),
                               scores="similarity.clamp(min=0)" if multi else
                               f"torch.softmax(similarity / {TEMPERATURE}, dim=-1)",
                               print=at.PRINT.format(label="labels[label]")))
    what = f"the similarity of {code(occ.label)}" if multi else f"the score of {code(occ.label)}"
    _, notice = truncation_notice(loaded, text, limit=limit)
    return at.result("zeroshot", loaded, occ, what=what, count=len(positions),
                     passes=f"all {len(positions)} hidden copies ran together (the labels' vectors come from a "
                            "second pass: they do not change)", snippet=snippet, notices=(notice,) if notice else ())


def _pool(loaded: Loaded, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    import torch
    hidden = forward(loaded, batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
