"""Part IV's questions: inside the pack's decoder. Every key is read off a run of the model.

- `causal-zeros`: how many weights of one head's map are exactly 0 (the causal mask's upper triangle).
- `qkv-mask`: given a row's scores q·k/√d, which token wins after the mask and softmax (a later token
  scores highest, and the mask takes it out); without a clear row, how many keys the mask hides.
- `temperature-top`: the top token's probability at T = 1.5, from the T = 1 table.
- `template-first`: which token starts a chat model's reply to a message (the raw continuation's first
  token is among the options); without a clear winner, or without a template, what the model reads.

Each question is about exactly what the lesson's run step then shows: the same text, and the head,
token and settings the run picks by the same rule (`core.tasks.qkv.choose`, the /causal and
/nexttoken defaults). Numeric options sit in order, with the key's place drawn at random among the
places its distractors allow (`ladder`), so no order rule finds it; every distractor is a number a
real mistake gives (another temperature, the diagonal counted, no mask at all).
"""
from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from core.context import TaskContext
from core.markup import code
from core.models import Loaded
from core.results import Table
from core.tasks.common import f4, load
from core.tasks.qkv import MARGIN, NEG_INF, Head, Reading, choose, head_of, read, short_name
from core.tutor import bank
from core.tutor.kinds import Kind, run_command
from core.tutor.questions import OPTIONS, Explore, Item, NoQuestion, Picture, Question, shuffled

LESSON_TEMPERATURE = 1.5
LADDER = (0.3, 0.5, 0.7, 0.85, 1.0, 1.2, 2.0, 3.0, 5.0, 10.0)
"""The temperatures whose top probabilities stand as distractors for T = 1.5."""
APART = 0.05
"""Two numeric options must differ by at least this share of the larger one."""


@dataclass(frozen=True)
class Rung:
    """One numeric option: its value, how it reads, and why it is (not) the answer."""

    value: float
    text: str
    why: str


def ladder(right: Rung, others: Sequence[Rung], rng: random.Random,
           apart: Callable[[float, float], bool] | None = None) -> tuple[tuple[str, ...], int, tuple[str, ...]]:
    """Four options in increasing order, the key's place drawn at random among the places the
    distractors allow (so sorting leaks nothing); distractors too close to the key or to each other are
    left out. `NoQuestion` when three cannot be found."""
    far = apart or (lambda a, b: abs(a - b) > APART * max(abs(a), abs(b)) and a != b)
    pool = [r for r in others if far(r.value, right.value) and r.text != right.text]
    below = [r for r in pool if r.value < right.value]
    above = [r for r in pool if r.value > right.value]
    places = [p for p in range(OPTIONS) if len(below) >= p and len(above) >= OPTIONS - 1 - p]
    rng.shuffle(places)
    for place in places:
        for _ in range(20):
            chosen = rng.sample(below, place) + rng.sample(above, OPTIONS - 1 - place)
            values = [right.value, *(r.value for r in chosen)]
            if all(far(a, b) for i, a in enumerate(values) for b in values[i + 1:]) and \
                    len({r.text for r in chosen} | {right.text}) == OPTIONS:
                rungs = sorted([right, *chosen], key=lambda r: r.value)
                return tuple(r.text for r in rungs), rungs.index(right), tuple(r.why for r in rungs)
    raise NoQuestion(f"no three distractors apart from {right.text}")


