"""Part IV's questions: inside the pack's decoder. Every key is read off a run of the model.

- `causal-zeros`: how many weights of one head's map are exactly 0 (the causal mask's upper triangle).
- `qkv-mask`: given a row's scores q·k/√d, which token wins after the mask and softmax (a later token
  scores highest, and the mask takes it out); without such a row, how many keys the mask hides.
- `temperature-top`: the top token's probability at T = 1.5, from the T = 1 distribution.
- `template-first`: which token starts a chat model's reply to a message (the raw continuation's first
  token among the options); without a clear winner, or without a template, how many tokens it reads.

Each is made in two steps (`core.tutor.kinds.Steps`): `measure` runs the model once on the item, with
the head, token and settings the lesson's run step picks by the same rule (`core.tasks.qkv.choose`,
the /causal and /nexttoken defaults), so a lesson's prediction is about exactly the run it shows;
`pose` deals the options with `core.tutor.options`: numbers by `ranked` (ascending, the key at the
dealt rank; every distractor a number a real mistake gives: another temperature, the diagonal counted,
no mask at all), tokens by `arrange`, and an argmax key only when it `lead`s its runner-up.
"""
from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.context import TaskContext
from core.markup import code
from core.results import Table
from core.tasks import causal
from core.tasks.qkv import NEG_INF, Head, Pick, Reading, choose, code_of, head_of, read, short_name
from core.tasks.shared.common import f4, load
from core.tokens import readable_tokens
from core.tutor import bank
from core.tutor.kinds.base import Kind, Steps, run_command
from core.tutor.options import MARGIN, Valued, arrange, lead, ranked, token_form
from core.tutor.questions import Explore, Item, NoQuestion, Picture, Question

LESSON_TEMPERATURE = 1.5
LADDER = (0.3, 0.5, 0.7, 0.85, 1.0, 1.2, 2.0, 3.0, 5.0, 10.0)
"""The temperatures whose top probabilities stand as distractors for T = 1.5."""
APART = 0.05
"""Two probabilities shown as options differ by at least this share of the larger (else they read alike)."""


def apart(right: Valued, candidates: Sequence[Valued], share: float = APART) -> list[Valued]:
    """The candidates (most plausible first) that stand apart from the key and from each other by
    `share` of the larger value: options that read almost alike would make a near-tie."""
    kept: list[Valued] = []
    for value in candidates:
        if all(abs(value[0] - v[0]) > share * max(abs(value[0]), abs(v[0])) and value[1] != v[1]
               for v in (right, *kept)):
            kept.append(value)
    return kept


def _picture(shown: list[str], weights: np.ndarray, title: str) -> Picture:
    return Picture(shown, [[round(float(w), 4) for w in row] for row in weights], [False] * len(shown), title)


# ----- causal-zeros -----
def triangle(n: int) -> int:
    """The cells above the diagonal of an n x n map."""
    return n * (n - 1) // 2


def zeros_rungs(n: int, zeros: int, words: int = 0) -> tuple[Valued, list[Valued]]:
    """The key (the zeros counted in the model's map) and the counts real mistakes give, the most
    plausible first: miscounting the tokens (the words, one more or fewer) or the diagonal come before
    the wilder ones, so the options are of the key's size and no length or digit count stands out."""
    upper = triangle(n)
    right = (zeros, str(zeros),
             f"Right: the causal mask hides every cell above the diagonal, {n} x {n - 1} / 2 = {upper}"
             + (", and softmax gives each of them exactly 0." if zeros == upper else
                f"; {zeros - upper} more weights came out as 0 too (too small for float32)."))
    others: list[Valued] = [
        (triangle(n + 1), str(triangle(n + 1)), "That counts the diagonal too; but each token may look at itself."),
        (triangle(n - 1), str(triangle(n - 1)), f"That is the triangle of {n - 1} tokens; the map has {n} rows, and "
                                                f"row i hides the {n - 1} - i tokens after it."),
        *([(triangle(words), str(triangle(words)), f"That counts {words} words; the decoder reads {n} tokens.")]
          if words > 1 and words != n else []),
        (triangle(n + 2), str(triangle(n + 2)), f"That is the triangle of {n + 2} tokens; the decoder read {n}."),
        (triangle(n - 2), str(triangle(n - 2)), f"That is the triangle of {n - 2} tokens; the decoder read {n}."),
        (n, str(n), "That is the diagonal alone; but every token sees itself, and the mask hides what lies above it."),
        (n - 1, str(n - 1), f"One per row but the last? Row i hides all {n - 1} - i tokens after it."),
        (0, "0", "That is the encoder: with no causal mask every token sees every token."),
        (n * (n - 1), str(n * (n - 1)), "That hides both triangles; the tokens before stay visible."),
        (n * n, str(n * n), "That would hide everything; each row still adds up to 1."),
    ]
    return right, others


