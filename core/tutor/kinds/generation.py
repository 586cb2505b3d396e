"""Generation questions: which token greedy decoding picks next.

The key is /generate's own answer with `max_new_tokens=1` (its snippet prints it); the options are
the top tokens of the same next-token distribution, from one forward pass of the same model.
"""
from __future__ import annotations

import random

import torch

from core.context import TaskContext
from core.markup import code
from core.results import Table
from core.tasks.common import load
from core.tasks.generate import continue_texts
from core.tutor import bank
from core.tutor.kinds import Kind, run_command
from core.tutor.questions import Explore, Item, NoQuestion, Question, ordinal, shuffled

CANDIDATES = 30


def next_word(ctx: TaskContext, item: Item, rng: random.Random) -> Question:
    prompt = item.text
    loaded = load(ctx, "generate", "causal-lm", "chat")
    tok = loaded.tokenizer
    ids = torch.tensor([tok(prompt)["input_ids"]], device=loaded.device)
    with torch.no_grad():
        logits = loaded.model(input_ids=ids).logits[0, -1].float().cpu()
    probs = torch.softmax(logits, dim=-1)
    ranked: list[tuple[str, float]] = []
    for token_id in torch.topk(probs, CANDIDATES).indices.tolist():
        text = tok.decode([token_id], skip_special_tokens=True)
        if text.strip() and "\ufffd" not in text and text.strip() not in (t.strip() for t, _ in ranked):
            ranked.append((text, float(probs[token_id])))
    greedy = continue_texts(loaded, [prompt], [1])[0].text  # what /generate max_new_tokens=1 answers
    if len(ranked) < 4 or greedy != ranked[0][0]:
        raise NoQuestion("the top token is not a word, or greedy picked another (a special token)")
    result = run_command(ctx, "generate", {"prompt": prompt, "max_new_tokens": 1})
    best = ranked[0]
    spaced = " (with the space before it: a token often carries it)" if best[0].startswith(" ") else ""
    right = (best[0].strip(), f"Right: probability {best[1]:.4f}, the highest; greedy decoding always takes the top "
                              f"token{spaced}.")
    wrong = [(t.strip(), f"Probability {p:.4f}, ranked {ordinal(i + 2)}: sampling might pick it, greedy never does.")
             for i, (t, p) in enumerate(ranked[1:])]
    options, key, why = shuffled(right, wrong[:2] + rng.sample(wrong[2:6], min(4, len(wrong[2:6]))), rng)
    return Question(
        kind="next-word", topic="generation", inputs={"prompt": prompt},
        prompt=f"Greedy decoding continues {code(prompt)}. Which token does it pick next?",
        options=options, key=key, why=why, model=result.model,
        explanation=("1. The model gave every token of its vocabulary a logit for the next position; softmax made "
                     f"them probabilities ({len(probs):,} of them).\n2. Greedy decoding (`do_sample=False`) takes "
                     "the most likely one. The table shows the top candidates."),
        table=Table(("token", "probability"), tuple((t.replace(" ", "␣"), f"{p:.4f}") for t, p in ranked[:8])),
        code=result.code,
        explore=(Explore("Open as /generate", "generate", {"prompt": prompt, "max_new_tokens": 20}),),
    )


KINDS = (
    Kind("next-word", "generation", "which word greedy decoding picks next", "generate", next_word, bank.PROMPTS,
         lambda text: Item(text.rstrip(" .!?")), ("causal-lm", "chat")),
)
