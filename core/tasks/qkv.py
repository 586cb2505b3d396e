"""/qkv: one attention head of the pack's decoder, computed by hand from the model's own weights.

For one layer and head: the layer's input (the hidden state after the layer's own norm), its queries,
keys and values (GPT-2: one fused `c_attn` Conv1D, split in three; Llama-style models such as SmolLM2:
`q_proj`, `k_proj`, `v_proj`, with fewer key/value heads than query heads (grouped-query attention)
and rotary position embeddings turning q and k), the scores q·k times the model's scale (1/√d), the
causal mask (-inf above the diagonal), softmax. The result is the map the model itself returns with
`output_attentions=True` (eager attention), to within floating-point error: a test holds every pack
to 1e-5.

The arithmetic runs on the CPU, on detached float32 copies of the weights and of the hidden states
(`core.tasks.shared.base.forward` brings those back), so it reads the same on any device. `choose` picks a
head and a token worth looking at: a clear winner in the row, and a later token that would have won
without the mask.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core import tiny
from core.actions import THIS_RUN, Action, Choice
from core.context import TaskContext
from core.errors import UserError
from core.markup import code
from core.models import Loaded
from core.packs import SMOLLM2, Offline, TaskModel
from core.results import Image, Result, Table
from core.tasks.shared.base import forward, to_cpu
from core.tasks.shared.common import and_list, f4, load, model_line, truncation_notice, with_output
from core.tokens import readable_tokens
from core.wording import plural

if TYPE_CHECKING:  # pragma: no cover
    import torch

MODEL = TaskModel(roles=("decoder",), hub="openai-community/gpt2", tiny=tiny.GPT2, offline=Offline(SMOLLM2, "decoder"),
                  hub_classes=("GPT2LMHeadModel", "GPT2Tokenizer"))
"""The pack's causal model, loaded with eager attention so that it returns its attention weights."""

MARGIN = 0.05
"""A row is worth a question when its largest weight leads the next by at least this much."""
EXACT = 1e-5
"""The hand computation must equal the model's map to within this (floating-point error)."""
NEG_INF, TIMES = "\u2212\u221e", "\u00d7"
"""What a learner reads for minus infinity and for a product."""
MAX_ROWS = 10
"""The table shows at most this many keys of the chosen row."""


@dataclass(frozen=True)
class Reading:
    """One forward pass of the decoder over a text, with what each layer read."""

    loaded: Loaded
    text: str
    raw: list[str]
    shown: list[str]
    hidden: tuple[torch.Tensor, ...]
    """`hidden[L]`: the input of layer L, (n, hidden size), before the layer's norm."""
    attentions: np.ndarray
    """The model's own maps, (layers, heads, n, n)."""
    notice: str | None

    @property
    def n(self) -> int:
        return len(self.raw)

    @property
    def layers(self) -> int:
        return int(self.attentions.shape[0])

    @property
    def heads(self) -> int:
        return int(self.attentions.shape[1])

    def label(self, j: int) -> str:
        """A token as an option or a table cell: with its position when the same token appears twice."""
        return f"{self.shown[j]} ({j})" if self.shown.count(self.shown[j]) > 1 else self.shown[j]


@dataclass(frozen=True)
class Projected:
    """One layer's queries, keys and values for every query head, (heads, n, d): k and v repeated for
    the query heads that share them."""

    q: torch.Tensor
    k: torch.Tensor
    v: torch.Tensor
    scale: float
    groups: int
    """Query heads per key/value head: 1 for GPT-2, 3 for SmolLM2 (9 query heads, 3 key/value heads)."""
    rotary: bool

    def scores(self) -> torch.Tensor:
        """q·k times the scale, for every head: (heads, n, n)."""
        return (self.q @ self.k.transpose(1, 2)) * self.scale


@dataclass(frozen=True)
class Head:
    """One head's steps, each kept for the pictures and the table."""

    layer: int
    head: int
    kv_head: int
    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    scale: float
    scores: np.ndarray
    """q·k times the scale, before the mask: (n, n)."""
    weights: np.ndarray
    """softmax(scores + mask): the hand-computed map."""
    model: np.ndarray
    """The model's own map for this head (`output_attentions`)."""
    rotary: bool
    groups: int

    @property
    def difference(self) -> float:
        return float(np.abs(self.weights - self.model).max())

    @property
    def d(self) -> int:
        return int(self.q.shape[1])


