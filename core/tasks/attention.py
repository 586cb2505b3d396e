"""/attention and /overview: self-attention weights as heatmaps, and the links they show in words.

The table, the headline, the alt text and the snippet name the same links because they come from
one place (`core.render.links`) under one rule for no-op tokens (`core.tokens.noop_tokens`), and
show tokens the same readable way (`core.tokens.readable_tokens`). matplotlib loads on the first
picture only (`core.render.heatmap`); building the table needs none of it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core import tiny
from core.actions import THIS_RUN, Action, Choice, Menu
from core.context import TaskContext
from core.errors import UserError
from core.markup import code
from core.packs import MINILM, Offline, TaskModel
from core.render.alt import alt_text
from core.render.links import Link, focus_per_token, heaviest, strongest, strongest_per_map
from core.results import Image, Result, Table
from core.tasks.shared import explore
from core.tasks.shared.base import forward
from core.tasks.shared.common import f4, load, model_line, truncation_notice, with_output
from core.tokens import is_byte_level, noop_mask, noop_tokens, readable_tokens

MODEL = TaskModel(roles=("encoder",), hub="google-bert/bert-base-uncased", tiny=tiny.BERT_UNCASED,
                  offline=Offline(MINILM, "encoder"),
                  hub_classes=("BertModel", "BertTokenizer"))
"""An encoder whose attention weights can be returned (loaded with eager attention)."""

SETUP = """{imports}import torch
from transformers import AutoModel, AutoTokenizer

{model}
tokenizer = AutoTokenizer.from_pretrained(MODEL)
model = AutoModel.from_pretrained(MODEL, attn_implementation="eager")  # SDPA cannot return weights
inputs = tokenizer({text!r}, truncation=True, return_tensors="pt")
with torch.no_grad():
    attentions = model(**inputs, output_attentions=True).attentions  # one (1, heads, n, n) per layer
tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
NOOPS = {noops}  # structural tokens heads park attention on{kept}
keep = torch.tensor([t not in NOOPS for t in tokens]){fallback}
"""

ONLY_NOOPS = """
if not keep.any():  # only structural tokens: rank the links between them
    keep[:] = True"""

READABLE_BYTES = r"""
# Byte-level BPE stores each byte as a printable stand-in (Ġ is a space): show them readably.
stand_ins = [*range(33, 127), *range(161, 173), *range(174, 256)]
others = [b for b in range(256) if b not in stand_ins]
BYTES = {chr(b): b for b in stand_ins} | {chr(256 + i): b for i, b in enumerate(others)}


def readable(token):  # "Ġcat" -> "␣cat"; a piece holding part of a character names its bytes
    if token in tokenizer.all_special_tokens or not all(c in BYTES for c in token):
        return token
    text = bytes(BYTES[c] for c in token).decode("utf-8", errors="surrogateescape")
    text = text.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥")
    return re.sub("[\udc80-\udcff]+", lambda m: "<" + " ".join(f"0x{ord(c) - 0xDC00:02X}" for c in m[0]) + ">", text)