# ----- causal-zeros -----
def zeros_rungs(n: int, zeros: int) -> tuple[Rung, list[Rung]]:
    """The key (the zeros counted in the model's map) and the counts real mistakes give."""
    upper = n * (n - 1) // 2
    right = Rung(zeros, str(zeros),
                 f"Right: the causal mask hides every cell above the diagonal, {n} x {n - 1} / 2 = {upper}"
                 + (", and softmax gives each of them exactly 0." if zeros == upper else
                    f"; {zeros - upper} more weights came out as 0 too (too small for float32)."))
    others = [Rung(0, "0", "That is the encoder: with no causal mask every token sees every token."),
              Rung(n - 1, str(n - 1), f"One per row but the last? Row i hides all {n - 1} - i tokens after it."),
              Rung(n, str(n), "That is the diagonal alone; but every token sees itself, and the mask hides what "
                              "lies above it."),
              Rung(n * (n + 1) // 2, str(n * (n + 1) // 2),
                   "That counts the diagonal too; but each token may look at itself."),
              Rung(n * (n - 1), str(n * (n - 1)), "That hides both triangles; the tokens before stay visible."),
              Rung(n * n, str(n * n), "That would hide everything; each row still adds up to 1.")]
    return right, others


def causal_zeros(ctx: TaskContext, item: Item, rng: random.Random) -> Question:
    reading = read(load(ctx, "qkv"), item.text)
    n = reading.n
    if n < 2:
        raise NoQuestion("one token: nothing to mask")
    weights = reading.attentions[0, 0]
    zeros = int((weights == 0).sum())
    upper = n * (n - 1) // 2
    right, others = zeros_rungs(n, zeros)
    options, key, why = ladder(right, others, rng, apart=lambda a, b: a != b)
    name = short_name(reading.loaded)
    return Question(
        kind="causal-zeros", topic="attention", inputs={"text": item.text, "layer": 0, "head": 0},
        prompt=(f"The decoder ({name}) reads {code(item.text)} as {n} tokens. In layer 0, head 0, its {n} x {n} "
                "attention map, how many weights are exactly 0?"),
        options=options, key=key, why=why, literal=False, model=reading.loaded.spec.label,
        explanation=(f"1. One forward pass with `output_attentions=True` gave the {n} x {n} map.\n"
                     f"2. Row i may look at tokens 0 to i only: the mask adds {NEG_INF} to the {upper} cells above "
                     "the diagonal before softmax, so they come out as 0 and each row adds up to 1 over the rest."),
        table=_zeros_table(reading, weights),
        picture=_picture(reading, weights, "Layer 0, head 0 of the decoder"),
        explore=(Explore("Open as /causal", "causal", {"text": item.text, "layer": 0, "head": 0}),),
        code=run_command(ctx, "causal", {"text": item.text, "layer": 0, "head": 0}).code,
    )


def _zeros_table(reading: Reading, weights: np.ndarray) -> Table:
    rows = [(f"{i} {reading.shown[i]}", str(i + 1), str(int((weights[i] == 0).sum()))) for i in range(reading.n)]
    shown = rows if len(rows) <= 10 else [*rows[:5], *rows[-4:]]
    return Table(("row", "sees", "weights at 0"), tuple(shown))


def _picture(reading: Reading, weights: np.ndarray, title: str) -> Picture:
    return Picture(reading.shown, [[round(float(w), 4) for w in row] for row in weights], [False] * reading.n, title)


# ----- qkv-mask -----
def qkv_mask(ctx: TaskContext, item: Item, rng: random.Random) -> Question:
    reading = read(load(ctx, "qkv"), item.text)
    if reading.n < 3:
        raise NoQuestion("too few tokens for a row with tokens before and after")
    pick = choose(reading)
    head = head_of(reading, pick.layer, pick.head)
    inputs = {"text": item.text, "layer": pick.layer, "head": pick.head, "token": pick.token}
    result = run_command(ctx, "qkv", inputs)
    if pick.trap is not None:
        return _trap(reading, head, pick.token, pick.trap, inputs, result.code, rng)
    return _masked_count(reading, pick.token, inputs, result.code, rng)


LATER_SHOWN = 4
"""The trap question lists every token up to the row's own, and the later tokens that score highest."""


