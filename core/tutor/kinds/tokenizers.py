"""Tokenizer questions: how many tokens, how a word splits, which token is special, [CLS]'s id, padding.

Every key is read off one call of the pack's tokenizer (the /tokenize model); the snippet makes the
same call and prints the key.
"""
from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any

from core.context import TaskContext
from core.markup import code
from core.results import Table
from core.tasks.shared.common import and_list, load, model_line, with_output
from core.tokens import readable_tokens
from core.tutor import bank
from core.tutor.kinds.base import Kind, Steps
from core.tutor.kinds.words import longest_word
from core.tutor.options import OPTIONS, arrange, ranked
from core.tutor.questions import Explore, Item, NoQuestion, Question, ordinal
from core.wording import plural

HEAD = """from transformers import AutoTokenizer

{model}
tokenizer = AutoTokenizer.from_pretrained(MODEL{gguf})
"""
PAD_PARTNER = "The second sentence in this batch has a length of its own."
"""The second text of a padding question or step: neither shorter nor longer by its wording (a learner's own
sentence may be either)."""
SEGMENTATIONS = 400
"""Other splits of a word considered for token-split's distractors (a long word has very many)."""


def _tokenizer(ctx: TaskContext) -> tuple[Any, Any, str]:
    loaded = load(ctx, "tokenize")
    head = HEAD.format(model=model_line(loaded), gguf=", gguf_file=GGUF" if loaded.spec.gguf_file else "")
    return loaded, loaded.tokenizer, head


def _table(ids: list[int], shown: list[str], specials: list[int] | None = None) -> Table:
    marks = specials or [0] * len(ids)
    rows = zip(shown, ids, marks, strict=True)
    return Table(("#", "token", "id", "special"),
                 tuple((str(i), t, str(n), "yes" if m else "") for i, (t, n, m) in enumerate(rows)))


def _tokens(shown: list[str]) -> str:
    return " ".join(code(t) for t in shown)


def _explore(text: str) -> tuple[Explore, ...]:
    return (Explore("Open as /tokenize", "tokenize", {"text": text}),)


@dataclass(frozen=True)
class Encoded:
    """One call of the tokenizer on a text, with the special tokens marked."""

    loaded: Any
    head: str
    text: str
    ids: list[int]
    marks: list[int]
    raw: list[str]
    shown: list[str]

    @property
    def tok(self) -> Any:
        return self.loaded.tokenizer

    @property
    def added(self) -> list[int]:
        return [i for i, m in enumerate(self.marks) if m]


def encode(ctx: TaskContext, item: Item) -> Encoded:
    loaded, tok, head = _tokenizer(ctx)
    enc = tok(item.text, truncation=True, return_special_tokens_mask=True)
    raw = tok.convert_ids_to_tokens(enc["input_ids"])
    return Encoded(loaded, head, item.text, list(enc["input_ids"]), list(enc["special_tokens_mask"]), raw,
                   readable_tokens(tok, raw))


