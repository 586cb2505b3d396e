"""Exploring /generate: the top 5 candidates at each step (`steps=true`), and sampling instead of
greedy decoding (`temperature=0.7|1.0|1.5` with `seed=N`).

Both run the decoding loop in the open, one token at a time, the way Transformer Explainer shows
it: logits for the next token, divided by the temperature, softmax, the five most likely, then the
choice (the most likely, or a draw with a `torch.Generator` seeded with `seed`). The snippet runs
the same loop, so a sampled text is reproducible: the same seed prints the same text. Draws happen
on the CPU generator whatever the model's device, so the learner's CPU gets the same draws.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.actions import THIS_RUN, Action, Choice
from core.context import TaskContext
from core.errors import UserError
from core.markup import bold, code, plain
from core.models import Loaded
from core.results import Image, Result, Table
from core.tasks.shared.base import next_token_logits
from core.tasks.shared.common import f4, load, model_line, with_output
from core.tasks.shared.decoding import end_sentence, fit, keep_end, positions, stop_ids
from core.tokens import readable_tokens
from core.wording import plural

TOP = 5
MAX_STEPS_SHOWN = 20
"""`steps=true` decodes at most this many tokens: one row of the picture and table each."""
TEMPERATURES = ("0.7", "1.0", "1.5")
"""The temperatures the buttons offer."""
MIN_T, MAX_T = 0.05, 2.0


@dataclass(frozen=True)
class Step:
    """One decoding step: the five most likely next tokens and the one chosen."""

    top: list[tuple[int, float]]
    chosen: int
    probability: float


def temperature_of(raw: Any) -> float | None:
    """The learner's `temperature` as a number, None for greedy; a clear error for anything else."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise UserError(f"`temperature` must be a number such as 0.7, 1.0 or 1.5, not {code(str(raw)[:20])}.") from None
    if not MIN_T <= value <= MAX_T:
        raise UserError(f"`temperature` must be between {MIN_T} and {MAX_T}; you gave {code(str(raw)[:20])}. "
                        "Leave it out for greedy decoding.")
    return value


def explores(args: dict[str, Any]) -> bool:
    """True when a /generate request needs the open loop rather than batched greedy `generate`."""
    return bool(args.get("steps")) or temperature_of(args.get("temperature")) is not None


def run(ctx: TaskContext, args: dict[str, Any]) -> Result:
    temperature = temperature_of(args.get("temperature"))
    loaded = load(ctx, "generate", "causal-lm", "chat")
    wanted = min(args["max_new_tokens"], MAX_STEPS_SHOWN) if args.get("steps") else args["max_new_tokens"]
    ids = loaded.tokenizer(args["prompt"])["input_ids"]
    keep, allowed = fit(len(ids), wanted, positions(loaded))

    kept = keep_end(loaded, args["prompt"], ids, keep)
    decoded = decode(loaded, kept, allowed, temperature, args.get("seed") or 0)
    return _result(loaded, args, decoded, temperature, len(ids), len(kept), allowed)


def decode(loaded: Loaded, ids: list[int], limit: int, temperature: float | None, seed: int) -> list[Step]:
    """Up to `limit` steps of the loop, with the model's cache; stops after an end-of-text token."""
    import torch
    generator = torch.Generator().manual_seed(seed)
    stops = stop_ids(loaded)
    steps: list[Step] = []
    step_ids = torch.tensor([ids])
    cache = None
    for _ in range(limit):
        logits, cache = next_token_logits(loaded, step_ids, cache)
        probs = torch.softmax(logits / temperature if temperature else logits, dim=-1)
        top = probs.topk(TOP)
        chosen = int(torch.multinomial(probs, 1, generator=generator)) if temperature else int(probs.argmax())
        steps.append(Step([(int(i), float(p)) for p, i in zip(top.values, top.indices, strict=True)], chosen,
                          float(probs[chosen])))
        if chosen in stops:
            break
        step_ids = torch.tensor([[chosen]])
    return steps


def _shown(loaded: Loaded, token_ids: list[int]) -> list[str]:
    return readable_tokens(loaded.tokenizer, loaded.tokenizer.convert_ids_to_tokens(token_ids))