def _row_words(reading: Reading, scores: np.ndarray, i: int) -> str:
    """Position, token and score for tokens 0 to i and the best-scoring later ones, in position order
    ("…" where positions are left out)."""
    later = sorted(sorted(range(i + 1, reading.n), key=lambda j: -scores[j])[:LATER_SHOWN])
    listed, last, words = [*range(i + 1), *later], -1, []
    for j in listed:
        if j > last + 1:
            words.append("…")
        words.append(f"{j} {code(reading.shown[j])} {scores[j]:.2f}")
        last = j
    return " · ".join(words) + (" · …" if last < reading.n - 1 else "")


def _trap(reading: Reading, head: Head, i: int, trap: int, inputs: dict[str, object], snippet: str,
          rng: random.Random) -> Question:
    scores, weights = head.scores[i], head.weights[i]
    seen = sorted(range(i + 1), key=lambda j: -weights[j])
    best = seen[0]
    if weights[best] - weights[seen[1]] < MARGIN:
        raise NoQuestion("no clear winner in this row")
    later = sorted(range(i + 1, reading.n), key=lambda j: -scores[j])
    right = (reading.label(best), f"Right: score {scores[best]:.2f}, the highest among tokens 0 to {i}; softmax "
                                  f"gave it {f4(weights[best])}.")
    wrong = [(reading.label(trap), f"Its score {scores[trap]:.2f} is the highest in the row, but it comes after "
                                   f"(position {trap} > {i}): the mask sets it to {NEG_INF}, so its weight is 0."),
             (reading.label(seen[1]), f"Visible, score {scores[seen[1]]:.2f}: lower, so weight "
                                      f"{f4(weights[seen[1]])}."),
             *((reading.label(j), f"Comes after {i}: masked, weight 0 (score {scores[j]:.2f}).")
               for j in later[1:LATER_SHOWN]),
             *((reading.label(j), f"Visible, score {scores[j]:.2f}: weight {f4(weights[j])}.") for j in seen[2:])]
    options, key, why = shuffled(right, wrong, rng)
    me = code(reading.shown[i])
    return Question(
        kind="qkv-mask", topic="attention", inputs=inputs,
        prompt=(f"In {code(reading.text)}, layer {head.layer}, head {head.head} of the decoder, token {i} {me} "
                f"scores every token (q·k/√d): {_row_words(reading, scores, i)}. After the causal mask and softmax, "
                f"which token gets most of {me}'s attention?"),
        options=options, key=key, why=why, model=reading.loaded.spec.label,
        explanation=(f"1. Scores for all {reading.n} keys are computed, later ones too; the mask then adds {NEG_INF} "
                     f"to keys after {i}.\n2. Softmax keeps the order of what is left, so the highest visible score "
                     "wins."),
        table=_row_table(reading, head, i),
        picture=_picture(reading, head.weights, f"Layer {head.layer}, head {head.head} by hand"),
        explore=(Explore("Open as /qkv", "qkv", inputs),), code=snippet,
    )


def _row_table(reading: Reading, head: Head, i: int) -> Table:
    scores, weights = head.scores[i], head.weights[i]
    return Table(("key", "q·k/√d", "weight"), tuple((f"{j} {reading.shown[j]}", f"{scores[j]:.2f}", f4(weights[j]))
                                                     for j in range(min(reading.n, 12))))


def masked_rungs(n: int, i: int) -> tuple[Rung, list[Rung]]:
    """The key (the keys after token i) and the counts real mistakes give."""
    hidden = n - 1 - i
    right = Rung(hidden, str(hidden), f"Right: the {hidden} tokens after position {i} are masked ({NEG_INF}); it "
                                      f"sees tokens 0 to {i}, itself included.")
    others = [Rung(0, "0", "None would be an encoder: a decoder hides every later token."),
              Rung(1, "1", "Only the next one? The mask hides every token after it, not just the next."),
              Rung(i, str(i), f"{i} is how many come before it: those it sees."),
              Rung(i + 1, str(i + 1), f"{i + 1} is how many it sees, itself included."),
              Rung(n - 1, str(n - 1), "That is every other token; the earlier ones stay visible."),
              Rung(n, str(n), "That is every token, itself included."),
              Rung(n - i, str(n - i), "That counts itself as masked; a token always sees itself.")]
    return right, others