def count(e: Encoded, rng: random.Random) -> Question:
    word, shown = e.text, e.shown
    n, own = len(e.ids), len(e.ids) - len(e.added)
    added = [code(shown[i]) for i in e.added]
    right = (float(n), str(n), f"Right: {_tokens(shown)}: {plural(own, 'piece')} of the word"
             + (f" and the special tokens {and_list(added)}." if added else ", and no special tokens."))
    candidates = []
    if added:
        candidates.append((float(own), str(own), f"That counts only the word's own pieces; the tokenizer also adds "
                                                 f"{and_list(added)}."))
    if own > 1:
        candidates.append((float(1 + len(added)), str(1 + len(added)), f"That would be the word kept whole; "
                           f"{code(word)} is not one entry of the vocabulary, so it became {plural(own, 'piece')}."))
    letters = len(word) + len(added)
    if letters > n:
        candidates.append((float(letters), str(letters), f"That would be one token per letter; the tokenizer "
                           f"keeps pieces of several letters: {_tokens(shown)}."))
    near = sorted((d for d in range(max(1, n - 5), n + 6) if d != n), key=lambda d: abs(d - n))
    candidates += [(float(d), str(d), f"The run gave {n}, not {d}: {_tokens(shown)}.") for d in near]
    options, key, why = ranked(right, candidates, rng)
    return Question(
        kind="token-count", topic="tokenizers", inputs={"word": word},
        prompt=f"How many tokens does the tokenizer turn {code(word)} into, counting the special tokens it adds?",
        options=options, key=key, why=why, literal=False, model=e.loaded.spec.hub_id,
        explanation=("1. The tokenizer looks the word up in its vocabulary; a word it does not hold whole becomes "
                     "several known pieces (subwords).\n2. Then it adds its special tokens around the text.\n"
                     f"3. Here: {plural(own, 'piece')} + {plural(len(added), 'special token')} = {n}."),
        table=_table(e.ids, shown, e.marks), explore=_explore(word),
        code=with_output(e.head + f'ids = tokenizer({word!r}, truncation=True)["input_ids"]\n'
                         "print(len(ids), tokenizer.convert_ids_to_tokens(ids))", [f"{n} {e.raw!r}"]),
    )


@dataclass(frozen=True)
class Split:
    """How the tokenizer split one word, and what it could have split it into."""

    loaded: Any
    head: str
    word: str
    raw: list[str]
    vocab: frozenset[str]
    first: str
    """The marker the tokenizer puts on a word's first piece (`▁` for SentencePiece), or ""."""
    rest: str
    """The marker on the pieces that continue a word (WordPiece's `##`), or ""."""
    others: tuple[tuple[str, ...], ...] = ()
    """Other cuts of the word into as many pieces the vocabulary holds (`_segmentations`)."""

    @property
    def parts(self) -> list[str]:
        return [self.raw[0][len(self.first):]] + [t[len(self.rest):] for t in self.raw[1:]]

    def pieces(self, parts: tuple[str, ...] | list[str]) -> list[str]:
        return [(self.first if i == 0 else self.rest) + p for i, p in enumerate(parts)]

    def shown(self, parts: tuple[str, ...] | list[str]) -> str:
        return " ".join(readable_tokens(self.loaded.tokenizer, self.pieces(parts)))


def measure_split(ctx: TaskContext, item: Item) -> Split:
    loaded, tok, head = _tokenizer(ctx)
    raw = tok.tokenize(item.text)
    if not raw or (tok.unk_token and tok.unk_token in raw) or len(raw) > 8:
        raise NoQuestion(f"{item.text!r} gives no clean split")
    model = getattr(getattr(tok, "backend_tokenizer", None), "model", None)
    wordpiece = type(model).__name__ == "WordPiece"
    rest = (getattr(model, "continuing_subword_prefix", None) or "##") if wordpiece else ""
    first = next((m for m in ("▁", "Ġ") if raw[0].startswith(m)), "")
    if rest and not all(t.startswith(rest) for t in raw[1:]):
        raise NoQuestion(f"{item.text!r} splits into more than one word")
    found = Split(loaded, head, item.text, raw, _vocab(tok), first, rest)
    return dataclasses.replace(found, others=tuple(o for o in _segmentations(found) if list(o) != found.parts))