def _result(loaded: Loaded, args: dict[str, Any], steps: list[Step], temperature: float | None, prompt_tokens: int,
            kept: int, allowed: int) -> Result:
    prompt, seed, show = args["prompt"], args.get("seed") or 0, bool(args.get("steps"))
    text = loaded.tokenizer.decode([s.chosen for s in steps], skip_special_tokens=True)
    lines = _step_lines(loaded, steps) if show else []
    how = "greedy" if temperature is None else f"sampled at temperature {temperature:g} with seed {seed}"
    answer = f"{plain(prompt)}{bold(plain(text))}" if text.strip() else f"{plain(prompt)} (no new text)"
    answer += f"\n({how}, {plural(len(steps), 'new token')})"
    return Result(
        command="generate",
        answer=answer,
        table=_table(loaded, steps) if show else None,
        images=(_picture(loaded, steps, temperature, seed),) if show else (),
        explanation=_explain(loaded, steps, temperature, seed, prompt_tokens, kept, show, allowed),
        code=with_output(snippet(loaded, prompt, allowed, temperature, seed, show, kept, prompt_tokens),
                         [*lines, text]),
        model=loaded.spec.hub_id,
        notices=_notices(args, allowed, prompt_tokens, kept, show),
        actions=actions(temperature, seed, show),
    )


def _step_lines(loaded: Loaded, steps: list[Step]) -> list[str]:
    out = []
    for n, step in enumerate(steps, start=1):
        names = _shown(loaded, [i for i, _ in step.top])
        chosen = _shown(loaded, [step.chosen])[0]
        out.append(" ".join([str(n), *(f"{t}={f4(p)}" for t, (_, p) in zip(names, step.top, strict=True)),
                             "->", chosen, f4(step.probability)]))
    return out


def _table(loaded: Loaded, steps: list[Step]) -> Table:
    rows = []
    for n, step in enumerate(steps, start=1):
        names = _shown(loaded, [i for i, _ in step.top])
        rows.append((str(n), _shown(loaded, [step.chosen])[0], f4(step.probability),
                     "  ".join(f"{t} {f4(p)}" for t, (_, p) in zip(names, step.top, strict=True))))
    return Table(("step", "chosen", "probability", f"top {TOP} candidates"), tuple(rows))


def _picture(loaded: Loaded, steps: list[Step], temperature: float | None, seed: int) -> Image:
    from core.render.steps import StepRow, render_steps  # matplotlib loads on the first picture

    rows = [StepRow(_shown(loaded, [i for i, _ in s.top]), [p for _, p in s.top],
                    _shown(loaded, [s.chosen])[0], s.probability, [i for i, _ in s.top].index(s.chosen)
                    if s.chosen in [i for i, _ in s.top] else None) for s in steps]
    title = ("Greedy decoding: the 5 most likely next tokens at each step, the chosen one outlined"
             if temperature is None else
             f"Sampling at temperature {temperature:g} (seed {seed}): the 5 most likely, the drawn one outlined")
    first = steps[0] if steps else None
    alt = (f"{len(steps)} rows, one per generated token, each with the 5 most likely next tokens and their "
           "probabilities; the chosen token is outlined."
           + (f" Step 1 chose '{_shown(loaded, [first.chosen])[0]}' with probability {f4(first.probability)}."
              if first else ""))
    return Image(render_steps(rows, title=title), "generate-steps.png", alt[:400])


def _explain(loaded: Loaded, steps: list[Step], temperature: float | None, seed: int, prompt_tokens: int,
             kept: int, show: bool, allowed: int) -> str:
    read = f", and the model read the last {kept} of them" if kept < prompt_tokens else ""
    vocab = loaded.model.config.vocab_size
    parts = [f"Your prompt became {plural(prompt_tokens, 'token')}{read}.",
             f"At each step the model gives every one of its {vocab:,} tokens a logit (a raw score) as the next "
             "token; softmax turns the logits into probabilities that add up to 1."
             + (f" The table and picture show the {TOP} most likely at each step." if show else "")]
    if temperature is None:
        parts.append("Greedy decoding takes the most likely token every time, appends it and repeats: the same "
                     "prompt always gives the same text. Where the top two are close, sampling would most easily "
                     "go another way.")
    else:
        effect = ("sharper: the likely tokens gain and the unlikely lose" if temperature < 1 else
                  "flatter: unlikely tokens gain" if temperature > 1 else "unchanged: the model's own probabilities")
        parts += [
            f"**Temperature {temperature:g}**: every logit is divided by {temperature:g} before softmax, so the "
            f"distribution is {effect}. The tutor draws from the whole distribution (no top-k or top-p cut).",
            f"**Sampling**: instead of taking the most likely token, one token is drawn at random with those "
            f"probabilities. The draws come from a random generator seeded with `seed={seed}`, so the same seed "
            "gives the same text (the snippet sets it and prints this text) and another seed another text.",
            "**Why the text changes**: any draw can pick a less likely token, and every later step continues from "
            "it, so one different draw changes everything after it"
            + (f"; here {_not_top(steps)} of {len(steps)} steps took a token that was not the most likely."
               if steps else "."),
        ]
    ended = bool(steps) and steps[-1].chosen in stop_ids(loaded)
    if ended:
        parts.append(end_sentence(len(steps), allowed))
    return "\n".join(f"{n}. {p}" for n, p in enumerate(parts, start=1))


