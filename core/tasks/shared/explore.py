"""Exploring /attention and /overview: the buttons under an answer and the views they open.

Every button is an ordinary command with a few changed options (`core.actions`), so a click is
checked, cooled down and answered like a typed command; the learner's text stays in the stored
run (`run=THIS_RUN`). The views:

- **no-op tokens** (`noops=hide|show`): hidden, `[CLS]`/`[SEP]` and the like leave the picture,
  the table and the headline (their rows and columns are dropped, so the colour scale spans the
  links between the learner's own tokens); shown, they are drawn and ranked like any token.
- **a masked token** (`mask=N`): the text runs again with token N replaced by the mask token (or
  [UNK] where the model has none), in one batched forward pass with the original, and the answer
  names the links whose weight moved most (exBERT's "mask a token and watch").

No plotting library here: tasks draw through `core.render.heatmap`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from core.actions import MAX_MENU_OPTIONS, THIS_RUN, Action, Choice, Menu
from core.errors import UserError
from core.markup import code
from core.tasks.shared.base import forward
from core.tasks.shared.common import f4, truncation_notice

NOOP_CHOICES = ("hide", "show")
MOVED_SHOWN = 3


def noops_choice(value: Any) -> str:
    """`hide` (the default) or `show`; anything else is the learner's mistake, said plainly."""
    word = (value or "hide").strip().lower()
    if word not in NOOP_CHOICES:
        raise UserError(f"`noops` must be `hide` or `show`, not {code(str(value)[:20])}.")
    return word


@dataclass(frozen=True)
class Masked:
    """One token of the text replaced by the mask token, and the attention before and after."""

    position: int
    original: str
    """The token as the learner reads it, before masking."""
    replacement: str
    """The mask token (or the unknown token) that took its place."""
    before: np.ndarray
    """Every layer's attention of the unmasked text, (layers, heads, n, n)."""


@dataclass(frozen=True)
class Moved:
    """A link whose weight changed when a token was masked."""

    head: int | None
    source: int
    target: int
    before: float
    after: float

    @property
    def change(self) -> float:
        return self.after - self.before


def mask_id(tokenizer: Any) -> tuple[int, str]:
    """The id and name of the token that replaces a masked one: the mask token, else the unknown one."""
    for name in ("mask_token", "unk_token"):
        token = getattr(tokenizer, name, None)
        if token is not None and getattr(tokenizer, f"{name}_id", None) is not None:
            return int(getattr(tokenizer, f"{name}_id")), token
    raise UserError("This model's tokenizer has neither a mask token nor an unknown token, so no token can "
                    "be masked.")


def masked_attentions(loaded: Any, text: str, position: int, token_view: Any) -> tuple[Any, np.ndarray,
                                                                                        Masked, str | None]:
    """The masked text's token view and attentions, and what was masked, from ONE forward pass of two
    rows: the text as typed and the text with token `position` replaced."""
    import torch
    _, notice = truncation_notice(loaded, text)
    inputs = loaded.tokenizer(text, truncation=True, return_tensors="pt")
    ids = inputs["input_ids"][0]
    raw = loaded.tokenizer.convert_ids_to_tokens(ids)
    view = token_view(loaded.tokenizer, raw)
    check_position(view, position)
    new_id, new_token = mask_id(loaded.tokenizer)
    both = {k: v.repeat(2, 1) for k, v in inputs.items()}
    both["input_ids"][1, position] = new_id
    attentions = forward(loaded, both, output_attentions=True).attentions
    every = torch.stack(list(attentions), dim=1).numpy()  # (2, layers, heads, n, n)
    masked_raw = [*raw[:position], new_token, *raw[position + 1:]]
    return (token_view(loaded.tokenizer, masked_raw), every[1],
            Masked(position, view.shown[position], new_token, every[0]), notice)


