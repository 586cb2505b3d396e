""""Which words mattered" (`why=true`) for /sentiment, /zeroshot and /fillmask, by occlusion.

Each of the text's own tokens is hidden in turn (replaced by the mask token, or [UNK] where the
model has none), and every hidden copy runs with the text as typed in ONE batched forward pass
(bench/explore.py measures it against one pass per token). A token's score is how much the
chosen label's probability fell when it was hidden: positive, it supported the label; negative,
it worked against it. The label is the answer's own (the top class, the top label, the top guess).

Occlusion was chosen over gradient x input because every number is a probability the learner can
recompute with two forward passes, and the snippet does exactly that, batched the same way.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.actions import THIS_RUN, Action
from core.errors import UserError
from core.markup import bold, code, to_plain
from core.models import Loaded
from core.results import Image, Result, Table
from core.tasks.shared.common import f4, model_line, pct, with_output
from core.tokens import readable_tokens

if TYPE_CHECKING:  # pragma: no cover
    import torch

MAX_HIDDEN = 64
"""Tokens hidden at most: the batch holds one copy of the text per hidden token."""
MAX_ROWS = 320
"""Rows in the one forward pass at most (an NLI model reads every copy once per label)."""
SHOWN = 3


@dataclass(frozen=True)
class Occlusion:
    """The chosen label's probability with every token, and with each token hidden."""

    label: str
    base: float
    tokens: list[str]
    """Every token of the input as the learner reads it (special tokens included)."""
    hidden: list[float | None]
    """The label's probability with that token hidden; None for tokens not hidden (special ones)."""
    replacement: str

    @property
    def changes(self) -> list[float | None]:
        return [None if h is None else self.base - h for h in self.hidden]

    def top(self, k: int = SHOWN) -> list[int]:
        """Positions of the `k` biggest changes by size; ties keep the earlier token."""
        scored = [i for i, c in enumerate(self.changes) if c is not None]
        return sorted(scored, key=lambda i: -abs(self.changes[i] or 0.0))[:k]


def replacement(tokenizer: Any) -> tuple[int, str]:
    """What hides a token: the mask token, else the unknown token."""
    for name in ("mask_token", "unk_token"):
        token, token_id = getattr(tokenizer, name, None), getattr(tokenizer, f"{name}_id", None)
        if token is not None and token_id is not None:
            return int(token_id), token
    raise UserError("This model's tokenizer has neither a mask token nor an unknown token to hide words with.")


def hidden_copies(ids: torch.Tensor, positions: Sequence[int], hide: int) -> torch.Tensor:
    """(1 + len(positions), n): row 0 is the input as typed, row k has `positions[k-1]` hidden."""
    batch = ids.reshape(1, -1).repeat(1 + len(positions), 1)
    for row, i in enumerate(positions, start=1):
        batch[row, i] = hide
    return batch