@dataclass(frozen=True)
class Zeros:
    """/causal's run at layer 0, head 0 (the lesson's run), read for its decoder map."""

    text: str
    pair: causal.Pair

    @property
    def decoder(self) -> causal.Map:
        return self.pair.decoder


def measure_zeros(ctx: TaskContext, item: Item) -> Zeros:
    pair = causal.compare(ctx, item.text, 0, 0)
    if pair.decoder.n < 2:
        raise NoQuestion("one token: nothing to mask")
    return Zeros(item.text, pair)


def causal_zeros(z: Zeros, rng: random.Random) -> Question:
    d = z.decoder
    n, upper = d.n, d.n * (d.n - 1) // 2
    right, others = zeros_rungs(n, d.zeros, len(z.text.split()))
    options, key, why = ranked(right, others, rng)
    return Question(
        kind="causal-zeros", topic="attention", inputs={"text": z.text, "layer": 0, "head": 0},
        prompt=(f"The decoder ({d.name}) reads {code(z.text)} as {n} tokens. In layer 0, head 0, its {n} x {n} "
                "attention map, how many weights are exactly 0?"),
        options=options, key=key, why=why, literal=False, model=d.loaded.spec.label,
        explanation=(f"1. One forward pass with `output_attentions=True` gave the {n} x {n} map.\n"
                     f"2. Row i may look at tokens 0 to i only: the mask adds {NEG_INF} to the {upper} cells above "
                     "the diagonal before softmax, so they come out as 0 and each row adds up to 1 over the rest."),
        table=_zeros_table(d),
        picture=_picture(d.shown, d.weights, "Layer 0, head 0 of the decoder"),
        explore=(Explore("Open as /causal", "causal", {"text": z.text, "layer": 0, "head": 0}),),
        code=z.pair.code,
    )


def _zeros_table(d: causal.Map) -> Table:
    rows = [(f"{i} {d.shown[i]}", str(i + 1), str(int((d.weights[i] == 0).sum()))) for i in range(d.n)]
    shown = rows if len(rows) <= 10 else [*rows[:5], *rows[-4:]]
    return Table(("row", "sees", "weights at 0"), tuple(shown))


# ----- qkv-mask -----
@dataclass(frozen=True)
class Row:
    """/qkv's run with the tutor's pick (the lesson's run): the head computed by hand, and its snippet."""

    reading: Reading
    pick: Pick
    head: Head
    code: str

    @property
    def inputs(self) -> dict[str, object]:
        return {"text": self.reading.text, "layer": self.pick.layer, "head": self.pick.head, "token": self.pick.token}


def measure_row(ctx: TaskContext, item: Item) -> Row:
    reading = read(load(ctx, "qkv"), item.text)
    if reading.n < 3:
        raise NoQuestion("too few tokens for a row with tokens before and after")
    pick = choose(reading)
    head = head_of(reading, pick.layer, pick.head)
    return Row(reading, pick, head, code_of(reading, head, pick.token))


def qkv_mask(r: Row, rng: random.Random) -> Question:
    if r.pick.trap is not None:
        return _trap(r, r.pick.trap, rng)
    return _masked_count(r, rng)


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