def check_position(view: Any, position: int) -> None:
    """A masked position must be one of the learner's own tokens."""
    real = [i for i, noop in enumerate(view.noop) if not noop] or list(range(len(view.raw)))
    if position >= len(view.raw):
        raise UserError(f"Your text has {len(view.raw)} tokens (positions 0 to {len(view.raw) - 1}), so there is "
                        f"no token {position} to mask.")
    if position not in real:
        raise UserError(f"Token {position} is {code(view.shown[position])}, a structural token the tokenizer "
                        f"added; mask one of your text's tokens instead (positions {real[0]} to {real[-1]}).")


def visible(view: Any, every: np.ndarray, noops: str) -> tuple[Any, np.ndarray]:
    """The tokens and weights the picture, table and headline use: without the no-op tokens (hide), or
    with them ranked like any other token (show). A text of nothing but no-ops keeps them all."""
    if noops == "show" or view.only_noops or not any(view.noop):
        return replace(view, noop=[False] * len(view.raw)), every
    keep = [i for i, noop in enumerate(view.noop) if not noop]
    smaller = replace(view, raw=[view.raw[i] for i in keep], shown=[view.shown[i] for i in keep],
                      noop=[False] * len(keep))
    return smaller, every[..., keep, :][..., keep]


def snippet_view(view: Any, noops: str) -> Any:
    """The view the snippet spells out: with no no-op tokens at all when they are shown."""
    return replace(view, noop=[False] * len(view.raw), noops=frozenset()) if noops == "show" else view


def moved_links(view: Any, before: np.ndarray, after: np.ndarray, head: int | str, masked: int,
                k: int = MOVED_SHOWN) -> list[Moved]:
    """The `k` links whose weight changed most (by size) in one layer (`before` and `after` are its
    heads, (heads, n, n)): in the map of `head`, or in any head for `all`. Links between real tokens
    only, and not the masked token's own row: it is another token now, so its whole row changes for
    that reason alone. Ties keep the earlier link."""
    if head != "all":
        before, after = _one_map(before, head), _one_map(after, head)
    real = ~np.asarray(view.noop, dtype=bool)
    if not real.any():
        real[:] = True
    rows = real.copy()
    if rows.sum() > 1:
        rows[masked] = False
    allowed = rows[:, None] & real[None, :]
    change = np.abs(after - before)
    change = np.where(allowed, change, -1.0)
    flat = change.reshape(-1)
    order = np.argsort(-flat, kind="stable")[:k]
    n = len(view.raw)
    out = []
    for index in order.tolist():
        head, cell = divmod(index, n * n) if before.ndim == 3 else (None, index)
        i, j = divmod(cell, n)
        b = before[head] if head is not None else before
        a = after[head] if head is not None else after
        out.append(Moved(head, i, j, float(b[i, j]), float(a[i, j])))
    return out


def _one_map(weights: np.ndarray, head: int | str) -> np.ndarray:
    return weights.mean(axis=0) if head == "mean" else weights[head]


def moved_words(view: Any, moved: list[Moved]) -> str:
    """`` `sat` -> `cat` 0.3120 -> 0.0500 (-0.2620)`` for each moved link, joined."""
    parts = []
    for m in moved:
        where = f"head {m.head} " if m.head is not None else ""
        parts.append(f"{where}{code(view.shown[m.source])} -> {code(view.shown[m.target])} "
                     f"{f4(m.before)} -> {f4(m.after)} ({m.change:+.4f})")
    return "; ".join(parts)


def moved_lines(view: Any, moved: list[Moved]) -> list[str]:
    """What the snippet prints for the moved links (the same numbers as `moved_words`)."""
    return [" ".join(([f"head {m.head}"] if m.head is not None else [])
                     + ["moved", view.shown[m.source], "->", view.shown[m.target], f4(m.before), "->", f4(m.after)])
            for m in moved]