@dataclass(frozen=True)
class Pick:
    """Which head and which token's row to show, and the later token the mask stopped, if any."""

    layer: int
    head: int
    token: int
    trap: int | None
    chosen: tuple[str, ...]
    """What the tutor chose ("layer", "head", "token"): what the learner left open."""


def short_name(loaded: Loaded) -> str:
    """How an answer names a model: its Hub name, or what a tiny test model is a twin of."""
    if loaded.spec.tiny is not None:
        return f"the tiny {loaded.spec.tiny.shape} twin"
    return loaded.spec.hub_id.split("/")[-1]


def read(loaded: Loaded, text: str) -> Reading:
    """The tokens, every layer's input and the model's maps, in one forward pass."""
    import torch
    _, notice = truncation_notice(loaded, text)
    inputs = loaded.tokenizer(text, truncation=True, return_tensors="pt")
    if inputs["input_ids"].shape[1] == 0:
        raise UserError("This text gives no tokens to look at; please type a few words.")
    out = forward(loaded, inputs, output_attentions=True, output_hidden_states=True)
    if not out.attentions or out.attentions[0] is None:
        raise UserError(f"{loaded.spec.label} returned no attention weights (it must run with eager attention).")
    raw = loaded.tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    hidden = tuple(h[0] for h in out.hidden_states)
    every = torch.stack([a[0] for a in out.attentions]).numpy()
    return Reading(loaded, text, raw, readable_tokens(loaded.tokenizer, raw), hidden, every, notice)


def project(reading: Reading, layer: int) -> Projected:
    """Layer `layer`'s queries, keys and values, as the model computes them."""
    model = reading.loaded.model
    if _is_gpt2(model):
        return _gpt2(model, layer, reading.hidden[layer])
    if _is_llama(model):
        return _llama(model, layer, reading.hidden[layer])
    raise UserError(f"/qkv knows GPT-2 and Llama-style decoders (such as SmolLM2); {reading.loaded.spec.label} "
                    f"is a {type(model).__name__}.")


def _is_gpt2(model: Any) -> bool:
    blocks = getattr(getattr(model, "transformer", None), "h", None)
    return blocks is not None and hasattr(blocks[0], "ln_1") and hasattr(blocks[0].attn, "c_attn")


def _is_llama(model: Any) -> bool:
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    if layers is None or not hasattr(inner, "rotary_emb"):
        return False
    attn = layers[0].self_attn
    return hasattr(attn, "q_proj") and not hasattr(attn, "q_norm") and \
        hasattr(layers[0].input_layernorm, "variance_epsilon")


def _heads(x: torch.Tensor, d: int) -> torch.Tensor:
    """(n, heads * d) -> (heads, n, d)."""
    return x.view(x.shape[0], -1, d).transpose(0, 1)


def _gpt2(model: Any, layer: int, h: torch.Tensor) -> Projected:
    """GPT-2: LayerNorm `ln_1`, then one Conv1D (`x @ W + b`, W of shape (E, 3E)) gives q, k and v."""
    import torch
    import torch.nn.functional as F
    block = model.transformer.h[layer]
    width = h.shape[-1]
    x = F.layer_norm(h, (width,), to_cpu(block.ln_1.weight), to_cpu(block.ln_1.bias), block.ln_1.eps)
    fused = torch.addmm(to_cpu(block.attn.c_attn.bias), x, to_cpu(block.attn.c_attn.weight))
    d = width // model.config.n_head
    q, k, v = (_heads(t, d) for t in fused.split(width, dim=-1))
    return Projected(q, k, v, float(block.attn.scaling), 1, rotary=False)


