"""/nexttoken: from the logits of the next token to the token chosen, on the learner's prompt.

One forward pass gives a logit for every token of the vocabulary. The answer follows them through
the steps `generate(do_sample=True)` takes, with transformers' own warpers in its order:
softmax (T = 1), temperature (logits divided by T), top-k, top-p, renormalised. Then three decodings
of the same prompt: greedy (`do_sample=False, num_beams=1`, whatever the model's generation config
says), sampling with those settings, and beam search.

Sampling runs the decoding loop here, on the CPU generator seeded with `seed`, so a GPU gives the same
draws as the learner's CPU; a test holds the loop to `model.generate(do_sample=True)` under
`torch.manual_seed(seed)`, which is what the snippet runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.actions import THIS_RUN, Action, Choice
from core.context import TaskContext
from core.errors import UserError
from core.markup import bold, code, plain
from core.models import Loaded
from core.results import Image, Result, Table
from core.tasks.shared.base import generate, next_token_logits
from core.tasks.shared.common import f4, load, model_line, with_output
from core.tasks.shared.decoding import fit, positions, stop_ids
from core.tasks.shared.steps import temperature_of
from core.tokens import readable_tokens
from core.wording import plural

if TYPE_CHECKING:  # pragma: no cover
    import torch

SHOWN = 6
"""Candidates in the table and the picture: the most likely at T = 1."""
TEMPERATURES = ("0.7", "1.0", "1.5")


@dataclass(frozen=True)
class Settings:
    temperature: float
    top_k: int
    """0: no top-k."""
    top_p: float
    """1.0: no top-p."""

    def warpers(self) -> Any:
        """transformers' own warpers, in the order `generate(do_sample=True)` applies them."""
        from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

        chain: list[Any] = []
        if self.temperature != 1.0:
            chain.append(TemperatureLogitsWarper(self.temperature))
        if self.top_k:
            chain.append(TopKLogitsWarper(self.top_k))
        if self.top_p < 1.0:
            chain.append(TopPLogitsWarper(self.top_p))
        return LogitsProcessorList(chain)

    def final(self, ids: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """The distribution sampling draws from: the warped logits, softmaxed."""
        import torch
        return torch.softmax(self.warpers()(ids, logits[None].clone())[0], dim=-1)


@dataclass(frozen=True)
class Next:
    """The next-token distribution of one prompt, at each stage."""

    logits: torch.Tensor
    plain: torch.Tensor
    """softmax(logits): T = 1."""
    warm: torch.Tensor
    """softmax(logits / T)."""
    after_k: torch.Tensor
    """softmax after temperature and top-k (renormalised over what top-k kept)."""
    final: torch.Tensor
    """after temperature, top-k and top-p: what sampling draws from."""

    @property
    def kept_k(self) -> int:
        return int((self.after_k > 0).sum())

    @property
    def kept(self) -> int:
        return int((self.final > 0).sum())

    def top(self, count: int = SHOWN) -> list[int]:
        return [int(i) for i in self.plain.topk(count).indices]


def top_probability(logits: torch.Tensor, temperature: float) -> float:
    """The most likely token's probability at `temperature` (the same token at every temperature)."""
    import torch
    return float(torch.softmax(logits / temperature, dim=-1).max())


def parse(args: dict[str, Any]) -> Settings:
    temperature = temperature_of(args.get("temperature"))
    top_p = _top_p(args.get("top_p"))
    return Settings(1.0 if temperature is None else temperature, args.get("top_k") or 0, top_p)


def _top_p(raw: Any) -> float:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return 1.0
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise UserError(f"`top_p` must be a number between 0.05 and 1.0 such as 0.9, not {code(str(raw)[:20])}.") \
            from None
    if not 0.05 <= value <= 1.0:
        raise UserError(f"`top_p` must be between 0.05 and 1.0 (1.0 keeps everything); you gave {code(str(raw)[:20])}.")
    return value


def prompt_ids(loaded: Loaded, prompt: str, new: int) -> tuple[list[int], int]:
    """The prompt's token ids, cut at the start to leave room for `new` tokens, and how many new fit."""
    ids = loaded.tokenizer(prompt)["input_ids"]
    if not ids:
        raise UserError("This prompt gives no tokens; please type a few words.")
    keep, allowed = fit(len(ids), new, positions(loaded))
    from core.tasks.shared.decoding import keep_end  # the same cut as /generate: the end of the prompt stays

    return keep_end(loaded, prompt, ids, keep), allowed


def next_of(loaded: Loaded, ids: list[int], settings: Settings) -> Next:
    import torch
    logits, _ = next_token_logits(loaded, torch.tensor([ids]), None)
    prompt = torch.tensor([ids])
    after_k = Settings(settings.temperature, settings.top_k, 1.0).final(prompt, logits)
    return Next(logits, torch.softmax(logits, dim=-1), torch.softmax(logits / settings.temperature, dim=-1), after_k,
                settings.final(prompt, logits))


def sample(loaded: Loaded, ids: list[int], settings: Settings, limit: int, seed: int) -> list[int]:
    """What `torch.manual_seed(seed); model.generate(do_sample=True, ...)` writes on a CPU: the same
    warpers, the same draws (a CPU generator, whatever the model's device)."""
    import torch
    generator = torch.Generator().manual_seed(seed)
    stops, warp = stop_ids(loaded), settings.warpers()
    seen, step, cache, new = torch.tensor([ids]), torch.tensor([ids]), None, []
    for _ in range(limit):
        logits, cache = next_token_logits(loaded, step, cache)
        probs = torch.softmax(warp(seen, logits[None])[0], dim=-1)
        chosen = int(torch.multinomial(probs, 1, generator=generator))
        new.append(chosen)
        if chosen in stops:
            break
        seen = torch.cat([seen, torch.tensor([[chosen]])], dim=1)
        step = torch.tensor([[chosen]])
    return new


def decoded(loaded: Loaded, ids: list[int], limit: int, beams: int) -> list[int]:
    """Greedy (`beams=1`) or beam search: `generate` with `do_sample=False`, cut after an end token."""
    import torch
    pad = next(t for t in (loaded.tokenizer.pad_token_id, loaded.tokenizer.eos_token_id, 0) if t is not None)
    inputs = {"input_ids": torch.tensor([ids]), "attention_mask": torch.ones(1, len(ids), dtype=torch.long)}
    out = generate(loaded, inputs, do_sample=False, num_beams=beams, max_new_tokens=limit, pad_token_id=pad)
    row = out[0, len(ids):].tolist()
    stops = stop_ids(loaded)
    end = next((k for k, token in enumerate(row) if token in stops), None)
    return row if end is None else row[:end + 1]


@dataclass(frozen=True)
class Decoded:
    """One /nexttoken run without its picture: the distribution, the three decodings and the snippet."""

    loaded: Loaded
    prompt: str
    settings: Settings
    ids: list[int]
    limit: int
    nxt: Next
    seed: int
    beams: int
    texts: dict[str, str]
    cut: bool
    """The prompt was cut at the start to fit the model's positions."""

    @property
    def top(self) -> list[int]:
        return self.nxt.top()

    @property
    def shown(self) -> list[str]:
        tok = self.loaded.tokenizer
        return readable_tokens(tok, tok.convert_ids_to_tokens(self.top))

    @property
    def code(self) -> str:
        return with_output(snippet(self.loaded, self.prompt, self.settings, self.limit, self.seed, self.beams,
                                   len(self.ids) if self.cut else None),
                           printed(self.nxt, self.shown, self.top, self.texts))


def decode(ctx: TaskContext, args: dict[str, Any]) -> Decoded:
    """Everything /nexttoken shows, for validated `args`, but the picture."""
    settings = parse(args)
    loaded = load(ctx, "generate", "causal-lm", "chat")
    ids, limit = prompt_ids(loaded, args["prompt"], args["max_new_tokens"])
    nxt = next_of(loaded, ids, settings)
    seed, beams = args.get("seed") or 0, args["beams"]
    texts = {name: loaded.tokenizer.decode(new, skip_special_tokens=True) for name, new in (
        ("greedy", decoded(loaded, ids, limit, 1)), ("sampled", sample(loaded, ids, settings, limit, seed)),
        (f"{beams} beams", decoded(loaded, ids, limit, beams)))}
    cut = len(ids) < len(loaded.tokenizer(args["prompt"])["input_ids"])
    return Decoded(loaded, args["prompt"], settings, ids, limit, nxt, seed, beams, texts, cut)


def run(ctx: TaskContext, args: dict[str, Any]) -> Result:
    d = decode(ctx, args)
    nxt, settings, shown, top, limit = d.nxt, d.settings, d.shown, d.top, d.limit
    return Result(
        command="nexttoken",
        answer=_answer(d.prompt, nxt, settings, shown, d.texts, d.seed),
        table=_table(nxt, settings, shown, top),
        images=(_picture(nxt, settings, shown, top),),
        explanation=_explain(d.loaded, nxt, settings, shown[0], d.beams, d.seed),
        code=d.code,
        model=d.loaded.spec.label,
        notices=((f"Your prompt is longer than this model's positions allow with {plural(limit, 'new token')}: it read "
                  f"the last {plural(len(d.ids), 'token')}.",) if d.cut else ()),
        actions=_actions(settings, d.seed),
    )


def _table(nxt: Next, s: Settings, shown: list[str], top: list[int]) -> Table:
    """One row per candidate; the column at the learner's temperature only when it is not 1 (it would repeat T = 1)."""
    warmed = s.temperature != 1
    rows = tuple((name, f"{nxt.logits[i]:.2f}", f4(nxt.plain[i]), *((f4(nxt.warm[i]),) if warmed else ()),
                  "yes" if nxt.final[i] > 0 else "no", f4(nxt.final[i])) for name, i in zip(shown, top, strict=True))
    return Table(("token", "logit", "T = 1", *((f"T = {s.temperature:g}",) if warmed else ()), "kept", "final"), rows)


def _answer(prompt: str, nxt: Next, s: Settings, shown: list[str], texts: dict[str, str], seed: int) -> str:
    first = code(shown[0])
    filters = [f"top-k = {s.top_k} kept {plural(nxt.kept_k, 'token')}" if s.top_k else "",
               (f"top-p = {s.top_p:g} kept {nxt.kept} of them" if s.top_k else
                f"top-p = {s.top_p:g} kept {plural(nxt.kept, 'token')}") if s.top_p < 1 else ""]
    said = ", then ".join(f for f in filters if f) or "no top-k or top-p: every token stays in the draw"
    at = (f"at T = 1 and {f4(float(nxt.warm.max()))} at T = {s.temperature:g}" if s.temperature != 1 else
          "at T = 1, the temperature that leaves the logits as they are")
    head = (f"After {code(lead(prompt, 24))}, the top token {first} has {f4(float(nxt.plain.max()))} {at}. "
            f"{said[0].upper()}{said[1:]}.")
    lines = [f"{name.capitalize() if name != 'sampled' else f'Sampled (seed {seed})'}: {continued(prompt, text, 24)}"
             for name, text in texts.items()]
    return head + "\n" + "\n".join(lines)


def lead(prompt: str, chars: int = 40) -> str:
    """The prompt before a continuation in an answer: whole when short, else its last words after "…"
    (the answer names the whole prompt once, and a phone shows one message)."""
    if len(prompt) <= chars:
        return prompt
    tail = prompt[-chars:]
    return "…" + (tail.split(" ", 1)[1] if " " in tail[:-1] else tail)


def continued(prompt: str, text: str, chars: int = 40) -> str:
    """The prompt's lead and the continuation in bold; with none, the prompt as code and "+ nothing", so that
    the prompt is never read as what the model wrote."""
    if text.strip():
        return plain(lead(prompt, chars)) + bold(plain(one_line(text)))
    return f"{code(lead(prompt, chars).strip())} + nothing: it ended at once"


def one_line(text: str) -> str:
    """A generated text on one line of the answer: each line break shown as ↵."""
    return text.replace("\r\n", "\n").replace("\n", " \u21b5 ")


def _explain(loaded: Loaded, nxt: Next, s: Settings, first: str, beams: int, seed: int) -> str:
    t = s.temperature
    effect = "flattens" if t > 1 else "sharpens" if t < 1 else "keeps"
    kept = ((f"top-k = {s.top_k} keeps the {s.top_k} most likely" if s.top_k else "no top-k")
            + (f", top-p = {s.top_p:g} the fewest whose probabilities reach {s.top_p:g} (here {nxt.kept})"
               if s.top_p < 1 else ", no top-p"))
    steps = [f"Each of the {len(nxt.logits):,} tokens got a logit; softmax made them probabilities (T = 1).",
             f"Temperature: logits / {t:g} before softmax; T = {t:g} {effect} the distribution (above 1 flattens, "
             f"below 1 sharpens), and {code(first)} stays on top.",
             f"{kept[0].upper()}{kept[1:]}; the rest get 0 and the kept ones are renormalised (final).",
             "Greedy (`do_sample=False, num_beams=1`, whatever the generation_config says) takes the top token "
             f"each time; sampling draws from the final column (seed {seed} repeats it); beam search "
             f"(`num_beams={beams}`) keeps the {beams} likeliest sequences and returns the best."]
    return "\n".join(f"{n}. {step}" for n, step in enumerate(steps, start=1))


def _picture(nxt: Next, s: Settings, shown: list[str], top: list[int]) -> Image:
    from core.render.bars import Stage, render_bars  # matplotlib loads on the first picture

    warmed = s.temperature != 1  # at T = 1 a second stage would repeat the first
    stages = (Stage("T = 1", [float(nxt.plain[i]) for i in top]),
              *((Stage(f"T = {s.temperature:g}", [float(nxt.warm[i]) for i in top]),) if warmed else ()),
              Stage("after top-k and top-p", [float(nxt.final[i]) for i in top]))
    png = render_bars(shown, stages,
                      title=f"The next token: the {len(top)} most likely, through temperature, top-k and top-p",
                      dropped=[not nxt.final[i] > 0 for i in top])
    first = top[0]
    through = (f"at T = 1, at T = {s.temperature:g}, and after top-k and top-p" if warmed else
               "at T = 1 and after top-k and top-p")
    start = (f"goes from {f4(float(nxt.plain[first]))} to {f4(float(nxt.warm[first]))}" if warmed else
             f"has {f4(float(nxt.plain[first]))} at T = 1")
    alt = (f"Bars for the {len(top)} most likely next tokens, {len(stages)} per token: the probability {through}. "
           f"The top token '{shown[0]}' {start} and ends at {f4(float(nxt.final[first]))}.")
    return Image(png, "nexttoken.png", alt[:400])


def printed(nxt: Next, shown: list[str], top: list[int], texts: dict[str, str]) -> list[str]:
    lines = [f"kept {nxt.kept}"]
    lines += [f"{s} {nxt.logits[i]:.2f} {f4(nxt.plain[i])} {f4(nxt.warm[i])} {f4(nxt.final[i])}"
              for s, i in zip(shown, top, strict=True)]
    return lines + [f"{name}: {text}" for name, text in texts.items()]


def _actions(s: Settings, seed: int) -> tuple[Choice, ...]:
    go: list[Choice] = [Action.to(f"T = {t}", "nexttoken", run=THIS_RUN, temperature=t)
                        for t in TEMPERATURES if float(t) != s.temperature]
    go.append(Action.to(f"Sample again (seed {seed + 1})", "nexttoken", run=THIS_RUN, seed=seed + 1))
    if s.top_p < 1.0:
        go.append(Action.to("No top-p", "nexttoken", run=THIS_RUN, top_p="1.0"))
    if s.top_k:
        go.append(Action.to("No top-k", "nexttoken", run=THIS_RUN, top_k=0))
    return tuple(go)


SNIPPET = """import re

import torch
from transformers import (AutoModelForCausalLM, AutoTokenizer, LogitsProcessorList, TemperatureLogitsWarper,
                          TopKLogitsWarper, TopPLogitsWarper)

{model}
tokenizer = AutoTokenizer.from_pretrained(MODEL{gguf})
model = AutoModelForCausalLM.from_pretrained(MODEL{gguf})
{readable}{cut}inputs = tokenizer({prompt!r}, return_tensors="pt"{truncate})
with torch.no_grad():
    logits = model(**inputs).logits[0, -1]  # one score per vocabulary token, for the next position
# What generate(do_sample=True) applies to the logits, in its order:
warp = LogitsProcessorList([{warpers}])
final = torch.softmax(warp(inputs["input_ids"], logits[None])[0], dim=-1)
print("kept", int((final > 0).sum()))
plain, warm = torch.softmax(logits, dim=-1), torch.softmax(logits / {temperature}, dim=-1)
for i in plain.topk({shown}).indices:
    token = readable(tokenizer, tokenizer.convert_ids_to_tokens(int(i)))
    print(token, f"{{logits[i]:.2f}}", f"{{plain[i]:.4f}}", f"{{warm[i]:.4f}}", f"{{final[i]:.4f}}")
settings = dict(max_new_tokens={limit}, pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
runs = {{"greedy": dict(do_sample=False, num_beams=1), "sampled": dict(do_sample=True, {sampling}),
        "{beams} beams": dict(do_sample=False, num_beams={beams})}}
for name, how in runs.items():
    torch.manual_seed({seed})  # the draws of "sampled"
    out = model.generate(**inputs, **how, **settings)
    print(f"{{name}}: " + tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True))"""


def snippet(loaded: Loaded, prompt: str, s: Settings, limit: int, seed: int, beams: int, kept: int | None) -> str:
    from core.tasks.compare import READABLE

    warpers = ", ".join([f"TemperatureLogitsWarper({s.temperature:g})"] * (s.temperature != 1.0)
                        + [f"TopKLogitsWarper({s.top_k})"] * bool(s.top_k)
                        + [f"TopPLogitsWarper({s.top_p:g})"] * (s.top_p < 1.0))
    return SNIPPET.format(
        model=model_line(loaded), gguf=", gguf_file=GGUF" if loaded.spec.gguf_file else "",
        readable=READABLE.lstrip("\n") + "\n\n", prompt=prompt, warpers=warpers, temperature=f"{s.temperature:g}",
        cut='tokenizer.truncation_side = "left"  # keep the end of the prompt: the new tokens continue it\n'
            if kept else "",
        truncate=f", truncation=True, max_length={kept}" if kept else "", shown=SHOWN, limit=limit, seed=seed,
        beams=beams, sampling=f"temperature={s.temperature:g}, top_k={s.top_k}, top_p={s.top_p:g}")