MASK_SNIPPET = """
masked = inputs["input_ids"].clone()
masked[0, {position}] = tokenizer.{which}_token_id  # {original!r} -> {replacement!r}
before = attentions
with torch.no_grad():
    attentions = model(**{{**inputs, "input_ids": masked}}, output_attentions=True).attentions
tokens[{position}] = {replacement!r}
"""

MOVED_ONE = """
after_map, before_map = attentions[{layer}][0]{pick}, before[{layer}][0]{pick}
rows = keep.clone()
if rows.sum() > 1:
    rows[{position}] = False  # the masked token's own row: it is another token now
change = torch.where(rows[:, None] & keep[None, :], (after_map - before_map).abs(), -1.0)
for flat in change.flatten().argsort(descending=True, stable=True)[:{k}]:  # the links that moved most
    i, j = divmod(int(flat), len(tokens))
    print("moved", tokens[i], "->", tokens[j], f"{{float(before_map[i, j]):.4f}}", "->",
          f"{{float(after_map[i, j]):.4f}}")"""

MOVED_ALL = """
after_all, before_all = attentions[{layer}][0], before[{layer}][0]
rows = keep.clone()
if rows.sum() > 1:
    rows[{position}] = False  # the masked token's own row: it is another token now
allowed = rows[:, None] & keep[None, :]
change = torch.where(allowed, (after_all - before_all).abs(), -1.0)
n = len(tokens)
for flat in change.flatten().argsort(descending=True, stable=True)[:{k}]:  # the links that moved most
    h, cell = divmod(int(flat), n * n)
    i, j = divmod(cell, n)
    print(f"head {{h}} moved", tokens[i], "->", tokens[j], f"{{float(before_all[h, i, j]):.4f}}", "->",
          f"{{float(after_all[h, i, j]):.4f}}")"""


def mask_snippet(tokenizer: Any, masked: Masked) -> str:
    """The lines that mask the token in the learner's code, after the tokens are made readable."""
    which = "mask" if masked.replacement == getattr(tokenizer, "mask_token", None) else "unk"
    return MASK_SNIPPET.format(position=masked.position, which=which, original=masked.original,
                               replacement=masked.replacement)


def moved_snippet(layer: int, head: int | str, position: int) -> str:
    if head == "all":
        return MOVED_ALL.format(layer=layer, position=position, k=MOVED_SHOWN)
    pick = ".mean(dim=0)" if head == "mean" else f"[{head}]"
    return MOVED_ONE.format(layer=layer, pick=pick, position=position, k=MOVED_SHOWN)


def mask_explanation(masked: Masked) -> str:
    return (f"**Masked**: token {masked.position}, {code(masked.original)}, was replaced by "
            f"{code(masked.replacement)} and the model ran again on the changed ids (one batched forward pass "
            f"with your text as typed). The picture and table show the masked run; the headline names the links "
            f"whose weight moved most (before -> after). Every other token's row changes because one of the tokens it "
            "can look at changed: attention is recomputed from every token's vector at every layer. The masked "
            "token's own row is left out of that ranking: it is another token now.")


def noops_explanation(view: Any, noops: str) -> str:
    """What the picture and table did with the no-op tokens, for the explanation."""
    present = list(dict.fromkeys(view.shown[i] for i, noop in enumerate(view.noop) if noop))
    if not present or view.only_noops:
        return ""
    names = _and(present)
    if noops == "show":
        return (f"**No-op tokens shown**: {names} are drawn and ranked like your own tokens here. Heads often "
                "park attention on them when nothing else fits (Clark et al. 2019), so they can take many of "
                "the strongest links; `noops=hide` leaves them out.")
    return (f"**No-op tokens hidden**: the picture leaves out the rows and columns of {names}, so the colour "
            "scale spans the links between your own tokens; each row then adds up to less than 1, the rest "
            "went to the hidden tokens. `noops=show` draws them.")


