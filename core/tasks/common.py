"""Helpers every task shares: loading its model, counting tokens, formatting numbers."""
from __future__ import annotations

from core.context import TaskContext
from core.errors import UserError
from core.models import Loaded


def load(ctx: TaskContext, command: str, *kinds: str) -> Loaded:
    loaded = ctx.models.get(command, ctx.pack.spec(command))
    if kinds and loaded.kind not in kinds:
        raise UserError(f"The model for /{command} ({loaded.spec.hub_id}) is a `{loaded.kind}` model; "
                        f"/{command} needs one of: {', '.join(kinds)}.")
    return loaded


def max_tokens(loaded: Loaded) -> int:
    """The longest input the model takes, from the tokenizer and the model's position table."""
    limits = [loaded.tokenizer.model_max_length]
    config = getattr(loaded.model, "config", None)
    for name in ("max_position_embeddings", "n_positions"):
        if config is not None and isinstance(getattr(config, name, None), int):
            limits.append(getattr(config, name))
    return int(min(x for x in limits if x and x > 0))


def truncation_notice(loaded: Loaded, *texts: str) -> tuple[int, str | None]:
    """How many tokens the input has, and a notice if the model will only see the start."""
    count = len(loaded.tokenizer(*texts)["input_ids"])
    return count, too_long_notice(count, max_tokens(loaded))


def too_long_notice(count: int, limit: int) -> str | None:
    if count <= limit:
        return None
    return (f"Your text is {count} tokens long but this model reads at most {limit}; "
            f"only the first {limit} tokens were used.")


def f4(x: float) -> str:
    return f"{x:.4f}"


def pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def model_line(loaded: Loaded) -> str:
    """The snippet's `MODEL = ...` line: the folder or Hub id the bot loaded, so the code runs as-is."""
    spec = loaded.spec
    line = f"MODEL = {spec.source!r}"
    if spec.gguf_file:
        line += f"  # holds a quantised copy of {spec.hub_id}"
        line += f"\nGGUF = {spec.gguf_file!r}  # de-quantised when loaded (about 20 s)"
    elif spec.is_local and "/" in spec.hub_id and not spec.hub_id.startswith("tiny/"):
        line += f"  # a local copy of {spec.hub_id}; the Hub id works too"
    return line



def with_output(code: str, lines: list[str] | tuple[str, ...]) -> str:
    """The snippet followed by what it prints, as comments: the learner sees what to expect,
    and the snippet tests check that running it prints exactly this."""
    printed = "\n".join("# " + line if line else "#" for line in "\n".join(lines).splitlines())
    return f"{code}\n# It prints:\n{printed}"


def row_lines(table_rows: tuple[tuple[str, ...], ...]) -> list[str]:
    return [" ".join(row) for row in table_rows]
