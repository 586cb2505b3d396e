"""/sentiment without a sentiment classifier: a generative model used as a classifier.

The causal model reads a short prompt that ends where the answer would go (`Text: ...` then
`Sentiment:`), and gives a score (logit) to every token of its vocabulary for what comes next. Two
of those tokens are the answers, " positive" and " negative"; softmax over just those two logits is the
label's score. A classifier has a head trained on labelled examples with one output per label; here the
labels are words the model was never trained to choose between, so the scores say how it would
continue the text, and the two words hold only a small share of all its next-token probability.
Chosen among candidates by measuring them on labelled sentences (bench/substitutes.py,
docs/substitutes.md).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from core.markup import code
from core.models import Loaded
from core.results import Result, Table
from core.tasks.shared.common import f4, pct, with_output
from core.tasks.standins import check_fits, load_lines, next_token_logprobs, stand_in_line, word_id
from core.wording import plural

if TYPE_CHECKING:  # pragma: no cover
    import torch

PROMPT = "Text: {text}\nSentiment:"
"""What the model reads: the learner's text, then the start of the line where the answer goes."""
LABELS = (("POSITIVE", " positive"), ("NEGATIVE", " negative"))
"""Each label and the word (one token, with its leading space) that says it after the prompt."""
STANDS_IN = ("this pack has no sentiment classifier, so SmolLM2's next-token scores for ` positive` and ` negative` "
             "after your text decide (a generative model used as a classifier), not a trained classification head.")

SNIPPET = """import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

{load}
text = {text!r}
prompt = f"Text: {{text}}\\nSentiment:"
inputs = tokenizer(prompt, return_tensors="pt")
with torch.no_grad():
    logits = model(**inputs).logits[0, -1]  # a score for every token that could come next
labels = {{"POSITIVE": " positive", "NEGATIVE": " negative"}}
ids = [tokenizer.encode(word, add_special_tokens=False)[0] for word in labels.values()]  # one token each
scores = logits[ids].softmax(dim=-1)  # softmax over the two answer words only
for label, score in sorted(zip(labels, scores.tolist()), key=lambda pair: -pair[1]):
    print(label, f"{{score:.4f}}")"""


def prompt_ids(loaded: Loaded, text: str) -> list[int]:
    ids = list(loaded.tokenizer(PROMPT.format(text=text), add_special_tokens=False)["input_ids"])
    check_fits(loaded, len(ids))
    return ids


def run_batch(loaded: Loaded, texts: Sequence[str]) -> list[Result]:
    """Every text's prompt in one forward pass (padded on the left), as /sentiment batches."""
    prompts = [prompt_ids(loaded, text) for text in texts]
    logprobs = next_token_logprobs(loaded, prompts)
    return [_result(loaded, text, len(ids), row) for text, ids, row in zip(texts, prompts, logprobs, strict=True)]


def _result(loaded: Loaded, text: str, count: int, logprobs: torch.Tensor) -> Result:
    import torch
    ids = [word_id(loaded, word) for _, word in LABELS]
    picked = logprobs[ids]
    two = torch.softmax(picked, dim=-1).tolist()
    order = sorted(range(len(LABELS)), key=lambda i: -two[i])
    rows = tuple((LABELS[i][0], f4(two[i])) for i in order)
    best = order[0]
    words = ", ".join(f"`{LABELS[i][1]}` {pct(float(picked[i].exp()))}" for i in order)
    share = together([float(p) for p in picked.exp()])
    top = int(logprobs.argmax())
    top_word = loaded.tokenizer.decode([top])
    vocab = int(logprobs.shape[-1])
    return Result(
        command="sentiment",
        answer=(f"**{LABELS[best][0]}** ({pct(two[best])} of the two answer words' probability)\n"
                + stand_in_line(STANDS_IN)),
        table=Table(("label", "score"), rows),
        explanation=(
            f"1. The prompt `Text: ...` `Sentiment:` with your text is {plural(count, 'token')}; a chat model "
            "reads it left to right and predicts what comes next.\n"
            f"2. It gave a score (logit) to each of its {vocab:,} tokens for the next position. Softmax over all of "
            f"them gives {words}: {share} of the probability (its own top choice was "
            f"{code(top_word)}, {pct(float(logprobs[top].exp()))}).\n"
            "3. Softmax over just the two answer words' logits gives "
            + ", ".join(f"{label} {score}" for label, score in rows) + ", which add up to 1: the answer. "
            "A classifier's softmax runs over its own labels too, but its head was trained on labelled examples; "
            "these two words are only how the model would continue the text, so the score is no measure of how "
            "often it is right (docs/substitutes.md: its accuracy on labelled sentences)."
        ),
        code=with_output(SNIPPET.format(load=load_lines(loaded), text=text),
                         [f"{label} {score}" for label, score in rows]),
        model=loaded.spec.label,
    )


def together(parts: list[float]) -> str:
    """"together X%" of probabilities shown one by one to a decimal: said to be summed before rounding when the
    rounded parts add up to another figure (1.2% and 0.2% are together 1.5%)."""
    total, shown = pct(sum(parts)), sum(round(p * 100, 1) for p in parts)
    return f"together {total}" + ("" if total == f"{shown:.1f}%" else " (summed before rounding)")
