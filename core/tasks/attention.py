"""/attention: self-attention weights of one layer as a heatmap (one head, every head, or their mean)."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from core.context import TaskContext
from core.errors import UserError
from core.results import Image, Result, Table
from core.tasks.common import f4, load, model_line, truncation_notice, with_output

SNIPPET = """import torch
from transformers import AutoModel, AutoTokenizer

{model}
tokenizer = AutoTokenizer.from_pretrained(MODEL)
model = AutoModel.from_pretrained(MODEL, attn_implementation="eager")  # SDPA cannot return weights
inputs = tokenizer({text!r}, truncation=True, return_tensors="pt")
with torch.no_grad():
    attentions = model(**inputs, output_attentions=True).attentions  # one (1, heads, n, n) per layer
tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
special = set(tokenizer.all_special_tokens)
layer = attentions[{layer}][0]
{select}"""

SELECT_ONE = """weights = layer{pick}
for i, row in enumerate(weights):  # where each token looks most
    if tokens[i] in special:
        continue
    row = row.clone()
    row[[j for j, t in enumerate(tokens) if t in special]] = 0
    j = int(row.argmax())
    print(tokens[i], "->", tokens[j], f"{{float(weights[i, j]):.4f}}")"""

SELECT_ALL = """keep = torch.tensor([t not in special for t in tokens])
for h, weights in enumerate(layer):  # the strongest link in each head
    masked = weights * keep[:, None] * keep[None, :]
    i, j = divmod(int(masked.argmax()), len(tokens))
    print(f"head {{h}}", tokens[i], "->", tokens[j], f"{{float(weights[i, j]):.4f}}")"""


def run(ctx: TaskContext, args: dict[str, Any]) -> Result:
    loaded = load(ctx, "attention", "encoder")
    text, layer, head = args["text"], args["layer"], args["head"]
    config = loaded.model.config
    layers, heads = config.num_hidden_layers, config.num_attention_heads
    if layer >= layers:
        raise UserError(f"This model has {layers} layers: `layer` must be between 0 and {layers - 1}; you gave {layer}.")
    if isinstance(head, int) and head >= heads:
        raise UserError(f"This model has {heads} heads per layer: `head` must be between 0 and {heads - 1}, "
                        f"`all` or `mean`; you gave {head}.")
    tokens, every, notice = _attentions(loaded, text)
    special = set(loaded.tokenizer.all_special_tokens)
    return _result(loaded, text, tokens, special, every[layer], layer, head, (layers, heads), notice, ctx.figures)


def _attentions(loaded: Any, text: str) -> tuple[list[str], np.ndarray, str | None]:
    """Tokens, every layer's attention weights (layers, heads, n, n), and a truncation notice."""
    _, notice = truncation_notice(loaded, text)
    inputs = loaded.tokenizer(text, truncation=True, return_tensors="pt").to(loaded.device)
    with torch.no_grad():
        attentions = loaded.model(**inputs, output_attentions=True).attentions
    every = torch.stack([a[0] for a in attentions]).float().cpu().numpy()
    return loaded.tokenizer.convert_ids_to_tokens(inputs["input_ids"][0]), every, notice


OVERVIEW_SELECT = """keep = torch.tensor([t not in special for t in tokens])
for number, layer in enumerate(attentions):  # the strongest link of each layer's mean head
    weights = layer[0].mean(dim=0)
    masked = weights * keep[:, None] * keep[None, :]
    i, j = divmod(int(masked.argmax()), len(tokens))
    print(f"layer {number}", tokens[i], "->", tokens[j], f"{float(weights[i, j]):.4f}")"""


def run_overview(ctx: TaskContext, args: dict[str, Any]) -> Result:
    """/overview: every layer x every head in one picture (small multiples)."""
    from core.render.heatmap import alt_text, render_overview

    loaded = load(ctx, "attention", "encoder")
    text = args["text"]
    tokens, every, notice = _attentions(loaded, text)
    special = set(loaded.tokenizer.all_special_tokens)
    layers, heads = every.shape[:2]
    rows = tuple((f"layer {n}", *_strongest(tokens, special, every[n].mean(axis=0))) for n in range(layers))
    png = render_overview(tokens, every, title=f"All {layers} layers x {heads} heads")
    lines = [f"{r[0]} {r[1]} -> {r[2]} {r[3]}" for r in rows]
    code = SNIPPET.format(model=model_line(loaded), text=text, layer=0, select="")
    code = code.replace("layer = attentions[0][0]\n", "") + OVERVIEW_SELECT
    return Result(
        command="overview",
        answer=f"Every head of every layer over {len(tokens)} tokens: {layers} rows (layers) x {heads} columns "
               f"(heads). The deepest layer's strongest link: `{rows[-1][1]}` -> `{rows[-1][2]}` ({rows[-1][3]}).",
        table=Table(("layer", "from", "to", "weight"), rows),
        images=(Image(png, "attention-overview.png",
                      alt_text(tokens, every.mean(axis=(0, 1)), what=f"all {layers} layers x {heads} heads "
                               "(links described for their mean)")),),
        explanation=(
            f"1. The text became {len(tokens)} tokens; one forward pass with `output_attentions=True` returned "
            f"{layers} layers x {heads} heads = {layers * heads} attention maps.\n"
            "2. Each small map is one head: rows attend to columns. Compare along a row of the picture "
            "(heads of one layer) and down a column (the same head number across layers).\n"
            "3. Patterns to look for: heads that look at the previous or next token (a bright line beside the "
            "diagonal), heads that send everything to [CLS] or [SEP], and later heads linking related words.\n"
            "4. The table gives each layer's strongest link between real words, averaged over its heads. "
            "Use `/attention` with `layer=` and `head=` to zoom in."
        ),
        code=with_output(code, lines),
        model=loaded.spec.hub_id,
        notices=(notice,) if notice else (),
    )