def _llama(model: Any, layer: int, h: torch.Tensor) -> Projected:
    """Llama-style: RMSNorm `input_layernorm`, three projections, rotary positions on q and k, and each
    key/value head shared by `num_key_value_groups` query heads."""
    import torch
    import torch.nn.functional as F
    block = model.model.layers[layer]
    attn, norm = block.self_attn, block.input_layernorm
    x = to_cpu(norm.weight) * (h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + norm.variance_epsilon))
    d = attn.head_dim
    q, k, v = (_heads(F.linear(x, to_cpu(p.weight), None if p.bias is None else to_cpu(p.bias)), d)
               for p in (attn.q_proj, attn.k_proj, attn.v_proj))
    rotary = model.model.rotary_emb
    freqs = torch.arange(h.shape[0], dtype=torch.float32)[:, None] * to_cpu(rotary.inv_freq)[None, :]
    angles = torch.cat((freqs, freqs), dim=-1)
    cos, sin = angles.cos() * rotary.attention_scaling, angles.sin() * rotary.attention_scaling
    q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
    groups = attn.num_key_value_groups
    return Projected(q, k.repeat_interleave(groups, dim=0), v.repeat_interleave(groups, dim=0),
                     float(attn.scaling), groups, rotary=True)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """(x1, x2) -> (-x2, x1) over the last dimension's two halves: the rotation rotary embeddings use."""
    import torch
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def causal_mask(n: int) -> torch.Tensor:
    """0 on and below the diagonal, -inf above it: token i may look at tokens 0..i only."""
    import torch
    return torch.full((n, n), float("-inf")).triu(1)


def head_of(reading: Reading, layer: int, head: int, projected: Projected | None = None) -> Head:
    import torch
    p = projected or project(reading, layer)
    scores = p.scores()[head]
    weights = torch.softmax(scores + causal_mask(reading.n), dim=-1)
    return Head(layer, head, head // p.groups, p.q[head].numpy(), p.k[head].numpy(), p.v[head].numpy(), p.scale,
                scores.numpy(), weights.numpy(), reading.attentions[layer, head], p.rotary, p.groups)


def check_range(reading: Reading, layer: int | None, head: int | None, token: int | None) -> None:
    """A clear refusal for a layer, head or token the model or the text does not have."""
    for name, value, count, what in (("layer", layer, reading.layers, plural(reading.layers, "layer")),
                                     ("head", head, reading.heads, f"{plural(reading.heads, 'head')} per layer"),
                                     ("token", token, reading.n, plural(reading.n, "token"))):
        if value is not None and value >= count:
            whose = "Your text has" if name == "token" else "This model has"
            allowed = "be 0" if count == 1 else f"be between 0 and {count - 1}"
            raise UserError(f"{whose} {what}: `{name}` must {allowed}; you gave {value}.")


