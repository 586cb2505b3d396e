"""/causal: the same sentence through the pack's encoder and its decoder, their attention side by side.

The encoder (the /attention model) lets every token look at every token: its map is full. The
decoder (the /qkv model, a causal language model) lets token i look at tokens 0..i only: the causal
mask adds -inf above the diagonal before softmax, so every weight there is exactly 0 and the map is
lower-triangular. The answer counts those zeros in the model's own output, so the claim is the run's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.actions import THIS_RUN, Action, Choice
from core.context import TaskContext
from core.markup import code
from core.models import Loaded
from core.results import Image, Result, Table
from core.tasks.qkv import NEG_INF, check_range, read, short_name
from core.tasks.shared.base import forward
from core.tasks.shared.common import f4, load, model_line, truncation_notice, with_output
from core.tokens import readable_tokens
from core.wording import plural


@dataclass(frozen=True)
class Map:
    """One model's map of the sentence: which layer and head, its tokens, and the weights."""

    loaded: Loaded
    role: str
    """`encoder` or `decoder`."""
    layer: int
    head: int
    shown: list[str]
    weights: np.ndarray

    @property
    def n(self) -> int:
        return len(self.shown)

    @property
    def zeros(self) -> int:
        return int((self.weights == 0).sum())

    @property
    def above(self) -> int:
        """Weights above the diagonal that are exactly 0."""
        return int((self.weights[np.triu_indices(self.n, 1)] == 0).sum())

    @property
    def name(self) -> str:
        return short_name(self.loaded)


@dataclass(frozen=True)
class Pair:
    """The sentence through both models at one layer and head: what /causal shows and its snippet prints."""

    encoder: Map
    decoder: Map
    text: str
    layers: int
    heads: int
    """The decoder's layers and heads per layer."""
    masked: int
    """How many of the decoder's heads (all layers) have every weight above the diagonal exactly 0."""
    notices: tuple[str, ...]

    @property
    def code(self) -> str:
        return with_output(snippet(self.encoder, self.decoder, self.text), printed(self.encoder, self.decoder))


def compare(ctx: TaskContext, text: str, layer: int, head: int) -> Pair:
    """Both maps of `text`: the decoder's at `layer`, `head`, the encoder's at the same (or its last)."""
    reading = read(load(ctx, "qkv"), text)
    check_range(reading, layer, head, None)
    decoder = Map(reading.loaded, "decoder", layer, head, reading.shown, reading.attentions[layer, head])
    encoder, notice = _encoder(load(ctx, "attention"), text, layer, head)
    above = np.triu(np.ones((reading.n, reading.n), dtype=bool), 1)
    masked = int((reading.attentions[:, :, above] == 0).all(axis=-1).sum())
    return Pair(encoder, decoder, text, reading.layers, reading.heads, masked,
                tuple(n for n in (reading.notice, notice) if n))


def run(ctx: TaskContext, args: dict[str, Any]) -> Result:
    pair = compare(ctx, args["text"], args["layer"], args["head"])
    encoder, decoder = pair.encoder, pair.decoder
    return Result(
        command="causal",
        answer=_answer(encoder, decoder),
        table=Table(("model", "layer, head", "tokens", "weights", "exactly 0"),
                    tuple((f"{m.role} ({m.name})", f"{m.layer}, {m.head}", str(m.n), str(m.n * m.n), str(m.zeros))
                          for m in (encoder, decoder))),
        images=(_picture(encoder, decoder, pair.text),),
        explanation=_explain(encoder, decoder),
        code=pair.code,
        model=f"{encoder.loaded.spec.label} and {decoder.loaded.spec.label}",
        notices=pair.notices,
        actions=_actions(decoder, pair.layers, pair.heads),
    )


def _encoder(loaded: Loaded, text: str, layer: int, head: int) -> tuple[Map, str | None]:
    """The encoder's map at the same layer and head, or its last ones when it has fewer."""
    _, notice = truncation_notice(loaded, text)
    inputs = loaded.tokenizer(text, truncation=True, return_tensors="pt")
    attentions = forward(loaded, inputs, output_attentions=True).attentions
    at, h = min(layer, len(attentions) - 1), min(head, attentions[0].shape[1] - 1)
    raw = loaded.tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    weights = attentions[at][0, h].numpy()
    return Map(loaded, "encoder", at, h, readable_tokens(loaded.tokenizer, raw), weights), notice


def _answer(encoder: Map, decoder: Map) -> str:
    upper = decoder.n * (decoder.n - 1) // 2
    return (f"**The same sentence, two models.** The encoder ({encoder.name}) lets each of its "
            f"{plural(encoder.n, 'token')} look at all {encoder.n}: {_zeros_of(encoder)}. The "
            f"decoder ({decoder.name}) lets token i look only at tokens 0 to i: in layer {decoder.layer}, head "
            f"{decoder.head}, {_zeros_of(decoder)}, "
            + ("as one token has no cell above the diagonal: a longer text shows the mask." if upper == 0 else
               "every cell above the diagonal." if decoder.above == upper else
               f"{decoder.above} of the {upper} above the diagonal."))


def _zeros_of(m: Map) -> str:
    """`21 of its 49 weights are exactly 0`, in the words the counts take (`0 of its 1 weight`)."""
    return f"{m.zeros} of its {plural(m.n * m.n, 'weight')} {'is' if m.zeros == 1 else 'are'} exactly 0"