def _result(loaded, text, tokens, special, weights, layer, head, shape, notice, figures) -> Result:
    from core.render.heatmap import alt_text, render_grid, render_head  # matplotlib loads on first use

    layers, heads = shape
    if head == "all":
        rows = tuple((f"head {h}", *_strongest(tokens, special, weights[h])) for h in range(heads))
        table = Table(("head", "from", "to", "weight"), rows)
        what = f"all {heads} heads of layer {layer}"
        png = render_grid(tokens, weights, title=f"Layer {layer}: every head")
        alt = alt_text(tokens, weights.mean(axis=0), what=f"{what} (links described for their mean)")
        select, answer_links = SELECT_ALL.format(), rows
    else:
        matrix = weights.mean(axis=0) if head == "mean" else weights[head]
        what = f"layer {layer}, " + ("mean of all heads" if head == "mean" else f"head {head}")
        rows = tuple(_per_token(tokens, special, matrix))
        table = Table(("from", "to", "weight"), rows)
        png = render_head(tokens, matrix, title=what.capitalize(), figures=figures)
        alt = alt_text(tokens, matrix, what=what)
        pick = ".mean(dim=0)" if head == "mean" else f"[{head}]"
        select, answer_links = SELECT_ONE.format(pick=pick), sorted(rows, key=lambda r: -float(r[-1]))[:3]
    links = "; ".join(f"`{r[-3]}` -> `{r[-2]}` ({r[-1]})" for r in answer_links[:3]) or "only special tokens"
    return Result(
        command="attention",
        answer=f"Attention in **{what}** over {len(tokens)} tokens. Strongest links: {links}.",
        table=table,
        images=(Image(png, f"attention-l{layer}-{head}.png", alt),),
        explanation=_explain(len(tokens), layers, heads, layer, head),
        code=with_output(SNIPPET.format(model=model_line(loaded), text=text, layer=layer, select=select),
                         [" ".join(r[:-3]) + (" " if len(r) > 3 else "") + f"{r[-3]} -> {r[-2]} {r[-1]}" for r in table.rows]),
        model=loaded.spec.hub_id,
        notices=(notice,) if notice else (),
    )


def _per_token(tokens: list[str], special: set[str], matrix: np.ndarray) -> list[tuple[str, str, str]]:
    """For each real token, the real token it attends to most."""
    keep = np.array([t not in special for t in tokens])
    rows = []
    for i, token in enumerate(tokens):
        if keep[i] and keep.any():
            j = int(np.argmax(np.where(keep, matrix[i], -1.0)))
            rows.append((token, tokens[j], f4(float(matrix[i, j]))))
    return rows


def _strongest(tokens: list[str], special: set[str], matrix: np.ndarray) -> tuple[str, str, str]:
    keep = np.array([t not in special for t in tokens], dtype=float)
    masked = matrix * keep[:, None] * keep[None, :]
    i, j = divmod(int(np.argmax(masked)), len(tokens))
    return tokens[i], tokens[j], f4(float(matrix[i, j]))


def _explain(n: int, layers: int, heads: int, layer: int, head: Any) -> str:
    which = {"all": f"all {heads} heads, one small map each", "mean": f"the average of its {heads} heads"}
    return (
        f"1. The text became {n} tokens; the model has {layers} layers with {heads} attention heads each.\n"
        f"2. In every layer, each head scores how much each token (row) should look at every other token "
        f"(column); softmax makes each row add up to 1.\n"
        f"3. The picture shows layer {layer}, {which.get(head, f'head {head}')}. Bright cells are strong links.\n"
        "4. The table lists where each word looks most, leaving out special tokens like [CLS] and [SEP], "
        "which often soak up attention as a 'no-op'. Early layers tend to look at neighbours; later ones at "
        "related words. Attention shows where information flows, not why the model decided."
    )