def _trap(r: Row, trap: int, rng: random.Random) -> Question:
    reading, head, i = r.reading, r.head, r.pick.token
    scores, weights = head.scores[i], head.weights[i]
    seen = sorted(range(i + 1), key=lambda j: -weights[j])
    best = seen[0]
    lead(float(weights[best]), float(weights[seen[1]]), reading.loaded.spec.is_tiny)
    later = sorted(range(i + 1, reading.n), key=lambda j: -scores[j])
    me = code(reading.shown[i])
    prompt = (f"In {code(reading.text)}, layer {head.layer}, head {head.head} of the decoder, token {i} {me} scores "
              f"every token (q·k/√d): {_row_words(reading, scores, i)}. After the causal mask and softmax, which "
              f"token gets most of {me}'s attention?")
    right = (reading.label(best), f"Right: score {scores[best]:.2f}, the highest among tokens 0 to {i}; softmax "
                                  f"gave it {f4(weights[best])}.")
    wrong = [(reading.label(trap), f"Its score {scores[trap]:.2f} is the highest in the row, but it comes after "
                                   f"(position {trap} > {i}): the mask sets it to {NEG_INF}, so its weight is 0."),
             (reading.label(seen[1]), f"Visible, score {scores[seen[1]]:.2f}: lower, so weight "
                                      f"{f4(weights[seen[1]])}."),
             *((reading.label(j), f"Comes after {i}: masked, weight 0 (score {scores[j]:.2f}).")
               for j in later[1:LATER_SHOWN]),
             *((reading.label(j), f"Visible, score {scores[j]:.2f}: weight {f4(weights[j])}.") for j in seen[2:])]
    visible = {reading.label(j) for j in range(i + 1)}
    options, key, why = arrange(right, wrong, rng, context=prompt, side=lambda label: label in visible)
    return Question(
        kind="qkv-mask", topic="attention", inputs=r.inputs, prompt=prompt,
        options=options, key=key, why=why, model=reading.loaded.spec.label,
        explanation=(f"1. Scores for all {reading.n} keys are computed, later ones too; the mask then adds {NEG_INF} "
                     f"to keys after {i}.\n2. Softmax keeps the order of what is left, so the highest visible score "
                     "wins."),
        table=_row_table(reading, head, i, [*seen[:6], trap]),
        picture=_picture(reading.shown, head.weights, f"Layer {head.layer}, head {head.head} by hand"),
        explore=(Explore("Open as /qkv", "qkv", r.inputs),), code=r.code,
    )


def _row_table(reading: Reading, head: Head, i: int, keys: list[int]) -> Table:
    """The row's strongest visible keys and the trap, by weight: q·k/√d and what softmax made of it."""
    scores, weights = head.scores[i], head.weights[i]
    return Table(("key", "q·k/√d", "weight"), tuple((f"{j} {reading.shown[j]}", f"{scores[j]:.2f}", f4(weights[j]))
                                                     for j in keys))


def masked_rungs(n: int, i: int) -> tuple[Valued, list[Valued]]:
    """The key (the keys after token i) and the counts real mistakes give, the most plausible first."""
    hidden = n - 1 - i
    right = (hidden, str(hidden), f"Right: the {hidden} tokens after position {i} are masked ({NEG_INF}); it "
                                  f"sees tokens 0 to {i}, itself included.")
    others: list[Valued] = [
        (n - i, str(n - i), "That counts itself as masked; a token always sees itself."),
        (i + 1, str(i + 1), f"{i + 1} is how many it sees, itself included."),
        (i, str(i), f"{i} is how many come before it: those it sees."),
        *([(n - 2 - i, str(n - 2 - i), f"That leaves token {i + 1}, the next one, visible; the mask hides it too.")]
          if n - 2 - i > 0 else []),
        (1, "1", "Only the next one? The mask hides every token after it, not just the next."),
        (n - 1, str(n - 1), "That is every other token; the earlier ones stay visible."),
        (0, "0", "None would be an encoder: a decoder hides every later token."),
        (n, str(n), "That is every token, itself included."),
    ]
    return right, others


def _masked_count(r: Row, rng: random.Random) -> Question:
    reading, i = r.reading, r.pick.token
    n = reading.n
    me = code(reading.shown[i])
    right, others = masked_rungs(n, i)
    options, key, why = ranked(right, others, rng)
    return Question(
        kind="qkv-mask", topic="attention", inputs=r.inputs,
        prompt=(f"The decoder reads {code(reading.text)} as {n} tokens. In layer {r.pick.layer}, head {r.pick.head}, "
                f"token {i} {me}'s query is scored against all {n} keys (q·k/√d). How many of those scores does the "
                f"causal mask replace with {NEG_INF}?"),
        options=options, key=key, why=why, literal=False, model=reading.loaded.spec.label,
        explanation=(f"1. Row {i} of Q Kᵀ has a score for every key, later ones too.\n2. The causal mask adds "
                     f"{NEG_INF} to the keys after {i}, so softmax gives them exactly 0: in the picture, row {i} "
                     "is blank right of the diagonal."),
        table=_row_table(reading, r.head, i, _around(i, n)),
        picture=_picture(reading.shown, r.head.weights, f"Layer {r.pick.layer}, head {r.pick.head} by hand"),
        explore=(Explore("Open as /qkv", "qkv", r.inputs),), code=r.code,
    )