def _not_top(steps: list[Step]) -> int:
    return sum(1 for s in steps if s.chosen != s.top[0][0])


def _notices(args: dict[str, Any], allowed: int, prompt_tokens: int, kept: int, show: bool) -> tuple[str, ...]:
    notes = []
    if show and args["max_new_tokens"] > MAX_STEPS_SHOWN:
        notes.append(f"`steps=true` shows at most {MAX_STEPS_SHOWN} steps, so this run wrote {MAX_STEPS_SHOWN} new "
                     f"tokens instead of {args['max_new_tokens']}.")
    elif allowed < args["max_new_tokens"]:
        notes.append(f"This model has too few positions for {args['max_new_tokens']} new tokens after your prompt: "
                     f"it wrote at most {allowed}.")
    if kept < prompt_tokens:
        notes.append(f"Your prompt is {plural(prompt_tokens, 'token')}; the model read only the last {kept}, so the "
                     "new tokens fit in its positions (the snippet does the same with `truncation_side=\"left\"`).")
    return tuple(notes)


def actions(temperature: float | None, seed: int, show: bool) -> tuple[Choice, ...]:
    """Sample at each temperature (another seed when already sampling), greedy again, and the steps view."""
    go: list[Choice] = []
    current = f"{temperature:.1f}" if temperature is not None else None
    if temperature is not None:
        go.append(Action.to(f"Sample again (seed {seed + 1})", "generate", style="primary", run=THIS_RUN,
                            seed=seed + 1))
    for t in TEMPERATURES:
        if t != current:
            go.append(Action.to(f"Sample at {t}", "generate", run=THIS_RUN, temperature=t, seed=seed))
    if temperature is not None:
        go.append(Action.to("Greedy", "generate", run=THIS_RUN, temperature=""))
    go.append(Action.to("Text only" if show else f"Top {TOP} at each step", "generate", run=THIS_RUN,
                        steps=str(not show).lower()))
    return tuple(go)


SNIPPET = """{imports}import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

{model}
tokenizer = AutoTokenizer.from_pretrained(MODEL{gguf})
model = AutoModelForCausalLM.from_pretrained(MODEL{gguf})
{readable}{cut}ids = tokenizer({prompt!r}, return_tensors="pt"{truncate})["input_ids"]
eos = model.generation_config.eos_token_id
STOP = {{tokenizer.eos_token_id, *(eos if isinstance(eos, list) else [eos])}} - {{None}}
{generator}new = []
for step in range({limit}):
    with torch.no_grad():
        logits = model(ids).logits[0, -1]  # a score for every token of the vocabulary, as the next one
    probs = torch.softmax(logits{divide}, dim=-1)
    top = probs.topk({top})
    {choose}
{show}    new.append(choice)
    if choice in STOP:
        break
    ids = torch.cat([ids, torch.tensor([[choice]])], dim=1)
print(tokenizer.decode(new, skip_special_tokens=True))"""

SHOW = """    names = [readable(tokenizer, t) for t in tokenizer.convert_ids_to_tokens(top.indices)]
    chosen = readable(tokenizer, tokenizer.convert_ids_to_tokens([choice])[0])
    print(step + 1, *(f"{t}={float(p):.4f}" for t, p in zip(names, top.values)), "->", chosen,
          f"{float(probs[choice]):.4f}")
"""


def snippet(loaded: Loaded, prompt: str, limit: int, temperature: float | None, seed: int, show: bool, kept: int,
            prompt_tokens: int) -> str:
    from core.tasks.compare import READABLE

    cut = kept < prompt_tokens
    sampled = temperature is not None
    gguf = ", gguf_file=GGUF" if loaded.spec.gguf_file else ""
    return SNIPPET.format(
        imports="import re\n\n" if show else "", model=model_line(loaded), gguf=gguf,
        cut='tokenizer.truncation_side = "left"  # keep the end of the prompt: the new tokens continue it\n'
            if cut else "",
        truncate=f", truncation=True, max_length={kept}" if cut else "", prompt=prompt, limit=limit, top=TOP,
        generator=f"generator = torch.Generator().manual_seed({seed})  # the same seed, the same draws\n"
                  if sampled else "",
        divide=f" / {temperature:g}" if sampled else "",
        choose=("choice = int(torch.multinomial(probs, 1, generator=generator))  # a random draw"
                if sampled else "choice = int(probs.argmax())  # greedy: the most likely"),
        show=SHOW if show else "", readable=READABLE.lstrip("\n") + "\n\n" if show else "",
    )