def _and(names: list[str]) -> str:
    quoted = [code(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


# --------------------------------------------------------------------------- the buttons


def attention_actions(view: Any, layers: int, heads: int, layer: int, head: int | str, noops: str,
                      masked: Masked | None) -> tuple[Choice, ...]:
    """The buttons under an /attention answer: step through layers and heads, all heads or their
    mean, show or hide the no-op tokens, unmask, and a select of tokens to mask. Buttons that would
    lead nowhere (no previous layer on layer 0) are left out."""
    go = _to("attention")
    buttons: list[Choice] = []
    if layer > 0:
        buttons.append(go(f"◀ Layer {layer - 1}", layer=layer - 1))
    if layer < layers - 1:
        buttons.append(go(f"Layer {layer + 1} ▶", style="primary", layer=layer + 1))
    if isinstance(head, int):
        if head > 0:
            buttons.append(go(f"◀ Head {head - 1}", head=head - 1))
        if head < heads - 1:
            buttons.append(go(f"Head {head + 1} ▶", style="primary", head=head + 1))
    else:
        buttons.append(go("Head 0", head=0))
    if head != "all":
        buttons.append(go("All heads", head="all"))
    if head != "mean":
        buttons.append(go("Mean of heads", head="mean"))
    present = list(dict.fromkeys(view.shown[i] for i, noop in enumerate(view.noop) if noop))
    if present and not view.only_noops:
        names = " ".join(present)[:40]
        buttons.append(go(f"Show {names}", noops="show") if noops == "hide" else go(f"Hide {names}", noops="hide"))
    if masked is not None:
        buttons.append(go(f"Unmask {masked.original}", style="danger", mask=""))
    menu = mask_menu(view, masked)
    return tuple(buttons) + ((menu,) if menu is not None else ())


def mask_menu(view: Any, masked: Masked | None) -> Menu | None:
    """A select of the text's own tokens (the first 25): choosing one masks it and reruns."""
    go = _to("attention")
    current = masked.position if masked is not None else None
    original = masked.original if masked is not None else ""
    options = [go(f"{i}: {view.shown[i]}" if i != current else f"{i}: {original} (masked now)",
                  description=f"Replace token {i} by the mask token and run the model again", mask=i)
               for i, noop in enumerate(view.noop) if not noop][:MAX_MENU_OPTIONS]
    return Menu("Mask a token and rerun", tuple(options)) if options else None


def overview_menu(view: Any, every: np.ndarray, strongest: list[Any]) -> Menu:
    """Open one layer and head as /attention. Every pair when they fit in a select; otherwise each
    layer's grid of heads first, then the heads whose strongest link is heaviest."""
    layers, heads = every.shape[:2]
    go = _to("attention")
    if layers * heads <= MAX_MENU_OPTIONS:
        options = [go(f"Layer {la}, head {h}", layer=la, head=h) for la in range(layers) for h in range(heads)]
        return Menu("Open a layer and head", tuple(options))
    options = [go(f"Layer {la}: all heads", layer=la, head="all") for la in range(layers)][:MAX_MENU_OPTIONS]
    ranked = sorted(range(len(strongest)), key=lambda m: -strongest[m].weight)
    for m in ranked[:MAX_MENU_OPTIONS - len(options)]:
        la, h = divmod(m, heads)
        link = strongest[m]
        options.append(go(f"Layer {la}, head {h}", layer=la, head=h,
                          description=f"strongest: {view.shown[link.source]} -> {view.shown[link.target]} "
                                      f"{f4(link.weight)}"))
    return Menu("Open a layer and head", tuple(options))


def _to(command: str) -> Any:
    def make(label: str, *, style: str = "secondary", description: str = "", **args: object) -> Action:
        return Action.to(label, command, style=style, description=description, run=THIS_RUN,  # type: ignore[arg-type]
                         **args)
    return make


def image_name(layer: int, head: int | str, mask: int | None) -> str:
    return f"attention-l{layer}-{head}" + (f"-mask{mask}" if mask is not None else "") + ".png"