def _masked_count(reading: Reading, i: int, inputs: dict[str, object], snippet: str,
                  rng: random.Random) -> Question:
    n = reading.n
    me = code(reading.shown[i])
    right, others = masked_rungs(n, i)
    options, key, why = ladder(right, others, rng, apart=lambda a, b: a != b)
    return Question(
        kind="qkv-mask", topic="attention", inputs=inputs,
        prompt=(f"The decoder reads {code(reading.text)} as {n} tokens. Token {i} {me}'s query is scored against all "
                f"{n} keys (q·k/√d). How many of those scores does the causal mask replace with {NEG_INF}?"),
        options=options, key=key, why=why, literal=False, model=reading.loaded.spec.label,
        explanation=(f"1. Row {i} of Q Kᵀ has a score for every key, later ones too.\n2. The causal mask adds "
                     f"{NEG_INF} to the keys after {i}, so softmax gives them exactly 0."),
        explore=(Explore("Open as /qkv", "qkv", inputs),), code=snippet,
    )


# ----- temperature-top -----
def probability(p: float) -> str:
    """4 decimals, or 3 significant digits below 0.001 (a tiny model's flat distribution)."""
    return f"{p:.4f}" if p >= 0.001 else f"{p:.3g}"


def temperature_top(ctx: TaskContext, item: Item, rng: random.Random) -> Question:
    from core.tasks.sampling import Settings, next_of, prompt_ids, top_probability
    from core.tokens import readable_tokens

    loaded = load(ctx, "generate", "causal-lm", "chat")
    ids, _ = prompt_ids(loaded, item.text, 1)
    nxt = next_of(loaded, ids, Settings(1.0, 0, 1.0))
    top = nxt.top(3)
    shown = readable_tokens(loaded.tokenizer, loaded.tokenizer.convert_ids_to_tokens(top))
    at = {t: top_probability(nxt.logits, t) for t in (*LADDER, LESSON_TEMPERATURE)}
    first = code(shown[0])
    right, others = temperature_rungs(at, first)
    options, key, why = ladder(right, others, rng)
    result = run_command(ctx, "nexttoken", {"prompt": item.text, "temperature": str(LESSON_TEMPERATURE),
                                            "max_new_tokens": 1})
    rest = ", ".join(f"{code(s)} {probability(float(nxt.plain[i]))}" for s, i in zip(shown[1:], top[1:], strict=True))
    return Question(
        kind="temperature-top", topic="generation", inputs={"prompt": item.text, "temperature": LESSON_TEMPERATURE},
        prompt=(f"After {code(item.text)}, the model's top next token is {first} with probability "
                f"{probability(at[1.0])} at T = 1 (then {rest}). Sampling at temperature T = 1.5, what probability "
                f"does {first} get?"),
        options=options, key=key, why=why, literal=False, model=loaded.spec.label,
        explanation=("1. Temperature divides every logit by T before softmax: T > 1 flattens the distribution, "
                     f"T < 1 sharpens it, and the order never changes.\n2. With {len(nxt.logits):,} tokens in the "
                     "vocabulary, flattening moves a lot of probability to the long tail."),
        table=Table(("temperature", f"probability of {shown[0]}"),
                    tuple((f"T = {t:g}", probability(at[t])) for t in sorted(at))),
        explore=(Explore("Open as /nexttoken", "nexttoken", {"prompt": item.text,
                                                            "temperature": str(LESSON_TEMPERATURE)}),),
        code=result.code,
    )