def _around(i: int, n: int, each_side: int = 3) -> list[int]:
    """The keys either side of row i's mask boundary: the last ones it sees, then the first ones masked."""
    return list(range(max(0, i - each_side), min(n, i + 1 + each_side)))


# ----- temperature-top -----
def probability(p: float) -> str:
    """4 decimals, or 3 significant digits below 0.001 (a tiny model's flat distribution)."""
    return f"{p:.4f}" if p >= 0.001 else f"{p:.3g}"


@dataclass(frozen=True)
class Tempered:
    """/nexttoken's distribution after a prompt: the top token's probability at each temperature."""

    prompt: str
    model: str
    shown: list[str]
    """The three most likely next tokens, as a learner reads them."""
    plain: list[float]
    """Their probabilities at T = 1."""
    at: dict[float, float]
    """The top token's probability at each temperature of `LADDER` and at `LESSON_TEMPERATURE`."""
    vocabulary: int
    code: str


def measure_temperature(ctx: TaskContext, item: Item) -> Tempered:
    from core.tasks.sampling import decode, top_probability

    command = ctx.registry.get("nexttoken")
    d = decode(ctx, command.validate({"prompt": item.text, "temperature": str(LESSON_TEMPERATURE),
                                      "max_new_tokens": 1}))
    top = d.top[:3]
    at = {t: top_probability(d.nxt.logits, t) for t in (*LADDER, LESSON_TEMPERATURE)}
    return Tempered(item.text, d.loaded.spec.label, d.shown[:3], [float(d.nxt.plain[i]) for i in top], at,
                    len(d.nxt.logits), d.code)


def temperature_rungs(at: dict[float, float], first: str) -> tuple[Valued, list[Valued]]:
    """The key (the top token's probability at T = 1.5) and its probabilities at the other temperatures,
    the temperatures nearest 1.5 first."""
    key = at[LESSON_TEMPERATURE]
    right = (key, probability(key), f"Right: logits / 1.5, then softmax. {first} stays on top, but its share "
                                    f"falls from {probability(at[1.0])} to {probability(key)}: the many unlikely "
                                    "tokens gain.")
    near = sorted((t for t in at if t != LESSON_TEMPERATURE), key=lambda t: abs(math.log(t / LESSON_TEMPERATURE)))
    return right, [(at[t], probability(at[t]), _why_temperature(t)) for t in near]


def _why_temperature(t: float) -> str:
    if t == 1.0:
        return "That is T = 1, unchanged; but temperature rescales every logit before softmax."
    if t < 1.0:
        return f"That is its probability at T = {t:g}: below 1 sharpens, so the top token gains; 1.5 does the opposite."
    if t < LESSON_TEMPERATURE:
        return f"That is its probability at T = {t:g}: flatter than at 1, but 1.5 flattens more."
    return f"That is its probability at T = {t:g}: flatter still; at 1.5 it keeps more."


def temperature_top(t: Tempered, rng: random.Random) -> Question:
    first = code(t.shown[0])
    right, others = temperature_rungs(t.at, first)
    options, key, why = ranked(right, apart(right, others), rng)
    rest = ", ".join(f"{code(s)} {p:.2%}" for s, p in zip(t.shown[1:], t.plain[1:], strict=True))
    return Question(
        kind="temperature-top", topic="generation", inputs={"prompt": t.prompt, "temperature": LESSON_TEMPERATURE},
        prompt=(f"After {code(t.prompt)}, the model's top next token is {first} with probability "
                f"{probability(t.at[1.0])} at T = 1 (then {rest}). Sampling at temperature T = 1.5, what probability "
                f"does {first} get?"),
        options=options, key=key, why=why, literal=False, model=t.model,
        explanation=("1. Temperature divides every logit by T before softmax: T > 1 flattens the distribution, "
                     f"T < 1 sharpens it, and the order never changes.\n2. With {t.vocabulary:,} tokens in the "
                     "vocabulary, flattening moves a lot of probability to the long tail."),
        table=Table(("temperature", f"probability of {t.shown[0]}"),
                    tuple((f"T = {x:g}", probability(t.at[x])) for x in sorted(t.at))),
        explore=(Explore("Open as /nexttoken", "nexttoken", {"prompt": t.prompt,
                                                            "temperature": str(LESSON_TEMPERATURE)}),),
        code=t.code,
    )