def split(s: Split, rng: random.Random) -> Question:
    word, tok, parts = s.word, s.loaded.tokenizer, s.parts
    wordpiece = bool(s.rest)
    how = ("WordPiece takes the longest piece its vocabulary holds from the start of the word, then the longest "
           "piece that continues it (`##`)" if wordpiece else "the tokenizer applies its learned merges in order")
    others = list(s.others)
    rng.shuffle(others)
    others.sort(key=lambda o: len(o) != len(parts))  # as many pieces as the real split first: no length cue
    key = s.shown(parts)
    wrong = [(s.shown(o), _split_reason(s, o, how)) for o in others]
    ids = tok.convert_tokens_to_ids(s.raw)
    right = (key, f"Right: {how}. The pieces and their ids: "
             + ", ".join(f"{code(t)} {i}" for t, i in zip(readable_tokens(tok, s.raw), ids, strict=True)) + ".")
    options, at, why = arrange(right, wrong, rng)
    return Question(
        kind="token-split", topic="tokenizers", inputs={"word": word},
        prompt=f"How does the tokenizer split {code(word)} (leaving out the special tokens)? Every option uses "
               "pieces its vocabulary holds.",
        options=options, key=at, why=why, model=s.loaded.spec.hub_id,
        explanation=(f"1. The tokenizer's vocabulary has {len(s.vocab):,} entries; {code(word)} is "
                     + ("one of them." if len(s.raw) == 1 else f"not one of them, so it became {len(s.raw)} pieces.")
                     + ("\n2. `##` marks a piece that continues the word before it." if wordpiece else "")),
        table=_table(ids, readable_tokens(tok, s.raw)), explore=_explore(word),
        code=with_output(s.head + f"print(tokenizer.tokenize({word!r}))", [repr(s.raw)]),
    )