def temperature_rungs(at: dict[float, float], first: str) -> tuple[Rung, list[Rung]]:
    """The key (the top token's probability at T = 1.5) and its probabilities at the other temperatures."""
    key = at[LESSON_TEMPERATURE]
    right = Rung(key, probability(key), f"Right: logits / 1.5, then softmax. {first} stays on top, but its share "
                                        f"falls from {probability(at[1.0])} to {probability(key)}: the many unlikely "
                                        "tokens gain.")
    return right, [Rung(at[t], probability(at[t]), _why_temperature(t)) for t in sorted(at) if t != LESSON_TEMPERATURE]


def _why_temperature(t: float) -> str:
    if t == 1.0:
        return "That is T = 1, unchanged; but temperature rescales every logit before softmax."
    if t < 1.0:
        return f"That is its probability at T = {t:g}: below 1 sharpens, so the top token gains; 1.5 does the opposite."
    if t < LESSON_TEMPERATURE:
        return f"That is its probability at T = {t:g}: flatter than at 1, but 1.5 flattens more."
    return f"That is its probability at T = {t:g}: flatter still; at 1.5 it keeps more."


# ----- template-first -----
READS = {
    "plain": "Exactly your tokens, with nothing added",
    "start": "A start-of-text token, then your tokens",
    "system": "A system prompt, your message in role markers, the reply's opening",
    "markers": "Your message in role markers and the reply's opening, no system prompt",
}


def template_first(ctx: TaskContext, item: Item, rng: random.Random) -> Question:
    from core.tasks.template import has_template

    loaded = load(ctx, "generate", "causal-lm", "chat")
    if has_template(loaded):
        question = _first_token(ctx, loaded, item, rng)
        if question is not None:
            return question
    return _what_it_reads(ctx, loaded, item, rng)


def _first_token(ctx: TaskContext, loaded: Loaded, item: Item, rng: random.Random) -> Question | None:
    import torch

    from core.tasks.base import next_token_logits
    from core.tasks.template import reads
    from core.tokens import readable_tokens

    tok = loaded.tokenizer
    seen = reads(loaded, item.text)
    probs = torch.softmax(next_token_logits(loaded, torch.tensor([seen.ids]), None)[0], dim=-1)
    raw = int(next_token_logits(loaded, torch.tensor([tok(item.text)["input_ids"]]), None)[0].argmax())
    ranked = [int(i) for i in probs.topk(12).indices]
    names = dict(zip([raw, *ranked], readable_tokens(tok, tok.convert_ids_to_tokens([raw, *ranked])), strict=True))
    best, second = ranked[0], ranked[1]
    if float(probs[best] - probs[second]) < MARGIN:
        return None
    right = (names[best], f"Right: {f4(float(probs[best]))}, the most likely first token of the reply; greedy "
                          "decoding takes it.")
    wrong = []
    if raw != best:
        wrong.append((names[raw], f"That is what the model writes first without the template ({names[raw]!r}): it "
                                  "would continue your text, not answer it."))
    wrong += [(names[j], f"{f4(float(probs[j]))} as the reply's first token: less likely than {names[best]!r}.")
              for j in ranked[1:] if WORD.fullmatch(names[j])]
    options, key, why = shuffled(right, wrong, rng)
    result = run_command(ctx, "template", {"prompt": item.text, "max_new_tokens": 1})
    return Question(
        kind="template-first", topic="generation", inputs={"prompt": item.text},
        prompt=(f"You send {code(item.text)} to {short_name(loaded)} as a chat message "
                "(through its chat template). Which token starts its reply?"),
        options=options, key=key, why=why, model=loaded.spec.label,
        explanation=(f"1. The template made {len(seen.ids)} tokens of your message and opened the assistant's turn.\n"
                     "2. The model scored every token as the first of its reply; greedy decoding takes the top one."),
        table=Table(("first token", "probability"), tuple((names[j], f4(float(probs[j]))) for j in ranked[:6])),
        explore=(Explore("Open as /template", "template", {"prompt": item.text}),), code=result.code,
    )