# ----- template-first -----
WORD = re.compile(r"␣?(?:[A-Za-z]{2,}|[AaI])")
"""A candidate first token that reads as a word (not a fragment such as `B` of `Bees`)."""
FIRST_SHOWN = 12
"""The reply's most likely first tokens read for the options."""


@dataclass(frozen=True)
class Reads:
    """What the pack's generation model reads for a message, and how its reply would start."""

    prompt: str
    name: str
    model: str
    templated: bool
    count: int
    """Tokens the model reads: through the chat template, or (none) the message as its tokenizer makes it."""
    alone: int
    """Tokens of the message alone (`tokenizer(prompt)`, special tokens included)."""
    system: int
    """Tokens of the template's default system prompt (0: none)."""
    first: list[tuple[str, float]]
    """The reply's most likely first tokens through the template, with probabilities, best first ([]: none)."""
    raw: str
    """The first token the model writes after the message alone, without the template."""
    code: str


def measure_reads(ctx: TaskContext, item: Item) -> Reads:
    import torch

    from core.tasks.shared.base import next_token_logits
    from core.tasks.template import has_template, reads

    loaded = load(ctx, "generate", "causal-lm", "chat")
    tok, prompt = loaded.tokenizer, item.text
    alone = tok(prompt)["input_ids"]
    if not alone:
        raise NoQuestion("the message gives no tokens")
    templated = has_template(loaded)
    raw = int(next_token_logits(loaded, torch.tensor([alone]), None)[0].argmax())
    count, system, first = len(alone), 0, []
    if templated:
        seen = reads(loaded, prompt)
        count, system = len(seen.ids), sum(s.count for s in seen.segments if s.part == "system prompt")
        probs = torch.softmax(next_token_logits(loaded, torch.tensor([seen.ids]), None)[0], dim=-1)
        ranked_ids = [int(i) for i in probs.topk(FIRST_SHOWN).indices]
        names = readable_tokens(tok, tok.convert_ids_to_tokens(ranked_ids))
        first = [(name, float(probs[i])) for name, i in zip(names, ranked_ids, strict=True)]
    raw_name = readable_tokens(tok, tok.convert_ids_to_tokens([raw]))[0]
    code_ = run_command(ctx, "template", {"prompt": prompt, "max_new_tokens": 1}).code
    return Reads(prompt, short_name(loaded), loaded.spec.label, templated, count, len(alone), system, first, raw_name,
                 code_)


def template_first(r: Reads, rng: random.Random) -> Question:
    if r.first and r.first[0][1] - r.first[1][1] >= MARGIN:
        return _first_token(r, rng)
    return _count(r, rng)


def _first_token(r: Reads, rng: random.Random) -> Question:
    best, p = r.first[0]
    if not WORD.fullmatch(best):
        raise NoQuestion("the reply's first token is not a word")
    form = token_form(best.replace("␣", "Ġ"))[0]

    def fits(name: str) -> bool:
        """A word of the key's form: a reply's first token carries no space marker, so a continuation's
        `␣to` would stand out as the one option that cannot start a reply."""
        return WORD.fullmatch(name) is not None and token_form(name.replace("␣", "Ġ"))[0] == form

    right = (best, f"Right: {f4(p)}, the most likely first token of the reply; greedy decoding takes it.")
    wrong = [(r.raw, f"That is what the model writes first without the template ({r.raw!r}): it would continue "
                     "your text, not answer it.")] if fits(r.raw) else []
    wrong += [(name, f"{f4(q)} as the reply's first token: less likely than {best!r}.")
              for name, q in r.first[1:] if fits(name)]
    prompt = (f"You send {code(r.prompt)} to {r.name} as a chat message (through its chat template). Which token "
              "starts its reply?")
    options, key, why = arrange(right, wrong, rng, context=prompt)
    return Question(
        kind="template-first", topic="generation", inputs={"prompt": r.prompt}, prompt=prompt,
        options=options, key=key, why=why, model=r.model,
        explanation=(f"1. The template made {r.count} tokens of your message and opened the assistant's turn.\n"
                     "2. The model scored every token as the first of its reply; greedy decoding takes the top one."),
        table=Table(("first token", "probability"), tuple((name, f4(q)) for name, q in r.first[:6])),
        explore=(Explore("Open as /template", "template", {"prompt": r.prompt}),), code=r.code,
    )


