"""/tokenize: text -> tokens -> ids -> attention_mask / token_type_ids -> decoded text."""
from __future__ import annotations

from typing import Any

from core.context import TaskContext
from core.results import Result, Table
from core.tasks.common import load, model_line, truncation_notice, with_output

SNIPPET = """from transformers import AutoTokenizer

{model}
tokenizer = AutoTokenizer.from_pretrained(MODEL{gguf})
enc = tokenizer({args}, truncation=True)
print(tokenizer.convert_ids_to_tokens(enc["input_ids"]))
print(enc["input_ids"])
print(enc["attention_mask"])
print(enc.get("token_type_ids"))
print(tokenizer.decode(enc["input_ids"]))"""


def run(ctx: TaskContext, args: dict[str, Any]) -> Result:
    loaded = load(ctx, "tokenize")
    tok = loaded.tokenizer
    texts = [args["text"]] + ([args["pair"]] if args.get("pair") else [])
    count, notice = truncation_notice(loaded, *texts)
    enc = tok(*texts, truncation=True)
    ids: list[int] = enc["input_ids"]
    tokens = tok.convert_ids_to_tokens(ids)
    types = enc.get("token_type_ids")
    notes = _notes(tok, ids, tokens, enc.word_ids() if enc.encodings else [None] * len(ids))
    columns = ("#", "token", "id", "attention_mask") + (("token_type_id",) if types is not None else ()) + ("note",)
    rows = tuple(
        (str(i), t, str(ids[i]), str(enc["attention_mask"][i]))
        + ((str(types[i]),) if types is not None else ()) + (notes[i],)
        for i, t in enumerate(tokens)
    )
    decoded = tok.decode(ids)
    plain = tok.decode(ids, skip_special_tokens=True)
    return Result(
        command="tokenize",
        answer=(f"**{len(ids)} tokens**: {' '.join(f'`{t}`' for t in tokens)}\n"
                f"ids: {' '.join(str(i) for i in ids)}\ndecoded: `{decoded}`"),
        table=Table(columns, rows),
        explanation=_explain(tok, tokens, notes, types, decoded, plain, len(texts)),
        code=with_output(
            SNIPPET.format(model=model_line(loaded), gguf=", gguf_file=GGUF" if loaded.spec.gguf_file else "",
                           args=", ".join(repr(t) for t in texts)),
            [str(tokens), str(ids), str(enc["attention_mask"]), str(types), decoded]),
        model=loaded.spec.hub_id,
        notices=(notice,) if notice else (),
    )


def _notes(tok: Any, ids: list[int], tokens: list[str], word_ids: list[int | None]) -> list[str]:
    special = set(tok.all_special_ids)
    notes = []
    for i, token_id in enumerate(ids):
        if token_id in special:
            notes.append("special")
        elif i > 0 and word_ids[i] is not None and word_ids[i] == word_ids[i - 1]:
            notes.append("subword (continues the word)")
        elif i + 1 < len(ids) and word_ids[i] is not None and word_ids[i + 1] == word_ids[i]:
            notes.append("subword (starts a word)")
        else:
            notes.append("")
    return notes


def _explain(tok: Any, tokens: list[str], notes: list[str], types: Any, decoded: str, plain: str, n: int) -> str:
    specials = sorted({t for t, note in zip(tokens, notes) if note == "special"})
    pieces = [t for t, note in zip(tokens, notes) if note.startswith("subword")]
    lines = [
        f"1. **Tokens**: the tokenizer ({type(tok).__name__}) split the text into {len(tokens)} tokens. "
        + (f"Special tokens added around it: {', '.join(specials)}. " if specials else "No special tokens added. ")
        + (f"Words split into subword pieces: {', '.join(pieces)}." if pieces else "Every word was in the vocabulary whole."),
        f"2. **ids**: each token is looked up in a vocabulary of {tok.vocab_size} entries; the model only sees these numbers.",
        "3. **attention_mask**: 1 for every real token; padding (when several texts are batched) would get 0, "
        "so the model ignores it.",
    ]
    if types is not None:
        second = "the second sentence gets 1" if n == 2 else "with a second sentence (`text | pair`) it would get 1"
        lines.append(f"4. **token_type_ids**: which sentence each token belongs to: the first gets 0, {second}.")
    lines.append(f"{len(lines) + 1}. **decode**: the ids turn back into `{decoded}`; without special tokens: `{plain}`. "
                 "Decoding is not always exact: uncased models lowercase, and spaces around punctuation can change.")
    return "\n".join(lines)