def _what_it_reads(ctx: TaskContext, loaded: Loaded, item: Item, rng: random.Random) -> Question:
    from core.tasks.template import has_template, plain_reads, reads

    templated = has_template(loaded)
    seen = reads(loaded, item.text) if templated else plain_reads(loaded, item.text)
    added = sum(s.count for s in seen.segments if s.part == "markers")
    answer = ("system" if seen.system else "markers") if templated else "start" if added else "plain"
    truth = {"plain": "it has no chat template and adds nothing to your text",
             "start": f"it has no chat template; its tokenizer adds {added} special token(s) to your text",
             "system": f"its chat template adds a default system prompt ({seen.system!r}), role markers and the "
                       "opening of the reply",
             "markers": "its chat template adds role markers and the opening of the reply, and no system prompt",
             }[answer]
    short = {"plain": "it adds nothing to your text", "start": "its tokenizer adds tokens to your text",
             "system": "it adds a default system prompt, role markers and the reply's opening",
             "markers": "it adds role markers and the reply's opening, and no system prompt"}[answer]
    why = {k: f"Right: {truth}; it reads {len(seen.ids)} tokens." if k == answer else f"Not this model: {short}."
           for k in READS}
    options, key, why_shown = shuffled((READS[answer], why[answer]),
                                       [(READS[k], why[k]) for k in READS if k != answer], rng)
    result = run_command(ctx, "template", {"prompt": item.text, "max_new_tokens": 1})
    name = short_name(loaded)
    return Question(
        kind="template-first", topic="generation", inputs={"prompt": item.text, "reads": answer},
        prompt=f"You send {code(item.text)} to the pack's generation model ({name}). What does the model read?",
        options=options, key=key, why=why_shown, literal=False, model=loaded.spec.label,
        explanation=(f"1. {name}: {truth}; it reads {len(seen.ids)} tokens.\n2. /template shows each of them, with "
                     "its position, and the model's answer with and without the template."),
        explore=(Explore("Open as /template", "template", {"prompt": item.text}),), code=result.code,
    )


SENTENCES = (*bank.SENTENCES, *(Item(t.text) for t in bank.ATTENDING))
PROMPTS = tuple(Item(s) for s in (
    "The best way to learn is", "My favourite food is", "The weather today is", "I think that",
    "The cat sat on the", "Once upon a time", "The most important thing in life is", "Every morning I",
    "The capital of France is", "In the future, computers will", "My best friend is", "The museum was",
))
MESSAGES = tuple(Item(s) for s in (
    "Tell me a joke.", "The best way to learn is", "The weather today is", "Who are you?",
    "Write a short poem about rain.", "Describe a cat in one sentence.", "Can you help me study?", "Good morning!",
    "What should I cook tonight?", "The dog slept.", "How do I make tea?", "What is 2 plus 2?",
    "Give me a fun fact.", "Name a famous painter.",
))
"""Messages whose reply SmolLM2 starts with a clear favourite (a lead of 0.06 to 0.4) that is a word."""
WORD = re.compile(r"␣?(?:[A-Za-z]{2,}|[AaI])")
"""A candidate first token that reads as a word (not a fragment such as `B` of `Bees`)."""


def _text(text: str) -> Item | None:
    return Item(text.strip()) if text.strip() else None


KINDS = (
    Kind("causal-zeros", "attention", "how many weights a decoder's causal mask sets to 0", "qkv", causal_zeros,
         SENTENCES, _text, ("decoder",)),
    Kind("qkv-mask", "attention", "which token wins a decoder head's row after the mask", "qkv", qkv_mask,
         SENTENCES, _text, ("decoder",)),
    Kind("temperature-top", "generation", "the top token's probability at temperature 1.5", "generate",
         temperature_top, PROMPTS, _text, ("causal-lm", "chat")),
    Kind("template-first", "generation", "what a chat model reads, and how its reply starts", "generate",
         template_first, MESSAGES, _text, ("causal-lm", "chat")),
)