def _count(r: Reads, rng: random.Random) -> Question:
    """How many tokens the model reads for the message: the template's (and its system prompt's) or, with no
    template, the tokenizer's alone."""
    n, alone, words = r.count, r.alone, len(r.prompt.split())
    if r.templated:
        added = "role markers, the reply's opening" + (" and a default system prompt" if r.system else "")
        right = (n, str(n), f"Right: your {alone} tokens and {n - alone} more the template adds: {added}.")
        others: list[Valued] = [
            (alone, str(alone), f"That is your message alone; the template adds {n - alone} tokens around it."),
            *([(n - r.system, str(n - r.system), f"That leaves out the default system prompt ({r.system} "
                                                 "tokens) the template adds when the messages give none.")]
              if r.system else []),
            (n + 1, str(n + 1), "No end token follows the reply's opening: the reply is still to be written."),
            (words, str(words), "That counts words; the model reads tokens, and the template's too."),
            (n + alone, str(n + alone), "Your message is read once, inside its user turn."),
            (n + 2, str(n + 2), "The template adds its markers once; nothing more comes before the reply."),
        ]
        prompt = (f"You send {code(r.prompt)} to {r.name} as a chat message (through its chat template). How many "
                  "tokens does the model read?")
    else:
        right = (n, str(n), f"Right: {r.name} has no chat template; it reads the {n} tokens its tokenizer makes of "
                            "your words, at positions 0 to " + f"{n - 1}.")
        others = [
            (words, str(words), "That counts words; its tokenizer splits some words and punctuation into more."),
            (n + 1, str(n + 1), "A start token? This tokenizer adds none to your words."),
            (n + 5, str(n + 5), "That is what role markers would add; a model without a chat template has none."),
            (n + 2, str(n + 2), "A start and an end token? This tokenizer adds neither."),
            (n - 1, str(n - 1), "Every token counts, the last included."),
            (words + 1, str(words + 1), "Words plus an end token? It reads tokens, and adds no end token."),
        ]
        prompt = (f"{r.name[:1].upper()}{r.name[1:]} has no chat template. You send it {code(r.prompt)}. How many "
                  "tokens does it read?")
    options, key, why = ranked(right, [o for o in others if o[0] > 0], rng)
    return Question(
        kind="template-first", topic="generation", inputs={"prompt": r.prompt}, prompt=prompt,
        options=options, key=key, why=why, literal=False, model=r.model,
        explanation=(f"1. {r.name} reads {n} tokens for this message; your words alone are {alone}.\n2. /template "
                     "shows each of them with its position, and the model's answer with and without the template."),
        explore=(Explore("Open as /template", "template", {"prompt": r.prompt}),), code=r.code,
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


def _text(text: str) -> Item | None:
    return Item(text.strip()) if text.strip() else None


KINDS = (
    Kind("causal-zeros", "attention", "how many weights a decoder's causal mask sets to 0", "qkv",
         Steps(measure_zeros, causal_zeros), SENTENCES, _text, ("decoder",)),
    Kind("qkv-mask", "attention", "which token wins a decoder head's row after the mask", "qkv",
         Steps(measure_row, qkv_mask), SENTENCES, _text, ("decoder",)),
    Kind("temperature-top", "generation", "the top token's probability at temperature 1.5", "generate",
         Steps(measure_temperature, temperature_top), PROMPTS, _text, ("causal-lm", "chat")),
    Kind("template-first", "generation", "how a chat model's reply starts, and how many tokens it reads", "generate",
         Steps(measure_reads, template_first), MESSAGES, _text, ("causal-lm", "chat")),
)
