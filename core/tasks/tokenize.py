"""/tokenize: text -> tokens -> ids -> attention_mask / token_type_ids -> decoded text.

Every claim of the explanation is read off this run: which special tokens the tokenizer added,
which characters became [UNK], what the normalizer changed (lowercase, accents), what truncation
kept, and, for a byte-level BPE tokenizer, why its pieces look the way they do (core/tokens.py).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from core import tiny
from core.actions import THIS_RUN, Action
from core.context import TaskContext
from core.markup import code, plain
from core.packs import MINILM, Offline, TaskModel
from core.results import Result, Table, TokenRun
from core.tasks.shared.common import and_list, load, model_line, truncation_notice, with_output
from core.tokens import NEWLINE, SPACE, is_byte_level, noop_tokens, readable_tokens
from core.wording import plural

MODEL = TaskModel(roles=("tokenizer",), hub="google-bert/bert-base-uncased", tiny=tiny.BERT_UNCASED,
                  offline=Offline(MINILM, "tokenizer"),
                  hub_classes=("BertModel", "BertTokenizer"))
"""Only the tokenizer is loaded."""

SNIPPET = """from transformers import AutoTokenizer

{model}
tokenizer = AutoTokenizer.from_pretrained(MODEL{gguf})
enc = tokenizer({args}, truncation=True{special})
print(tokenizer.convert_ids_to_tokens(enc["input_ids"]))
print(enc["input_ids"])
print(enc["attention_mask"])
print(enc.get("token_type_ids"))
print(tokenizer.decode(enc["input_ids"]))"""


@dataclass(frozen=True)
class Run:
    """One tokenization, with what the explanation needs to say about it."""

    texts: list[str]
    raw: list[str]
    """Tokens as the tokenizer stores them (what the snippet prints)."""
    shown: list[str]
    """The same tokens as a learner reads them (`Ġ` -> `␣`, byte pieces named)."""
    ids: list[int]
    added: list[bool]
    """True for a special token the tokenizer added (not typed in the text)."""
    sources: list[str]
    """The characters of the text each token came from ('' for added tokens)."""
    spans: list[tuple[int | None, int, int]]
    """Where each token came from: (which text, start, end); None for added tokens."""
    word_ids: list[int | None]
    unknown: list[bool]
    truncated: bool


def run(ctx: TaskContext, args: dict[str, Any]) -> Result:
    loaded = load(ctx, "tokenize")
    tok = loaded.tokenizer
    texts = [args["text"]] + ([args["pair"]] if args.get("pair") else [])
    special = args.get("special", True) is not False
    _, notice = truncation_notice(loaded, *texts)
    enc = tok(*texts, truncation=True, add_special_tokens=special)
    found = _read(tok, texts, enc, truncated=notice is not None)
    types = enc.get("token_type_ids")
    notes = _notes(tok, found)
    columns = ("#", "token", "id", "attention_mask") + (("token_type_id",) if types is not None else ()) + ("note",)
    rows = tuple(
        (str(i), shown, str(found.ids[i]), str(enc["attention_mask"][i]))
        + ((str(types[i]),) if types is not None else ()) + (notes[i],)
        for i, shown in enumerate(found.shown)
    )
    decoded = tok.decode(found.ids)
    skipped = tok.decode(found.ids, skip_special_tokens=True)
    return Result(
        command="tokenize",
        answer=(f"**{plural(len(found.ids), 'token')}**: {' '.join(code(t) for t in found.shown)}\n"
                f"ids: {' '.join(str(i) for i in found.ids)}\ndecoded: {code(decoded)}"),
        table=Table(columns, rows),
        tokens=(TokenRun(tuple(found.shown), tuple(found.added)),),
        explanation=(explained := _explain(tok, found, notes, types, decoded, skipped))
        + without_specials_note(tok, texts, special, len(explained.splitlines())),
        code=with_output(
            SNIPPET.format(model=model_line(loaded), gguf=", gguf_file=GGUF" if loaded.spec.gguf_file else "",
                           args=", ".join(repr(t) for t in texts),
                           special="" if special else ", add_special_tokens=False"),
            [str(found.raw), str(found.ids), str(enc["attention_mask"]), str(types), decoded]),
        model=loaded.spec.label,
        notices=(notice,) if notice else (),
        actions=tokenize_actions(tok, texts, special),
    )


def tokenize_actions(tok: Any, texts: list[str], special: bool) -> tuple[Action, ...]:
    """Compare this text across tokenizers (/compare), and toggle the special tokens when this
    tokenizer adds any."""
    actions = [Action.to("Compare with other tokenizers", "compare", style="primary", run=THIS_RUN)]
    adds = len(tok(*texts)["input_ids"]) != len(tok(*texts, add_special_tokens=False)["input_ids"])
    if adds or not special:
        actions.append(Action.to("Without special tokens" if special else "With special tokens", "tokenize",
                                 run=THIS_RUN, special=str(not special).lower()))
    return tuple(actions)


def without_specials_note(tok: Any, texts: list[str], special: bool, steps: int) -> str:
    """The step that says what leaving out the special tokens means (`special=false`)."""
    if special:
        return ""
    enc = tok(*texts, return_special_tokens_mask=True)
    marks = zip(tok.convert_ids_to_tokens(enc["input_ids"]), enc["special_tokens_mask"], strict=True)
    added = list(dict.fromkeys(t for t, m in marks if m))
    names = f"none of {and_list([code(t) for t in added])}" if added else "none"
    return (f"\n{steps + 1}. **Without special tokens**: `special=false` passes `add_special_tokens=False`, so the "
            f"tokenizer added {names}. Models are trained with them (a BERT classifier reads the vector of the "
            "first token), so pass a text this way only to count or inspect its own tokens.")


def _read(tok: Any, texts: list[str], enc: Any, truncated: bool) -> Run:
    ids: list[int] = list(enc["input_ids"])
    raw = tok.convert_ids_to_tokens(ids)
    if enc.encodings:
        encoding = enc.encodings[0]
        added = [bool(m) for m in encoding.special_tokens_mask]
        spans = [(None if is_added else seq, a, b)
                 for seq, (a, b), is_added in zip(encoding.sequence_ids, encoding.offsets, added, strict=True)]
        word_ids = list(encoding.word_ids)
    else:  # a slow tokenizer keeps no offsets: fall back on the special-token list
        special = set(tok.all_special_ids)
        added = [i in special for i in ids]
        spans, word_ids = [(None, 0, 0)] * len(ids), [None] * len(ids)
    sources = [texts[seq][a:b] if seq is not None else "" for seq, a, b in spans]
    text_unk = getattr(tok, "unk_token", None) not in noop_tokens(tok)  # [UNK] stands for the learner's text
    unknown = [text_unk and i == tok.unk_token_id and not is_added for i, is_added in zip(ids, added, strict=True)]
    return Run(texts, raw, readable_tokens(tok, raw), ids, added, sources, spans, word_ids, unknown, truncated)


def _notes(tok: Any, run: Run) -> list[str]:
    special = set(tok.all_special_ids)
    byte_level = is_byte_level(tok)
    notes = []
    for i, token_id in enumerate(run.ids):
        if run.added[i]:
            notes.append("special")
            continue
        parts = []
        if run.unknown[i]:
            parts.append(f"unknown: stands for `{run.sources[i]}`")
        elif token_id in special:
            parts.append("special token written in your text")
        elif _same_word(run, i, i - 1):
            parts.append("subword (continues the word)")
        elif _same_word(run, i, i + 1):
            parts.append("subword (starts a word)")
        if byte_level and run.shown[i] != run.raw[i]:
            parts.append(f"stored as `{run.raw[i]}`")
        notes.append("; ".join(parts))
    return notes


def _same_word(run: Run, i: int, j: int) -> bool:
    return 0 <= j < len(run.ids) and run.word_ids[i] is not None and run.word_ids[i] == run.word_ids[j] \
        and not run.unknown[j]


def _algorithm(tok: Any) -> str:
    model = type(getattr(getattr(tok, "backend_tokenizer", None), "model", None)).__name__
    if model == "BPE" and is_byte_level(tok):
        return "byte-level BPE"
    return model if model in ("WordPiece", "BPE", "Unigram", "WordLevel") else "its own rules"


def _explain(tok: Any, run: Run, notes: list[str], types: Any, decoded: str, skipped: str) -> str:
    steps = [_explain_tokens(tok, run, notes)]
    why = _explain_pieces(tok, run)
    if why:
        steps.append(why)
    steps += [
        (f"**ids**: each token is looked up in a vocabulary of {tok.vocab_size} entries; the model only sees "
         "these numbers."),
        ("**attention_mask**: 1 for every real token; padding (when several texts are batched) would get 0, "
         "so the model ignores it."),
    ]
    if types is not None:
        second = ("the second sentence gets 1" if len(run.texts) == 2
                  else "with a second sentence (`text | pair`) it would get 1")
        steps.append(f"**token_type_ids**: which sentence each token belongs to: the first gets 0, {second}. Only "
                     "a model with segment embeddings reads them (BERT does; DistilBERT and RoBERTa do not).")
    steps.append(_explain_decode(tok, run, decoded, skipped))
    return "\n".join(f"{n}. {step}" for n, step in enumerate(steps, start=1))


def _explain_tokens(tok: Any, run: Run, notes: list[str]) -> str:
    added = list(dict.fromkeys(t for t, a in zip(run.shown, run.added, strict=True) if a))
    unknown = list(dict.fromkeys(s for s, u in zip(run.sources, run.unknown, strict=True) if u))
    split = _split_words(run, notes)
    parts = [(f"**Tokens**: the tokenizer ({type(tok).__name__}, {_algorithm(tok)}) split the text into "
              f"{len(run.ids)} tokens.")]
    parts.append(f"It added the special tokens {and_list([plain(t) for t in added])}: markers the model was trained "
                 "with, not your text." if added else "It added no special tokens.")
    if unknown:
        long = [u for u in unknown if len(u) > 1]
        whole = (f" One {plain(tok.unk_token)} stands for all of {code(long[0])}: WordPiece replaces a whole word "
                 "when any part of it is missing." if long and _algorithm(tok) == "WordPiece" else "")
        parts.append(f"{plain(tok.unk_token)} (the unknown token) replaced what its vocabulary cannot spell: "
                     f"{', '.join(code(u) for u in unknown)}.{whole}")
    if split:
        more = f", and {len(split) - 5} more" if len(split) > 5 else ""
        parts.append(f"Words split into subword pieces: {'; '.join(split[:5])}{more}.")
    else:
        parts.append("Every other word was in the vocabulary whole." if unknown
                     else "Every word was in the vocabulary whole.")
    return " ".join(parts)


def _split_words(run: Run, notes: list[str]) -> list[str]:
    """Each word the tokenizer split, with its pieces: "`lait` = `lai` + `##t`"."""
    groups: list[list[int]] = []
    for i, note in enumerate(notes):
        if note.startswith("subword (starts"):
            groups.append([i])
        elif note.startswith("subword (continues") and groups:
            groups[-1].append(i)
    words = []
    for group in groups:
        seq, start, end = run.spans[group[0]][0], run.spans[group[0]][1], run.spans[group[-1]][2]
        word = run.texts[seq][start:end].strip() if seq is not None else ""
        words.append(f"{code(word)} = " + " + ".join(code(run.shown[i]) for i in group))
    return words


def _explain_pieces(tok: Any, run: Run) -> str | None:
    """Why a byte-level BPE tokenizer's pieces look as they do, and how WordPiece's differ."""
    if not is_byte_level(tok):
        if any(run.unknown):
            return ("**Why [UNK]**: WordPiece knows only the pieces in its vocabulary. A byte-level BPE tokenizer "
                    "(GPT-2, RoBERTa) never needs an unknown token: it would split such a character into its "
                    "UTF-8 bytes, each of which has a piece.")
        if any(SPACE in t for t in run.shown):
            return f"**Why `{SPACE}`**: `▁` (SentencePiece's mark for the start of a word) is shown as `{SPACE}`."
        return None
    text_pieces = [(s, r, src) for s, r, src, a in zip(run.shown, run.raw, run.sources, run.added, strict=True)
                   if not a]
    parts = [("**Why these pieces**: this is a byte-level BPE tokenizer (the GPT-2 family). It reads your text "
              "as UTF-8 bytes and learnt its pieces by merging the most frequent pairs of bytes, so a frequent "
              "word is one piece.")]
    spaced = sorted((s for s, r, _ in text_pieces if SPACE in s and len(s) > 1), key=lambda s: "<0x" in s)
    if spaced:
        parts.append(f"Spaces are kept: a piece that starts a new word carries the space before it, stored as "
                     f"`Ġ` and shown here as `{SPACE}` (e.g. {code(spaced[0])}).")
    if any(NEWLINE in s for s, _, _ in text_pieces):
        parts.append(f"A newline is stored as `Ċ`, shown as `{NEWLINE}`.")
    split = list(dict.fromkeys(src.strip() for s, _, src in text_pieces if "<0x" in s and src.strip()))
    if split:
        parts.append(f"No piece covers all the bytes of {', '.join(code(c) for c in split)}, so "
                     f"{'it was' if len(split) == 1 else 'each was'} split into byte pieces, named here by "
                     "their bytes (e.g. `<0xF0 0x9F>`); decoding joins them back into the character.")
    parts.append("WordPiece (BERT) works differently: it splits at spaces and punctuation first, marks a piece "
                 "that continues a word with `##`, and turns a word it cannot spell into [UNK]; byte-level BPE "
                 "never needs [UNK], since every byte has a piece.")
    stored = next((r for s, r, _ in text_pieces if s != r), None)
    if stored:
        parts.append(f"The snippet prints the stored forms (such as {code(stored)}); the table shows them readably.")
    return " ".join(parts)


def _explain_decode(tok: Any, run: Run, decoded: str, skipped: str) -> str:
    head = f"**decode**: the ids turn back into {code(decoded)}; with `skip_special_tokens=True`: {code(skipped)}."
    original = " ".join(run.texts)
    if skipped == original or skipped.strip() == original.strip():
        return head + " That is your text, exactly."
    reasons = []
    changes = _normalized(tok, original)
    if changes:
        reasons.append(_normalizer_sentence(changes))
    unknown = list(dict.fromkeys(s for s, u in zip(run.sources, run.unknown, strict=True) if u))
    if unknown:
        reasons.append(f"{plain(tok.unk_token)} cannot be turned back into {', '.join(code(u) for u in unknown)}: "
                       f"the ids no longer hold those characters. And {plain(tok.unk_token)} counts as a special "
                       "token, so `skip_special_tokens=True` drops it: those words vanish from the second version.")
    if run.truncated:
        reasons.append("The ids hold only what truncation kept, so the decoded text stops early.")
    if _only_spacing_differs(tok, run, skipped):
        reasons.append("Spaces around punctuation changed: this tokenizer does not record where the spaces were, "
                       "so decode guesses.")
    if not reasons:
        reasons.append("Decoding is not always exact.")
    return head + " It differs from your text. " + " ".join(reasons)


def _normalized(tok: Any, text: str) -> list[tuple[str, str]]:
    """(word, what the tokenizer's normalizer made of it) for every word it changed."""
    normalizer = getattr(getattr(tok, "backend_tokenizer", None), "normalizer", None)
    if normalizer is None:
        return []
    changes = []
    for word in dict.fromkeys(text.split()):
        after = "".join(normalizer.normalize_str(word).split())  # BERT spaces out CJK characters
        if after != word:
            changes.append((word, after))
    return changes


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _normalizer_sentence(changes: list[tuple[str, str]]) -> str:
    did = []
    if any(word != word.lower() and after == after.lower() for word, after in changes):
        did.append("lowercased")
    if any(_strip_accents(word) != word and _strip_accents(after) == after for word, after in changes):
        did.append("stripped accents from")
    what = " and ".join(did) if did else "changed"
    examples = ", ".join(f"{code(word)} -> {code(after)}" for word, after in changes[:3])
    return (f"Before splitting, the tokenizer's normalizer {what} your text ({examples}), so decoding gives "
            "the normalized words back.")


def _only_spacing_differs(tok: Any, run: Run, skipped: str) -> bool:
    """True when decode changed nothing but the spaces (once normalizing and [UNK] are accounted for)."""
    if run.truncated:
        return False
    texts = list(run.texts)
    cuts = sorted((span for span, unknown in zip(run.spans, run.unknown, strict=True)
                   if unknown and span[0] is not None), reverse=True)
    for seq, a, b in cuts:  # leave out what [UNK] replaced: decode cannot bring it back
        texts[seq] = texts[seq][:a] + " " + texts[seq][b:]
    normalizer = getattr(getattr(tok, "backend_tokenizer", None), "normalizer", None)
    expected = " ".join(texts)
    if normalizer is not None:
        expected = normalizer.normalize_str(expected)
    squeeze = "".join
    return (" ".join(skipped.split()) != " ".join(expected.split())
            and squeeze(skipped.split()) == squeeze(expected.split()))