def _explain(encoder: Map, decoder: Map) -> str:
    first = decoder.weights[0, 0]
    upper = decoder.n * (decoder.n - 1) // 2
    return "\n".join(f"{n}. {s}" for n, s in enumerate((
        f"Both read your text: the encoder as {plural(encoder.n, 'token')}, the decoder as "
        f"{plural(decoder.n, 'token')} (each model has its own tokenizer).",
        f"Encoder, layer {encoder.layer}, head {encoder.head}: every row spreads over all {encoder.n} tokens, later "
        "ones too. That is what lets an encoder fill a [MASK] from both sides.",
        f"Decoder, layer {decoder.layer}, head {decoder.head}: the causal mask adds {NEG_INF} above the diagonal "
        f"before softmax, so those {upper} weights are exactly 0 and each row adds up to 1 over the tokens to its "
        f"left and itself; token 0 {code(decoder.shown[0])} puts {f4(first)} on itself. Every head of every layer "
        "has this shape: it is how a decoder writes, one token at a time, each seeing only what came before.",
        "The causal mask is not the padding mask: padding hides positions that hold no text (decoders pad on the "
        "left to generate in batches); here there is no padding and the future is hidden anyway.",
    ), start=1))


def _picture(encoder: Map, decoder: Map, text: str) -> Image:
    from core.render.matrices import Panel, render_panels  # matplotlib loads on the first picture

    png = render_panels((
        Panel(encoder.weights, f"encoder ({encoder.name}), layer {encoder.layer}, head {encoder.head}",
              encoder.shown, encoder.shown),
        Panel(decoder.weights, f"decoder ({decoder.name}), layer {decoder.layer}, head {decoder.head} "
              "(grey: masked, exactly 0)", decoder.shown, decoder.shown,
              hidden=np.triu(np.ones((decoder.n, decoder.n), dtype=bool), 1) & (decoder.weights == 0)),
    ), title="The same sentence: an encoder looks both ways, a decoder only to the left (rows attend to columns)",
        per_row=2)
    alt = (f"Two attention maps of the same sentence, rows attending to columns. Left, the encoder {encoder.name}: "
           f"{encoder.n} by {encoder.n}, weight everywhere. Right, the decoder {decoder.name}: {decoder.n} by "
           f"{decoder.n}, lower-triangular, {decoder.zeros} weights exactly 0 above the diagonal.")
    return Image(png, f"causal-layer{decoder.layer}-head{decoder.head}.png", alt[:400])


def printed(encoder: Map, decoder: Map) -> list[str]:
    return [f"{m.role} {m.n} tokens: {m.zeros} of {m.n * m.n} weights are 0" for m in (encoder, decoder)] + \
        [f"decoder token 0 on itself: {f4(decoder.weights[0, 0])}"]


def _actions(decoder: Map, layers: int, heads: int) -> tuple[Choice, ...]:
    go: list[Choice] = []
    if decoder.head + 1 < heads:
        go.append(Action.to(f"Head {decoder.head + 1}", "causal", run=THIS_RUN, layer=decoder.layer,
                            head=decoder.head + 1))
    if decoder.layer + 1 < layers:
        go.append(Action.to(f"Layer {decoder.layer + 1}", "causal", run=THIS_RUN, layer=decoder.layer + 1,
                            head=decoder.head))
    go.append(Action.to("Q, K and V by hand (/qkv)", "qkv", run=THIS_RUN, layer=decoder.layer, head=decoder.head))
    return tuple(go)


SNIPPET = """{imports}
import torch
from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

{blocks}
TEXT = {text!r}
MODELS = {{  # eager attention: SDPA cannot return the weights
    "encoder": (AutoTokenizer.from_pretrained(ENCODER{egguf}),
                AutoModel.from_pretrained(ENCODER{egguf}, attn_implementation="eager"), {elayer}, {ehead}),
    "decoder": (AutoTokenizer.from_pretrained(DECODER{dgguf}),
                AutoModelForCausalLM.from_pretrained(DECODER{dgguf}, attn_implementation="eager"), {dlayer}, {dhead}),
}}
maps = {{}}
for role, (tokenizer, model, layer, head) in MODELS.items():
    inputs = tokenizer(TEXT, truncation=True, return_tensors="pt")
    with torch.no_grad():
        maps[role] = model(**inputs, output_attentions=True).attentions[layer][0, head]
    n = len(maps[role])
    print(role, n, f"tokens: {{int((maps[role] == 0).sum())}} of {{n * n}} weights are 0")
print("decoder token 0 on itself:", f"{{float(maps['decoder'][0, 0]):.4f}}")"""


def snippet(encoder: Map, decoder: Map, text: str) -> str:
    imports, blocks = [], []
    for m in (encoder, decoder):
        var = m.role.upper()
        named = re.sub(r"\bMODEL\b", var, model_line(m.loaded))
        lines = re.sub(r"^GGUF =", f"{var}_GGUF =", named, flags=re.MULTILINE).splitlines()
        imports += [line for line in lines if line.startswith("import ")]
        blocks.append("\n".join(line for line in lines if not line.startswith("import ")).strip("\n"))
    return SNIPPET.format(imports="".join(f"{line}\n" for line in dict.fromkeys(imports)), blocks="\n".join(blocks),
                          text=text, egguf=", gguf_file=ENCODER_GGUF" if encoder.loaded.spec.gguf_file else "",
                          dgguf=", gguf_file=DECODER_GGUF" if decoder.loaded.spec.gguf_file else "",
                          elayer=encoder.layer, ehead=encoder.head, dlayer=decoder.layer, dhead=decoder.head)