def check_size(count: int, copies_per_token: int = 1) -> None:
    """Refuse a text whose hidden copies would not fit in one reasonable forward pass."""
    most = min(MAX_HIDDEN, MAX_ROWS // copies_per_token - 1)
    if count > most:
        per = f" (with {copies_per_token} labels, each copy is read once per label)" if copies_per_token > 1 else ""
        raise UserError(f"Which words mattered hides each token of your text in turn and runs every copy in one "
                        f"forward pass, so it works on texts of at most {most} tokens{per}; yours has {count}. "
                        "Shorten the text.")


def fits(count: int, copies_per_token: int = 1) -> bool:
    try:
        check_size(count, copies_per_token)
    except UserError:
        return False
    return True


def each(batch: Sequence[dict[str, Any]], plain: Callable[[list[dict[str, Any]]], list[Any]],
         alone: Callable[[dict[str, Any]], Any],
         apart: Callable[[dict[str, Any]], bool] = lambda args: bool(args.get("why"))) -> list[Any]:
    """Answers in order: the plain requests batched together, each one set `apart` (`why=true`:
    its own batch of hidden copies) answered `alone`."""
    plain_args = [args for args in batch if not apart(args)]
    answered = iter(plain(plain_args) if plain_args else [])
    return [alone(args) if apart(args) else next(answered) for args in batch]


def why_action(command: str, count: int, copies_per_token: int = 1) -> tuple[Action, ...]:
    """The "which words mattered" button, when the text is short enough for it."""
    if not fits(count, copies_per_token):
        return ()
    return (Action.to("Which words mattered?", command, style="primary", run=THIS_RUN, why="true"),)


def back_action(command: str) -> tuple[Action, ...]:
    return (Action.to("Back to the answer", command, run=THIS_RUN, why="false"),)


def readable(loaded: Loaded, ids: Sequence[int]) -> list[str]:
    tok = loaded.tokenizer
    return readable_tokens(tok, tok.convert_ids_to_tokens(list(ids)))


# --------------------------------------------------------------------------- the answer


def answer(command: str, occ: Occlusion, what: str) -> str:
    """The headline: the label, and the tokens whose hiding changed it most."""
    top = "; ".join(f"{code(occ.tokens[i])} {occ.changes[i]:+.4f}" for i in occ.top())
    return (f"{bold(code(occ.label))} ({pct(occ.base)}). Which words mattered, by occlusion: {top} "
            f"(how much {what} fell when each token was hidden).")


def table(occ: Occlusion) -> Table:
    rows = tuple((str(i), occ.tokens[i], f4(h), f"{occ.base - h:+.4f}")
                 for i, h in enumerate(occ.hidden) if h is not None)
    return Table(("#", "token hidden", "probability", "change"), rows)


def explanation(occ: Occlusion, what: str, count: int, passes: str) -> str:
    """What occlusion did, and plainly what attribution does and does not show."""
    return "\n".join(f"{n}. {step}" for n, step in enumerate((
        f"**Occlusion**: each of your text's {count} tokens was hidden in turn (replaced by "
        f"{code(occ.replacement)}), and {passes}: one batched forward pass, with your text as typed in the "
        f"first row.",
        f"A token's score is how much {what} fell when it was hidden ({f4(occ.base)} with every token): "
        f"positive, the token supported {code(occ.label)}; negative, it worked against it; near 0, this "
        "model hardly used it here.",
        "**What it shows**: which tokens this model's answer leaned on, for this text.",
        "**What it does not show**: why; how tokens work together (hiding two at once can change the answer "
        f"more or less than the sum of hiding each); or what a person would weigh. {code(occ.replacement)} is "
        "itself an input the model reacts to, so part of a change can be the model's reaction to the mask "
        "rather than to the missing word. Special tokens the tokenizer added were not hidden.",
        "The picture shades each token: blue supported the label, red worked against it, deeper is a bigger "
        "change (its number is written under it).",
    ), start=1))


def picture(occ: Occlusion, what: str) -> Image:
    """The shaded tokens; `what` (plain text) names the number that changed ("the score of food")."""
    from core.render.shading import render_shading  # matplotlib loads on the first picture

    png = render_shading(occ.tokens, occ.changes, title=f"Which tokens mattered for {occ.label}", what=what)
    top = ", ".join(f"'{occ.tokens[i]}' {occ.changes[i]:+.4f}" for i in occ.top())
    return Image(png, "which-words-mattered.png",
                 f"The text's {len(occ.tokens)} tokens shaded by how much hiding each changed {what}: blue "
                 f"supported {occ.label}, red worked against it. Biggest: {top}."[:400])


def printed(occ: Occlusion) -> list[str]:
    """What every occlusion snippet prints: the label and its probability, then each hidden token's change."""
    return [f"{occ.label} {f4(occ.base)}"] + [f"{occ.tokens[i]} {occ.base - h:+.4f}"
                                                for i, h in enumerate(occ.hidden) if h is not None]


def result(command: str, loaded: Loaded, occ: Occlusion, *, what: str, count: int, passes: str, snippet: str,
           notices: tuple[str, ...] = ()) -> Result:
    return Result(
        command=command,
        answer=answer(command, occ, what),
        table=table(occ),
        images=(picture(occ, to_plain(what)),),
        explanation=explanation(occ, what, count, passes),
        code=with_output(snippet, printed(occ)),
        model=loaded.spec.hub_id,
        notices=notices,
        actions=back_action(command),
    )


# --------------------------------------------------------------------------- snippet pieces


def snippet_setup(loaded: Loaded, model_class: str) -> str:
    """Imports, the model and tokenizer, and the helper that shows tokens readably (as /compare's)."""
    from core.tasks.compare import READABLE

    return ("import re\n\nimport torch\n"
            f"from transformers import {model_class}, AutoTokenizer\n\n{model_line(loaded)}\n"
            "tokenizer = AutoTokenizer.from_pretrained(MODEL)\n"
            f"model = {model_class}.from_pretrained(MODEL)\n" + READABLE)


HIDE = """
positions = [i for i in {where} if not special[i]]  # your text's own tokens
HIDE = tokenizer.{which}_token_id
batch = ids.repeat(1 + len(positions), 1)  # row 0: your text; row k: token positions[k - 1] hidden
for row, i in enumerate(positions, start=1):
    batch[row, i] = HIDE
"""

PRINT = """print({label}, f"{{float(base):.4f}}")
tokens = tokenizer.convert_ids_to_tokens(ids[0])
for row, i in enumerate(positions, start=1):  # how much the label's probability fell with token i hidden
    print(readable(tokenizer, tokens[i]), f"{{float(base - hidden[row - 1]):+.4f}}")"""


def hide_lines(which: str, where: str = "range(ids.shape[1])") -> str:
    return HIDE.format(which=which, where=where)


def which_token(loaded: Loaded, token: str) -> str:
    return "mask" if token == getattr(loaded.tokenizer, "mask_token", None) else "unk"