def _segmentations(s: Split) -> list[tuple[str, ...]]:
    """Other ways to cut the word into pieces the vocabulary holds (each with the tokenizer's markers),
    as many as the real split (the same length on the page, so only the rule the tokenizer follows
    tells them apart) or one more, for a word with few cuts of its own length."""
    joined, most = "".join(s.parts), len(s.raw) + 1
    found: dict[int, list[tuple[str, ...]]] = {most - 1: [], most: []}  # by number of pieces, each capped
    budget = [SEGMENTATIONS * 20]

    def walk(start: int, parts: list[str]) -> None:
        budget[0] -= 1
        if all(len(f) >= SEGMENTATIONS // 2 for f in found.values()) or budget[0] <= 0:
            return
        if start == len(joined):
            if len(found.get(len(parts), [None] * SEGMENTATIONS)) < SEGMENTATIONS // 2:
                found[len(parts)].append(tuple(parts))
            return
        if len(parts) == most:
            return
        for end in range(len(joined), start, -1):
            part = joined[start:end]
            if (s.first if start == 0 else s.rest) + part in s.vocab:
                walk(end, [*parts, part])

    walk(0, [])
    return [*found[most - 1], *found[most]]


def _split_reason(s: Split, other: tuple[str, ...], how: str) -> str:
    parts = s.parts
    at = next((i for i, (a, b) in enumerate(zip(parts, other, strict=False)) if a != b), 0)
    done = "".join(parts[:at])
    where = f"after {code(done)}" if done else "at the start"
    if s.rest:
        return (f"Every piece is in the vocabulary, but {how}: {where} the longest piece it holds is "
                f"{code(s.pieces(parts)[at])}, not {code(s.pieces(other)[at])}.")
    return f"Every piece is in the vocabulary, but {how}: that gives {code(s.shown(parts))}."


def _vocab(tok: Any) -> frozenset[str]:
    return frozenset(tok.get_vocab())


def special(e: Encoded, rng: random.Random) -> Question:
    tok, text, shown, raw = e.tok, e.text, e.shown, e.raw
    if not e.added:
        raise NoQuestion("this tokenizer adds no special tokens")
    pick = rng.choice(e.added)
    roles = {tok.cls_token: "it opens every input (a BERT-style classifier reads its answer off this position's "
                            "final vector; a model that averages its tokens does not)",
             tok.sep_token: "it closes the text (and separates the two texts of a pair)",
             tok.bos_token: "it marks the beginning of the text", tok.eos_token: "it marks the end of the text"}
    role = roles.get(raw[pick], "the tokenizer adds it to every input")
    right = (shown[pick], f"Right: {code(shown[pick])} was added by the tokenizer (special_tokens_mask 1), not typed: "
             f"{role}.")
    unused = [t for t in dict.fromkeys(getattr(tok, "all_special_tokens", ())) if t not in raw]
    wrong = [(t, _unused_reason(tok, t)) for t in unused]
    ordinary = [i for i, m in enumerate(e.marks) if not m and raw[i] not in unused]
    rng.shuffle(ordinary)
    wrong += [(shown[i], _ordinary_reason(shown[i])) for i in ordinary]
    options, key, why = arrange(right, wrong, rng)
    added = and_list([code(shown[i]) for i in e.added])
    return Question(
        kind="special-token", topic="tokenizers", inputs={"text": text},
        prompt=f"The tokenizer reads {code(text)}. Which of these tokens does it add to the text by itself?",
        options=options, key=key, why=why, model=e.loaded.spec.hub_id,
        explanation=(f"1. The tokens: {_tokens(shown)}.\n"
                     f"2. The tokenizer added {added}; everything else comes from the text."),
        table=_table(e.ids, shown, e.marks), explore=_explore(text),
        code=with_output(e.head + f"enc = tokenizer({text!r}, truncation=True, return_special_tokens_mask=True)\n"
                         'for token, special in zip(tokenizer.convert_ids_to_tokens(enc["input_ids"]), '
                         'enc["special_tokens_mask"], strict=True):\n    if special:\n        print(token)',
                         [raw[i] for i in e.added]),
    )


def _unused_reason(tok: Any, token: str) -> str:
    if token == tok.pad_token:
        return (f"{code(token)} is the padding token: the tokenizer adds it only when `padding=True` evens out "
                "the rows of a batch; one text alone gets none.")
    if token == tok.mask_token:
        return f"{code(token)} is the mask token: it appears only where you write it, for fill-mask."
    if token == tok.unk_token:
        return (f"{code(token)} stands in for a piece the vocabulary lacks; every piece of this text is in it, so "
                "there is none here.")
    return f"{code(token)} is one of this tokenizer's special tokens, but it did not add it to this text."


def _ordinary_reason(token: str) -> str:
    if token.startswith("##"):
        return f"{code(token)} is an ordinary piece: `##` only says it continues the word before it."
    if not any(ch.isalnum() for ch in token):
        return f"{code(token)} is punctuation from the text: an ordinary token."
    return f"{code(token)} is a piece of the text itself."


def id_token(e: Encoded, rng: random.Random) -> Question:
    ids, shown, text = e.ids, e.shown, e.text
    if len(set(shown)) < OPTIONS:
        raise NoQuestion("too few distinct tokens")
    at = rng.randrange(len(ids))
    value, key = ids[at], shown[at]
    where = ordinal(ids.index(value) + 1)
    own = (f" (the tokenizer's own {code(key)}: the same id in every input)" if e.marks[at] else "")
    right = (key, f"Right: {value} is the {where} id, and the {where} token is {code(key)}{own}.")
    order = sorted(range(len(ids)), key=lambda j: (abs(j - at) > 1, rng.random()))  # its neighbours first
    wrong = [(shown[j], f"{code(shown[j])} is {ids[j]}, the {ordinal(j + 1)} id; {value} is the {where}.")
             for j in order if shown[j] != key]
    options, key_at, why = arrange(right, wrong, rng, context=text)
    return Question(
        kind="cls-id", topic="tokenizers", inputs={"text": text, "id": value},
        prompt=(f"The tokenizer turns {code(text)} into the ids {code(' '.join(map(str, ids)))}. "
                f"Which token has the id {value}?"),
        options=options, key=key_at, why=why, model=e.loaded.spec.hub_id,
        explanation=("1. The model never sees text, only ids: each token's row number in the vocabulary, in the "
                     "order of the tokens.\n2. The tokenizer adds its special tokens first and last, so the ids "
                     "and the text's words are out of step by one."),
        table=_table(ids, shown, e.marks), explore=_explore(text),
        code=with_output(e.head + f'ids = tokenizer({text!r}, truncation=True)["input_ids"]\n'
                         f"print(ids.index({value}) + 1, tokenizer.convert_ids_to_tokens({value}))",
                         [f"{ids.index(value) + 1} {e.raw[at]}"]),
    )


@dataclass(frozen=True)
class Padded:
    loaded: Any
    head: str
    texts: list[str]
    masks: list[list[int]]


def measure_padding(ctx: TaskContext, item: Item) -> Padded:
    loaded, tok, head = _tokenizer(ctx)
    if tok.pad_token is None:
        raise NoQuestion("this tokenizer has no padding token")
    texts = [item.text, item.extra[0] if item.extra else PAD_PARTNER]
    enc = tok(texts, padding=True, truncation=True)
    return Padded(loaded, head, texts, [list(m) for m in enc["attention_mask"]])


def padding(p: Padded, rng: random.Random) -> Question:
    tok, texts, masks = p.loaded.tokenizer, p.texts, p.masks
    lengths = [sum(m) for m in masks]
    if lengths[0] == lengths[1]:
        raise NoQuestion("both texts have the same length")
    short = 0 if lengths[0] < lengths[1] else 1
    zeros = masks[short].count(0)
    words = abs(len(texts[0].split()) - len(texts[1].split()))
    right = (float(zeros), str(zeros), f"Right: {lengths[short]} tokens padded to the longer text's "
             f"{lengths[1 - short]}: {plural(zeros, 'padding token')}, each with attention_mask 0, so the model "
             "ignores them.")
    candidates = [(0.0, "0", "`padding=True` pads every row to the longest one in the batch, so the shorter row "
                             "gets padding.")]
    if words != zeros:
        candidates.append((float(words), str(words), f"{words} is the difference in words; padding counts tokens: "
                                                     f"{lengths[0]} and {lengths[1]}."))
    longer = lengths[1 - short]
    candidates.append((float(longer), str(longer), f"{longer} is the longer text's length; the 0s are only the "
                                                   f"padding added to the shorter one: {longer} - {lengths[short]}."))
    near = sorted((d for d in range(1, zeros + 6) if d != zeros), key=lambda d: abs(d - zeros))
    candidates += [(float(d), str(d), f"The tokens number {lengths[0]} and {lengths[1]}: the difference is {zeros}, "
                                      f"not {d}.") for d in near]
    options, key, why = ranked(right, candidates, rng)
    shorter = code(texts[short])
    return Question(
        kind="pad-count", topic="tokenizers", inputs={"texts": texts},
        prompt=(f"Two texts go through the tokenizer together with `padding=True`: {code(texts[0])} and "
                f"{code(texts[1])}. How many 0s does the attention_mask of {shorter} get?"),
        options=options, key=key, why=why, literal=False, model=p.loaded.spec.hub_id,
        explanation=("1. A batch is one tensor, so every row needs the same length: `padding=True` adds "
                     f"{code(tok.pad_token)} to the shorter rows.\n2. The attention_mask marks real tokens 1 and "
                     "padding 0, so attention skips the padding."),
        table=Table(("text", "tokens", "attention_mask"),
                    tuple((t, str(n), " ".join(map(str, m))) for t, n, m in zip(texts, lengths, masks, strict=True))),
        explore=_explore(texts[short]),
        code=with_output(p.head + f"enc = tokenizer({texts!r}, padding=True, truncation=True)\n"
                         'for mask in enc["attention_mask"]:\n    print(mask.count(0), mask)',
                         [f"{m.count(0)} {m}" for m in masks]),
    )


def _word(text: str) -> Item | None:
    word = longest_word(text)
    return Item(word) if word else None


KINDS = (
    Kind("token-count", "tokenizers", "how many tokens a word becomes", "tokenize", Steps(encode, count),
         bank.WORDS, _word),
    Kind("token-split", "tokenizers", "how a word splits into subwords", "tokenize", Steps(measure_split, split),
         bank.WORDS, _word),
    Kind("special-token", "tokenizers", "which token is a special token", "tokenize", Steps(encode, special),
         bank.SENTENCES, lambda text: Item(text)),
    Kind("cls-id", "tokenizers", "which token an id stands for", "tokenize", Steps(encode, id_token),
         bank.SENTENCES, lambda text: Item(text)),
    Kind("pad-count", "tokenizers", "how much padding a batch adds", "tokenize", Steps(measure_padding, padding),
         bank.PAIRS, lambda text: Item(text, extra=(PAD_PARTNER,))),
)