tokens = [readable(t) for t in tokens]
"""

READABLE_PIECES = """tokens = [t.replace("▁", "␣") for t in tokens]  # SentencePiece's word-start marker
"""

SELECT_ONE = """layer = attentions[{layer}][0]
weights = layer{pick}
for i in range(len(tokens)):  # where each token looks most (it may be itself)
    if keep[i]:
        j = int(torch.where(keep, weights[i], -1.0).argmax())
        print(tokens[i], "->", tokens[j], f"{{float(weights[i, j]):.4f}}")"""

SELECT_ALL = """layer = attentions[{layer}][0]
both = keep[:, None] & keep[None, :]
for h, weights in enumerate(layer):  # each head's strongest link
    i, j = divmod(int(torch.where(both, weights, -1.0).argmax()), len(tokens))
    print(f"head {{h}}", tokens[i], "->", tokens[j], f"{{float(weights[i, j]):.4f}}")"""

SELECT_OVERVIEW = """both = keep[:, None] & keep[None, :]
for number, layer in enumerate(attentions):  # the strongest link of each layer's mean head
    weights = layer[0].mean(dim=0)
    i, j = divmod(int(torch.where(both, weights, -1.0).argmax()), len(tokens))
    print(f"layer {number}", tokens[i], "->", tokens[j], f"{float(weights[i, j]):.4f}")"""


@dataclass(frozen=True)
class TokenView:
    """The tokens of one text as the model saw them (`raw`) and as the learner reads them (`shown`)."""

    raw: list[str]
    shown: list[str]
    noop: list[bool]
    noops: frozenset[str]
    unk_and_mask: frozenset[str]
    byte_level: bool

    @property
    def only_noops(self) -> bool:
        return all(self.noop)

    def link(self, link: Link) -> tuple[str, str, str]:
        return self.shown[link.source], self.shown[link.target], f4(link.weight)


def token_view(tokenizer: Any, raw: list[str]) -> TokenView:
    noops = noop_tokens(tokenizer)
    kept = {getattr(tokenizer, "unk_token", None), getattr(tokenizer, "mask_token", None)} - noops - {None}
    return TokenView(raw, readable_tokens(tokenizer, raw), noop_mask(raw, noops), noops, frozenset(kept),
                     is_byte_level(tokenizer))


def run(ctx: TaskContext, args: dict[str, Any]) -> Result:
    loaded = load(ctx, "attention")
    text, layer, head = args["text"], args["layer"], args["head"]
    noops, mask = explore.noops_choice(args.get("noops")), args.get("mask")
    config = loaded.model.config
    layers, heads = config.num_hidden_layers, config.num_attention_heads
    if layer >= layers:
        raise UserError(f"This model has {layers} layers: `layer` must be between 0 and {layers - 1}; "
                        f"you gave {layer}.")
    if isinstance(head, int) and head >= heads:
        raise UserError(f"This model has {heads} heads per layer: `head` must be between 0 and {heads - 1}, "
                        f"`all` or `mean`; you gave {head}.")
    if mask is None:
        view, every, notice = _attentions(loaded, text)
        masked = None
    else:
        view, every, masked, notice = explore.masked_attentions(loaded, text, mask, token_view)
    seen, seen_every = explore.visible(view, every, noops)
    suffix = f", token {mask} masked" if masked is not None else ""
    table, links, what, alt = describe(seen, seen_every[layer], layer, head, suffix)
    png = _picture(seen, seen_every[layer], head, what, ctx.figures)
    pick = ".mean(dim=0)" if head == "mean" else f"[{head}]"
    select = SELECT_ALL.format(layer=layer) if head == "all" else SELECT_ONE.format(layer=layer, pick=pick)
    spelled = explore.snippet_view(view, noops)
    printed = [" ".join((*row[:-3], f"{row[-3]} -> {row[-2]} {row[-1]}")) for row in table.rows]
    answer = f"Attention in **{what}** over {len(view.raw)} tokens. Strongest links: {links}."
    explanation = _explain(view, layers, heads, layer, head, noops,
                           (explore.mask_explanation(masked),) if masked is not None else ())
    if masked is not None:
        moved = explore.moved_links(spelled, masked.before[layer], every[layer], head, masked.position)
        answer = (f"Masking {code(masked.original)} (token {mask}) moved these links most in **{what}**: "
                  f"{explore.moved_words(spelled, moved)}. Strongest links now: {links}.")
        select = explore.mask_snippet(loaded.tokenizer, masked) + select + explore.moved_snippet(layer, head, mask)
        printed += explore.moved_lines(spelled, moved)
    code_text = _snippet(model_line(loaded), text, spelled, select)
    return Result(
        command="attention",
        answer=answer,
        table=table,
        images=(Image(png, explore.image_name(layer, head, mask), alt),),
        explanation=explanation,
        code=with_output(code_text, printed),
        model=loaded.spec.label,
        notices=(notice,) if notice else (),
        actions=_with_qkv(ctx, explore.attention_actions(view, layers, heads, layer, head, noops, masked)),
    )


def _with_qkv(ctx: TaskContext, actions: tuple[Choice, ...]) -> tuple[Choice, ...]:
    """/attention's buttons and, where the pack has a decoder, one that computes a head of it by hand on the
    same text (/qkv picks its own layer, head and row: the encoder's need not exist in the decoder)."""
    if "qkv" not in ctx.pack.models:
        return actions
    by_hand = Action.to("A decoder head by hand (/qkv)", "qkv", run=THIS_RUN, layer="", head="", token="")
    buttons = tuple(a for a in actions if not isinstance(a, Menu))
    return (*buttons, by_hand, *(a for a in actions if isinstance(a, Menu)))


def describe(view: TokenView, weights: np.ndarray, layer: int, head: int | str,
             suffix: str = "") -> tuple[Table, str, str, str]:
    """One layer's table, the headline's links, what the picture shows (`suffix` added, e.g. which
    token was masked), and its alt text."""
    if head == "all":
        per_head = strongest_per_map(weights, view.noop)
        rows = tuple((f"head {h}", *view.link(link)) for h, link in enumerate(per_head))
        top = [f"head {h} " + _words(view, per_head[h]) for h in heaviest(per_head, 3)]
        what = f"all {len(per_head)} heads of layer {layer}{suffix}"
        alt = alt_text(view.shown, weights, what=what, noop=view.noop)
        return Table(("head", "from", "to", "weight"), rows), "; ".join(top), what, alt
    matrix = _one_map(weights, head)
    what = f"layer {layer}, " + ("mean of all heads" if head == "mean" else f"head {head}") + suffix
    focus = focus_per_token(matrix, view.noop)
    rows = tuple(view.link(link) for link in focus)
    top = "; ".join(_words(view, link) for link in strongest(focus, 3))
    return Table(("from", "to", "weight"), rows), top, what, alt_text(view.shown, matrix, what=what, noop=view.noop)


def _one_map(weights: np.ndarray, head: int | str) -> np.ndarray:
    return weights.mean(axis=0) if head == "mean" else weights[head]


def _words(view: TokenView, link: Link) -> str:
    source, target, weight = view.link(link)
    return f"{code(source)} -> {code(target)} ({weight})"


def _picture(view: TokenView, weights: np.ndarray, head: int | str, what: str, figures: Any) -> bytes:
    from core.render.heatmap import render_grid, render_head  # matplotlib loads on the first picture

    if head == "all":
        return render_grid(view.shown, weights, title=f"{what[0].upper()}{what[1:]}", noop=view.noop)
    return render_head(view.shown, _one_map(weights, head), title=what.capitalize(), figures=figures, noop=view.noop)


def _attentions(loaded: Any, text: str) -> tuple[TokenView, np.ndarray, str | None]:
    """The tokens, every layer's attention weights (layers, heads, n, n), and a truncation notice."""
    import torch
    _, notice = truncation_notice(loaded, text)
    inputs = loaded.tokenizer(text, truncation=True, return_tensors="pt")
    attentions = forward(loaded, inputs, output_attentions=True).attentions
    every = torch.stack([a[0] for a in attentions]).numpy()
    raw = loaded.tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    return token_view(loaded.tokenizer, raw), every, notice


def run_overview(ctx: TaskContext, args: dict[str, Any]) -> Result:
    """/overview: every layer x every head in one picture (small multiples)."""
    from core.render.heatmap import render_overview

    loaded = load(ctx, "attention")
    text = args["text"]
    view, every, notice = _attentions(loaded, text)
    layers, heads = every.shape[:2]
    per_layer = strongest_per_map(every.mean(axis=1), view.noop)
    rows = tuple((f"layer {n}", *view.link(link)) for n, link in enumerate(per_layer))
    png = render_overview(view.shown, every, title=f"All {layers} layers x {heads} heads", noop=view.noop)
    return Result(
        command="overview",
        answer=f"Every head of every layer over {len(view.raw)} tokens: {layers} rows (layers) x {heads} columns "
               f"(heads). The deepest layer's strongest link: {_words(view, per_layer[-1])}.",
        table=Table(("layer", "from", "to", "weight"), rows),
        images=(Image(png, "attention-overview.png",
                      alt_text(view.shown, every, what="this model's", noop=view.noop)),),
        explanation=(
            f"1. The text became {len(view.raw)} tokens; one forward pass with `output_attentions=True` returned "
            f"{layers} layers x {heads} heads = {layers * heads} attention maps.\n"
            "2. Each small map is one head: rows attend to columns. Compare along a row of the picture "
            "(heads of one layer) and down a column (the same head number across layers).\n"
            "3. Patterns to look for: heads that look at the previous or next token (a bright line beside the "
            "diagonal), heads that send everything to a no-op token, and later heads linking related words.\n"
            "4. The table gives each layer's strongest link, averaged over its heads: the heaviest cell of the "
            f"mean map. {_noop_note(view)} Use `/attention` with `layer=` and `head=` to zoom in."
            + _byte_note(view)
        ),
        code=with_output(_snippet(model_line(loaded), text, view, SELECT_OVERVIEW),
                         [f"{r[0]} {r[1]} -> {r[2]} {r[3]}" for r in rows]),
        model=loaded.spec.label,
        notices=(notice,) if notice else (),
        actions=(explore.overview_menu(view, every, strongest_per_map(every.reshape(-1, *every.shape[2:]),
                                                                      view.noop)),),
    )


def _snippet(model: str, text: str, view: TokenView, select: str) -> str:
    """The learner's code: the same no-ops, the same readable tokens, the same links as the answer.

    It runs without the tutor installed, so it spells out the no-op set and, for byte-level BPE, a
    short equivalent of `core.tokens.readable_tokens` (tests check the two agree on a whole vocabulary)."""
    kept = sorted(view.unk_and_mask)
    readable = READABLE_BYTES if view.byte_level else READABLE_PIECES if view.shown != view.raw else ""
    setup = SETUP.format(
        imports="import re\n\n" if view.byte_level else "", model=model, text=text,
        noops="{" + ", ".join(repr(t) for t in sorted(view.noops)) + "}" if view.noops else "set()",
        kept=f"; {' and '.join(kept)} stay: they stand for your text" if kept else "",
        fallback=ONLY_NOOPS if view.only_noops else "")
    return setup + readable + select


def _explain(view: TokenView, layers: int, heads: int, layer: int, head: int | str, noops: str = "grey",
             extra: tuple[str, ...] = ()) -> str:
    """The numbered steps; `noops` says how the picture treats no-op tokens (`grey` labels on /overview,
    `hide` or `show` on /attention), `extra` adds steps (what a masked token changed)."""
    which = {"all": f"all {heads} heads, one small map each", "mean": f"the average of its {heads} heads"}
    if head == "all":
        table = ("4. The table gives each head's strongest link: the heaviest cell of its map, which can be a "
                 "token looking at itself. The headline names the three heaviest of them.")
    else:
        table = ("4. The table lists where each token looks most: the heaviest cell of its row, which can be "
                 "the token itself. The headline names the three heaviest rows.")
    return (
        f"1. The text became {len(view.raw)} tokens; the model has {layers} layers with {heads} attention heads "
        "each.\n"
        "2. In every layer, each head scores how much each token (row) should look at every other token "
        "(column); softmax makes each row add up to 1.\n"
        f"3. The picture shows layer {layer}, {which.get(head, f'head {head}')}. Bright cells are strong links.\n"
        f"{table} {_noop_note(view, noops)}\n"
        "5. Early layers tend to look at neighbours; later ones at related words. Attention shows where "
        "information may flow, not what the model used to decide." + _byte_note(view)
        + "".join(f"\n{n}. {step}" for n, step in enumerate(extra, start=7 if view.byte_level else 6))
    )


def _noop_note(view: TokenView, noops: str = "grey") -> str:
    """Which tokens the table left out as no-ops (or ranked, with `noops=show`), and which special
    tokens it kept."""
    present = list(dict.fromkeys(t for t, noop in zip(view.raw, view.noop, strict=False) if noop))
    if view.only_noops:
        note = (f"Your text gave only structural tokens ({_names(present)}), so the table ranks the links "
                "between them.")
    elif present and noops == "show":
        note = (f"It ranks {_names(present)} like your own tokens (`noops=show`): heads often park attention "
                "on such structural tokens when nothing else fits (Clark et al. 2019), so they can take many "
                "of the strongest links. `noops=hide` leaves them out.")
    elif present:
        one = len(present) == 1
        note = (f"It leaves out {_names(present)}: {'a structural token' if one else 'structural tokens'} that "
                "heads use as a 'no-op', parking attention there when nothing else fits"
                + (f" ({'its label is' if one else 'their labels are'} grey in the picture)." if noops == "grey" else
                   f"; the picture leaves out {'its' if one else 'their'} rows and columns too, so the colour "
                   f"scale spans the links between your own tokens and a row adds up to less than 1 (the rest "
                   f"went to {'it' if one else 'them'}). `noops=show` draws {'it' if one else 'them'}."))
    else:
        note = "No token here is a structural no-op, so none was left out."
    kept = [t for t in dict.fromkeys(view.raw) if t in view.unk_and_mask]
    if kept:
        note += f" {_names(kept)} {'stays' if len(kept) == 1 else 'stay'} in: " \
                f"{'it stands' if len(kept) == 1 else 'they stand'} for part of your text."
    return note


def _byte_note(view: TokenView) -> str:
    if not view.byte_level:
        return ""
    return ("\n6. This tokenizer is byte-level BPE: it stores each byte as a printable stand-in. A space "
            "is shown as `␣` (stored as `Ġ`), and a piece holding only part of a character is named by its "
            "bytes, like `<0xE4 0xBD>`. WordPiece instead marks a word's later pieces with `##`.")


def _names(tokens: list[str]) -> str:
    quoted = [code(t) for t in tokens]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