def choose(reading: Reading, layer: int | None = None, head: int | None = None,
           token: int | None = None) -> Pick:
    """The head and row to show, among those the learner left open: a row whose largest weight leads
    by at least `MARGIN`, best where a later token scores highest before the mask (the mask changes the
    winner) and the winner is neither the first token (a common resting place) nor the token itself.
    Without such a row: layer 0, head 0 and the token a third of the way in, for whatever was left open."""
    check_range(reading, layer, head, token)
    best: tuple[tuple[Any, ...], Pick] | None = None
    for at in ([layer] if layer is not None else range(reading.layers)):
        scores = project(reading, at).scores().numpy()
        for h in ([head] if head is not None else range(reading.heads)):
            for i in ([token] if token is not None else range(2, reading.n - 1)):
                rank = _rank(scores[h, i], reading.attentions[at, h, i], i)
                if rank is not None and (best is None or rank[0] > best[0]):
                    best = rank[0], Pick(at, h, i, rank[1], chosen=())
    chosen = tuple(name for name, given in (("layer", layer), ("head", head), ("token", token)) if given is None)
    if best is not None:
        return Pick(best[1].layer, best[1].head, best[1].token, best[1].trap, chosen)
    return Pick(layer or 0, head or 0, token if token is not None else min(reading.n - 1, max(1, reading.n // 3)),
                None, chosen)


def _rank(scores: np.ndarray, weights: np.ndarray, i: int) -> tuple[tuple[Any, ...], int | None] | None:
    """How good row `i` is to show (None: no clear winner), and its trap (a later token out-scoring
    every visible one)."""
    seen = weights[: i + 1]
    if len(seen) < 2:
        return None
    order = np.argsort(-seen, kind="stable")
    margin = float(seen[order[0]] - seen[order[1]])
    if margin < MARGIN:
        return None
    top = int(np.argmax(scores))
    trap = top if top > i else None
    winner = int(order[0])
    return (trap is not None, winner not in (0, i), winner != i, round(margin, 3)), trap


# ----- the command -----
def run(ctx: TaskContext, args: dict[str, Any]) -> Result:
    loaded = load(ctx, "qkv")
    reading = read(loaded, args["text"])
    pick = choose(reading, args.get("layer"), args.get("head"), args.get("token"))
    head = head_of(reading, pick.layer, pick.head)
    keys = shown_keys(reading.n, head.weights[pick.token], pick.token)
    return Result(
        command="qkv",
        answer=_answer(reading, head, pick),
        table=_table(reading, head, pick.token, keys),
        images=_pictures(reading, head, pick.token),
        explanation=_explain(reading, head, pick),
        code=code_of(reading, head, pick.token),
        model=loaded.spec.label,
        notices=tuple(n for n in (reading.notice, _cut(reading.n, keys, pick.token)) if n),
        actions=_actions(reading, pick),
    )


def code_of(reading: Reading, head: Head, token: int) -> str:
    """The snippet of /qkv for this head and row, with what it prints."""
    keys = shown_keys(reading.n, head.weights[token], token)
    return with_output(snippet(reading, head, token, keys), printed(reading, head, token, keys))


def bound(difference: float) -> str:
    """The largest difference as a bound that reads the same on any device (a GPU's float32 rounds
    differently from a CPU's, well inside 1e-6): `below 1e-6`."""
    for power in (6, 5):
        if difference < 10.0 ** -power:
            return f"below 1e-{power}"
    return f"{difference:.1e}"


def winner(head: Head, token: int) -> int:
    return int(np.argmax(head.weights[token]))


def _whose_pick(pick: Pick) -> str:
    """What the tutor chose, and why, in brackets: only what the learner left open (`token=5` is theirs)."""
    if not pick.chosen:
        return ""
    what = "" if len(pick.chosen) == 3 else f"{and_list(list(pick.chosen))}: "
    reason = ": the mask changes this row's winner" if pick.trap is not None else ""
    return f" ({what}the tutor's pick{reason})"


def _answer(reading: Reading, head: Head, pick: Pick) -> str:
    i, best = pick.token, winner(head, pick.token)
    me = code(reading.shown[i])
    why = _whose_pick(pick)
    same = "equals" if head.difference < EXACT else "differs from"
    trap = (f"; {code(reading.label(pick.trap))} scores higher ({head.scores[i, pick.trap]:.2f}) but comes later, so "
            "the mask gives it 0" if pick.trap is not None else "")
    return (f"**Layer {head.layer}, head {head.head}**, token {i} {me}{why}. By hand, softmax(Q Kᵀ/√{head.d} + mask) "
            f"{same} the model's own map (largest difference {bound(head.difference)}). {me} looks most at "
            f"{code(reading.label(best))} ({f4(head.weights[i, best])}){trap}. The mask hid "
            + (f"the {plural(reading.n - 1 - i, 'token')} after it." if i < reading.n - 1 else "nothing: it is last."))


def shown_keys(n: int, weights: np.ndarray, token: int) -> list[int]:
    """The keys of `token`'s row the table shows: all of them, or the strongest visible ones and the
    first later ones, in position order."""
    if n <= MAX_ROWS:
        return list(range(n))
    later = list(range(token + 1, n))[:3]
    room = MAX_ROWS - len(later)
    seen = sorted(range(token + 1), key=lambda j: -weights[j])[:room]
    return sorted(seen) + later


def _cut(n: int, keys: list[int], token: int) -> str | None:
    if len(keys) == n:
        return None
    later = sum(1 for j in keys if j > token)
    return (f"The table shows {len(keys)} of the {n} keys: the {len(keys) - later} strongest it sees, the first "
            f"{later} after it.")


def _table(reading: Reading, head: Head, token: int, keys: list[int]) -> Table:
    rows = []
    for j in keys:
        hidden = j > token
        rows.append((f"{j} {reading.shown[j]}", f"{head.scores[token, j]:.4f}", NEG_INF if hidden else "0",
                     f4(head.weights[token, j]), f4(head.model[token, j])))
    return Table(("key", "q·k/√d", "mask", "weight", "model's"), tuple(rows))


def printed(reading: Reading, head: Head, token: int, keys: list[int]) -> list[str]:
    """What the snippet prints: the check, then the table's rows."""
    lines = [f"equal to output_attentions: {head.difference < EXACT}"]
    for j in keys:
        lines.append(f"{j} {reading.shown[j]} {head.scores[token, j]:.4f} {f4(head.weights[token, j])} "
                     f"{f4(head.model[token, j])}")
    best = winner(head, token)
    lines.append(f"masked: {reading.n - 1 - token} of {reading.n} keys; most attention: {reading.shown[best]} ({best})")
    return lines


def _explain(reading: Reading, head: Head, pick: Pick) -> str:
    config = reading.loaded.model.config
    i, d, heads, later = pick.token, head.d, reading.heads, reading.n - 1 - pick.token
    before = f"layer {head.layer - 1}'s output" if head.layer else "the token embeddings"
    if head.rotary:
        steps = [f"Input: {before}, through this layer's RMSNorm ({config.hidden_size} numbers per token).",
                 f"`q_proj`: {heads} query heads of {d} numbers; `k_proj`, `v_proj`: {heads // head.groups} key/value "
                 f"heads, so head {head.head} shares key/value head {head.kv_head} (grouped-query attention).",
                 "Rotary embeddings turn q and k by angles that grow with the position: q·k depends on the tokens' "
                 "distance."]
        output = "`o_proj`"
    else:
        if not head.layer:
            before = "the token plus position embeddings"
        steps = [f"Input: {before}, through LayerNorm `ln_1` ({config.n_embd} numbers per token).",
                 f"One fused `c_attn` (a Conv1D, `x @ W + b`) makes q, k and v for all {heads} heads; head "
                 f"{head.head} is numbers {head.head * d} to {head.head * d + d - 1} of each.",
                 "Positions were added once, at the input: nothing turns q or k here."]
        output = "`c_proj`"
    steps += [f"Scores: q·k {TIMES} {head.scale:.4g} (1/√{d}); the mask adds {NEG_INF} above the diagonal (token {i} "
              f"cannot see its {plural(later, 'later token')}); softmax makes each row add up to 1.",
              f"`output_attentions` agrees (largest difference {bound(head.difference)}). The head's output is "
              f"weights {TIMES} V; {output} mixes all heads into the residual stream."]
    return "\n".join(f"{n}. {s}" for n, s in enumerate(steps, start=1))


def _pictures(reading: Reading, head: Head, token: int) -> tuple[Image, ...]:
    from core.render.matrices import Panel, render_panels  # matplotlib loads on the first picture

    n, shown = reading.n, reading.shown
    future = np.triu(np.ones((n, n), dtype=bool), 1)
    where = f"Layer {head.layer}, head {head.head}"
    steps = render_panels((
        Panel(head.scores, f"1. q·k/√{head.d}", shown, shown, signed=True, outline=token),
        Panel(head.scores, f"2. + mask (grey: {NEG_INF})", shown, shown, signed=True, hidden=future, outline=token),
        Panel(head.weights, "3. softmax: yours", shown, shown, outline=token),
        Panel(head.model, "4. the model's map", shown, shown, outline=token),
    ), title=f"{where}: softmax(Q Kᵀ/√d + mask) by hand, and the model's own map (largest difference "
             f"{bound(head.difference)})", per_row=2)
    best = winner(head, token)
    steps_alt = (f"Four {n} by {n} maps of {where.lower()}, rows are queries and columns keys: the scores, the "
                 f"scores with the causal mask greying out every cell above the diagonal, softmax of them, and the "
                 f"model's own map, the same to {bound(head.difference)}. Row {token} "
                 f"'{shown[token]}' is outlined; its largest weight goes to '{shown[best]}' "
                 f"({f4(head.weights[token, best])}).")
    vectors = render_panels(tuple(Panel(m, f"{name} ({n} x {head.d})", shown, (), signed=True, outline=token)
                                  for name, m in (("Q", head.q), ("K", head.k), ("V", head.v))),
                            title=f"{where}: queries, keys and values, one row per token", per_row=3)
    vectors_alt = (f"Three heatmaps of {where.lower()}'s queries, keys and values: {n} rows, one per token, of "
                   f"{head.d} numbers each, blue negative and red positive. Row {token} '{shown[token]}' is outlined.")
    return (Image(steps, f"qkv-layer{head.layer}-head{head.head}.png", steps_alt[:400]),
            Image(vectors, f"qkv-vectors-layer{head.layer}-head{head.head}.png", vectors_alt[:400]))


def _actions(reading: Reading, pick: Pick) -> tuple[Choice, ...]:
    go: list[Choice] = []
    if pick.head + 1 < reading.heads:
        go.append(Action.to(f"Head {pick.head + 1}", "qkv", run=THIS_RUN, layer=pick.layer, head=pick.head + 1,
                            token=pick.token))
    if pick.layer + 1 < reading.layers:
        go.append(Action.to(f"Layer {pick.layer + 1}", "qkv", run=THIS_RUN, layer=pick.layer + 1, head=pick.head,
                            token=pick.token))
    if pick.token + 1 < reading.n:
        go.append(Action.to(f"Token {pick.token + 1}", "qkv", run=THIS_RUN, layer=pick.layer, head=pick.head,
                            token=pick.token + 1))
    go.append(Action.to("Beside an encoder (/causal)", "causal", run=THIS_RUN, layer=pick.layer, head=pick.head))
    return tuple(go)


# ----- the snippet -----
SNIPPET = """import math
import re

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

{model}
tokenizer = AutoTokenizer.from_pretrained(MODEL{gguf})
model = AutoModelForCausalLM.from_pretrained(MODEL{gguf}, attn_implementation="eager")  # SDPA returns no weights
inputs = tokenizer({text!r}, truncation=True, return_tensors="pt")
LAYER, HEAD, TOKEN = {layer}, {head}, {token}
with torch.no_grad():
    out = model(**inputs, output_attentions=True, output_hidden_states=True)
{project}    scores = q @ k.T {scale}
    n = len(scores)
    mask = torch.full((n, n), float("-inf")).triu(1)  # -inf above the diagonal: the later tokens
    weights = torch.softmax(scores + mask, dim=-1)
theirs = out.attentions[LAYER][0, HEAD]  # the model's own map
print("equal to output_attentions:", bool((weights - theirs).abs().max() < 1e-5))
{readable}tokens = [readable(tokenizer, t) for t in tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])]
for j in {keys}:
    print(j, tokens[j], f"{{scores[TOKEN, j]:.4f}}", f"{{weights[TOKEN, j]:.4f}}", f"{{theirs[TOKEN, j]:.4f}}")
best = int(weights[TOKEN].argmax())
print("masked:", int(torch.isinf(mask[TOKEN]).sum()), "of", n, "keys; most attention:", tokens[best], f"({{best}})")"""

GPT2_PROJECT = """    block = model.transformer.h[LAYER]
    x = block.ln_1(out.hidden_states[LAYER][0])  # the layer's input, after its LayerNorm
    q, k, v = block.attn.c_attn(x).split(model.config.n_embd, dim=-1)  # one fused Conv1D: x @ W + b
    d = model.config.n_embd // model.config.n_head
    q, k, v = (t[:, HEAD * d:(HEAD + 1) * d] for t in (q, k, v))  # this head's slice
"""

LLAMA_PROJECT = """    layer = model.model.layers[LAYER]
    x = layer.input_layernorm(out.hidden_states[LAYER][0])  # the layer's input, after its RMSNorm
    attn = layer.self_attn
    d, kv = attn.head_dim, HEAD // attn.num_key_value_groups  # query heads share key/value heads
    q = attn.q_proj(x)[:, HEAD * d:(HEAD + 1) * d]
    k = attn.k_proj(x)[:, kv * d:(kv + 1) * d]
    v = attn.v_proj(x)[:, kv * d:(kv + 1) * d]
    cos, sin = (t[0] for t in model.model.rotary_emb(x, torch.arange(len(x))[None]))  # rotary positions
    half = d // 2
    q = q * cos + torch.cat((-q[:, half:], q[:, :half]), dim=-1) * sin
    k = k * cos + torch.cat((-k[:, half:], k[:, :half]), dim=-1) * sin
"""


def snippet(reading: Reading, head: Head, token: int, keys: list[int]) -> str:
    from core.tasks.compare import READABLE

    loaded = reading.loaded
    usual = math.isclose(head.scale, head.d ** -0.5, rel_tol=1e-6)
    scale = "/ math.sqrt(d)  # q·k/√d for every pair of tokens" if usual else \
        f"* {head.scale!r}  # q·k times the model's own scale, for every pair of tokens"
    return SNIPPET.format(model=model_line(loaded), gguf=", gguf_file=GGUF" if loaded.spec.gguf_file else "",
                          text=reading.text, layer=head.layer, head=head.head, token=token,
                          project=GPT2_PROJECT if _is_gpt2(loaded.model) else LLAMA_PROJECT, scale=scale,
                          readable=READABLE.lstrip("\n") + "\n\n", keys=keys if len(keys) < reading.n else "range(n)")
