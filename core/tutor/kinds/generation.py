"""Generation questions: which token greedy decoding picks next.

The key is /generate's own answer with `max_new_tokens=1` (its snippet prints it); the options are
the top tokens of the same next-token distribution, from one forward pass of the same model: whole
words written as the tokenizer writes them (with the space marker the key carries), and the key
leads the runner-up by `core.tutor.options.MARGIN` or the question is not asked.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from core.context import TaskContext
from core.markup import code, to_plain
from core.results import Result, Table
from core.tasks.shared.common import load
from core.tokens import readable_tokens
from core.tutor import bank
from core.tutor.kinds.base import Kind, Steps, run_command
from core.tutor.options import arrange, lead, spaced, whole_words
from core.tutor.questions import Explore, Item, NoQuestion, Question, ordinal

CANDIDATES = 50


@dataclass(frozen=True)
class Next:
    """The next-token distribution after a prompt, and /generate's own one-token answer."""

    loaded: Any
    prompt: str
    ranked: list[tuple[str, str, float]]
    """(raw token, the token as a learner reads it, probability), best first."""
    vocabulary: int
    greedy: str
    result: Result


def measure(ctx: TaskContext, item: Item) -> Next:
    import torch
    prompt = item.text
    loaded = load(ctx, "generate", "causal-lm", "chat")
    tok = loaded.tokenizer
    ids = torch.tensor([tok(prompt)["input_ids"]], device=loaded.device)
    with torch.no_grad():
        logits = loaded.model(input_ids=ids).logits[0, -1].float().cpu()
    probs = torch.softmax(logits, dim=-1)
    top = torch.topk(probs, CANDIDATES)
    raw = tok.convert_ids_to_tokens(top.indices.tolist())
    ranked = list(zip(raw, readable_tokens(tok, raw), top.values.tolist(), strict=True))
    result = run_command(ctx, "generate", {"prompt": prompt, "max_new_tokens": 1})
    greedy = to_plain(result.answer)[len(prompt):]  # its answer is the prompt, then the new token in bold
    decoded = tok.decode([int(top.indices[0])], skip_special_tokens=True)
    return Next(loaded, prompt, ranked, len(probs), greedy if greedy == decoded else "", result)


def next_word(n: Next, rng: random.Random) -> Question:
    prompt, best = n.prompt, n.ranked[0]
    if not n.greedy:
        raise NoQuestion("greedy picked another token (a special token)")
    lead(best[2], n.ranked[1][2], n.loaded.spec.is_tiny)
    words = whole_words(n.ranked, spaced(n.loaded.tokenizer))
    if not words or words[0] != best:
        raise NoQuestion("the top token is not a whole word")
    rank = {t: i for i, t in enumerate(n.ranked)}
    carries = " (with the space before it: a token often carries it)" if best[1] != best[1].lstrip("␣ ") else ""
    right = (best[1], f"Right: probability {best[2]:.4f}, the highest; greedy decoding always takes the top "
                      f"token{carries}.")
    wrong = [(t[1], f"Probability {t[2]:.4f}, ranked {ordinal(rank[t] + 1)}: sampling might pick it, greedy never "
                    "does.") for t in words[1:]]
    options, key, why = arrange(right, wrong, rng)
    return Question(
        kind="next-word", topic="generation", inputs={"prompt": prompt},
        prompt=f"Greedy decoding continues {code(prompt)}. Which token does it pick next? (`␣` is the space a token "
               "carries.)",
        options=options, key=key, why=why, model=n.result.model,
        explanation=("1. The model gave every token of its vocabulary a logit for the next position; softmax made "
                     f"them probabilities ({n.vocabulary:,} of them).\n2. Greedy decoding (`do_sample=False`) takes "
                     "the most likely one. The table shows the top candidates."),
        table=Table(("token", "probability"), tuple((t[1], f"{t[2]:.4f}") for t in n.ranked[:8])),
        code=n.result.code,
        explore=(Explore("Open as /generate", "generate", {"prompt": prompt, "max_new_tokens": 20}),),
    )


KINDS = (
    Kind("next-word", "generation", "which word greedy decoding picks next", "generate", Steps(measure, next_word),
         bank.PROMPTS, lambda text: Item(text.rstrip(" .!?")), ("causal-lm", "chat")),
)
