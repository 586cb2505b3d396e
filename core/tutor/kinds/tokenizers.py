"""Tokenizer questions: how many tokens, how a word splits, which token is special, [CLS]'s id, padding.

Every key is read off one call of the pack's tokenizer (the /tokenize model); the snippet makes the
same call and prints the key.
"""
from __future__ import annotations

import random
from typing import Any

from core.context import TaskContext
from core.markup import code
from core.results import Table
from core.tasks.common import and_list, load, model_line, with_output
from core.tokens import readable_tokens
from core.tutor import bank
from core.tutor.kinds import Kind
from core.tutor.kinds.words import longest_word
from core.tutor.questions import Explore, Item, NoQuestion, Question, shuffled
from core.wording import plural

HEAD = """from transformers import AutoTokenizer

{model}
tokenizer = AutoTokenizer.from_pretrained(MODEL{gguf})
"""
PAD_PARTNER = "A much longer sentence needs more tokens than a short one."


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


def count(ctx: TaskContext, item: Item, rng: random.Random) -> Question:
    loaded, tok, head = _tokenizer(ctx)
    word = item.text
    enc = tok(word, truncation=True, return_special_tokens_mask=True)
    ids, marks = enc["input_ids"], enc["special_tokens_mask"]
    raw = tok.convert_ids_to_tokens(ids)
    shown = readable_tokens(tok, raw)
    n, own = len(ids), len(ids) - sum(marks)
    added = [code(t) for t, m in zip(shown, marks, strict=True) if m]
    right = (str(n), f"Right: {_tokens(shown)}: {plural(own, 'piece')} of the word"
             + (f" and the special tokens {and_list(added)}." if added else ", and no special tokens."))
    wrong = []
    if added:
        wrong.append((str(own), f"That counts only the word's own pieces; the tokenizer also adds {and_list(added)}."))
    if own > 1:
        wrong.append((str(1 + len(added)), f"That would be the word kept whole; {code(word)} is not one entry of the "
                      f"vocabulary, so it became {plural(own, 'piece')}."))
    wrong += [(str(d), f"The run gave {n}, not {d}: {_tokens(shown)}.") for d in (n + 1, n + 2, n - 1, n + 3) if d > 0]
    options, key, why = shuffled(right, wrong, rng, order=int)
    return Question(
        kind="token-count", topic="tokenizers", inputs={"word": word},
        prompt=f"How many tokens does the tokenizer turn {code(word)} into, counting the special tokens it adds?",
        options=options, key=key, why=why, literal=False, model=loaded.spec.hub_id,
        explanation=("1. The tokenizer looks the word up in its vocabulary; a word it does not hold whole becomes "
                     "several known pieces (subwords).\n2. Then it adds its special tokens around the text.\n"
                     f"3. Here: {plural(own, 'piece')} + {plural(len(added), 'special token')} = {n}."),
        table=_table(ids, shown, marks), explore=_explore(word),
        code=with_output(head + f'ids = tokenizer({word!r}, truncation=True)["input_ids"]\n'
                         "print(len(ids), tokenizer.convert_ids_to_tokens(ids))", [f"{n} {raw!r}"]),
    )


def split(ctx: TaskContext, item: Item, rng: random.Random) -> Question:
    loaded, tok, head = _tokenizer(ctx)
    word = item.text
    raw = tok.tokenize(word)
    if not raw or (tok.unk_token and tok.unk_token in raw) or len(raw) > 8:
        raise NoQuestion(f"{word!r} gives no clean split")
    wordpiece = len(raw) > 1 and all(t.startswith("##") for t in raw[1:])
    shown = readable_tokens(tok, raw)
    pieces = [shown[0]] + [t[2:] for t in shown[1:]] if wordpiece else shown
    joined, cuts = "".join(pieces), _cuts(pieces)

    def render(at: tuple[int, ...]) -> str:
        parts = [joined[a:b] for a, b in zip((0, *at), (*at, len(joined)), strict=True)]
        return " ".join(parts[:1] + [("##" + p if wordpiece else p) for p in parts[1:]])

    vocab = _vocab(tok)
    how = ("WordPiece takes the longest piece its vocabulary holds from the start of the word, then the longest "
           "piece that continues it (`##`)" if wordpiece else "the tokenizer applies its learned merges in order")

    def reason(at: tuple[int, ...]) -> str:
        parts = render(at).split(" ")
        missing = [p for p in parts if p not in vocab and ("Ġ" + p) not in vocab]
        if missing:
            return f"{code(missing[0])} is not in the vocabulary, so the tokenizer cannot make this split."
        return f"Every piece is in the vocabulary, but {how}: that gives {code(render(cuts))}."

    wrong = [(render(at), reason(at)) for at in _other_cuts(cuts, len(joined), rng)]
    right = (render(cuts), f"Right: {how}. The pieces and their ids: "
             + ", ".join(f"{code(t)} {i}" for t, i in zip(shown, tok.convert_tokens_to_ids(raw), strict=True)) + ".")
    options, key, why = shuffled(right, wrong, rng)
    return Question(
        kind="token-split", topic="tokenizers", inputs={"word": word},
        prompt=f"How does the tokenizer split {code(word)} (leaving out the special tokens)?",
        options=options, key=key, why=why, model=loaded.spec.hub_id,
        explanation=(f"1. The tokenizer's vocabulary has {len(vocab):,} entries; {code(word)} is "
                     + ("one of them." if len(raw) == 1 else f"not one of them, so it became {len(raw)} pieces.")
                     + ("\n2. `##` marks a piece that continues the word before it." if wordpiece else "")),
        table=_table(tok.convert_tokens_to_ids(raw), shown), explore=_explore(word),
        code=with_output(head + f"print(tokenizer.tokenize({word!r}))", [repr(raw)]),
    )


def _cuts(pieces: list[str]) -> tuple[int, ...]:
    at, out = 0, []
    for piece in pieces[:-1]:
        at += len(piece)
        out.append(at)
    return tuple(out)


def _other_cuts(cuts: tuple[int, ...], length: int, rng: random.Random) -> list[tuple[int, ...]]:
    """Plausible wrong splits: a boundary moved by one or two letters, one dropped, one added, none."""
    found: list[tuple[int, ...]] = []
    for i, cut in enumerate(cuts):
        for shift in (-1, 1, -2, 2):
            moved = tuple(sorted({*cuts[:i], cut + shift, *cuts[i + 1:]}))
            if all(0 < c < length for c in moved) and len(moved) == len(cuts):
                found.append(moved)
        found.append(cuts[:i] + cuts[i + 1:])
    for extra in (length // 2, 2, 3, length - 3, length - 2):
        if extra not in cuts and 0 < extra < length:
            found.append(tuple(sorted((*cuts, extra))))
    rng.shuffle(found)
    if cuts:
        found.append(())  # the whole word, last: usually the least plausible
    return [c for c in dict.fromkeys(found) if c != cuts]


def _vocab(tok: Any) -> frozenset[str]:
    return frozenset(tok.get_vocab())


def special(ctx: TaskContext, item: Item, rng: random.Random) -> Question:
    loaded, tok, head = _tokenizer(ctx)
    text = item.text
    enc = tok(text, truncation=True, return_special_tokens_mask=True)
    raw = tok.convert_ids_to_tokens(enc["input_ids"])
    shown, marks = readable_tokens(tok, raw), enc["special_tokens_mask"]
    specials = [i for i, m in enumerate(marks) if m]
    if not specials:
        raise NoQuestion("this tokenizer adds no special tokens")
    names = set(getattr(tok, "all_special_tokens", ()))
    ordinary = [i for i, m in enumerate(marks) if not m and shown[i] not in names]
    ordinary.sort(key=lambda i: (not shown[i].startswith("##"), shown[i].isalnum(), rng.random()))
    pick = rng.choice(specials)
    roles = {tok.cls_token: "it opens every input (a BERT-style classifier reads its answer off this position's "
                            "final vector; a model that averages its tokens does not)",
             tok.sep_token: "it closes the text (and separates the two texts of a pair)",
             tok.bos_token: "it marks the beginning of the text", tok.eos_token: "it marks the end of the text"}
    role = roles.get(raw[pick], "the tokenizer adds it to every input")
    right = (shown[pick], f"Right: {code(shown[pick])} was added by the tokenizer (special_tokens_mask 1), not typed: "
             f"{role}.")
    wrong = [(shown[i], _ordinary_reason(shown[i])) for i in ordinary]
    options, key, why = shuffled(right, wrong, rng)
    added = and_list([code(shown[i]) for i in specials])
    return Question(
        kind="special-token", topic="tokenizers", inputs={"text": text},
        prompt=f"The tokenizer reads {code(text)}. Which of these tokens did it add itself (a special token)?",
        options=options, key=key, why=why, model=loaded.spec.hub_id,
        explanation=(f"1. The tokens: {_tokens(shown)}.\n"
                     f"2. The tokenizer added {added}; everything else comes from the text."),
        table=_table(enc["input_ids"], shown, marks), explore=_explore(text),
        code=with_output(head + f"enc = tokenizer({text!r}, truncation=True, return_special_tokens_mask=True)\n"
                         'for token, special in zip(tokenizer.convert_ids_to_tokens(enc["input_ids"]), '
                         'enc["special_tokens_mask"], strict=True):\n    if special:\n        print(token)',
                         [raw[i] for i in specials]),
    )


def _ordinary_reason(token: str) -> str:
    if token.startswith("##"):
        return f"{code(token)} is an ordinary piece: `##` only says it continues the word before it."
    if not any(ch.isalnum() for ch in token):
        return f"{code(token)} is punctuation from the text: an ordinary token."
    return f"{code(token)} is a piece of the text itself."


def first_id(ctx: TaskContext, item: Item, rng: random.Random) -> Question:
    loaded, tok, head = _tokenizer(ctx)
    text = item.text
    enc = tok(text, truncation=True, return_special_tokens_mask=True)
    ids, marks = enc["input_ids"], enc["special_tokens_mask"]
    raw = tok.convert_ids_to_tokens(ids)
    shown = readable_tokens(tok, raw)
    if len(ids) < 3 or not marks[0]:
        raise NoQuestion("this tokenizer puts no special token first")
    name = shown[0]
    right = (str(ids[0]), f"Right: {code(name)} is entry {ids[0]} of the vocabulary, the same in every input.")
    wrong = []
    if marks[-1] and ids[-1] != ids[0]:
        wrong.append((str(ids[-1]), f"{ids[-1]} is {code(shown[-1])}, the special token that closes the text."))
    wrong.append((str(ids[1]), f"{ids[1]} is {code(shown[1])}, the first piece of the text."))
    for other in ("pad_token", "unk_token", "mask_token"):
        token = getattr(tok, other, None)
        if token:
            wrong.append((str(tok.convert_tokens_to_ids(token)),
                          f"{tok.convert_tokens_to_ids(token)} is {code(token)}, the {other.split('_')[0]} token."))
    wrong += [(str(n), f"{n} is {code(t)}, a piece of the text.") for n, t in zip(ids[2:], shown[2:], strict=True)]
    options, key, why = shuffled(right, wrong, rng, order=int)
    return Question(
        kind="cls-id", topic="tokenizers", inputs={"text": text},
        prompt=(f"The tokenizer turns {code(text)} into ids and puts {code(name)} first. "
                f"Which id does {code(name)} get?"),
        options=options, key=key, why=why, literal=False, model=loaded.spec.hub_id,
        explanation=("1. The model never sees text, only ids: each token's row number in the vocabulary.\n"
                     f"2. Special tokens have fixed ids: {code(name)} is {ids[0]} in every input of this tokenizer."),
        table=_table(ids, shown, marks), explore=_explore(text),
        code=with_output(head + f'ids = tokenizer({text!r}, truncation=True)["input_ids"]\n'
                         "print(tokenizer.convert_ids_to_tokens(ids[0]), ids[0])", [f"{raw[0]} {ids[0]}"]),
    )


def padding(ctx: TaskContext, item: Item, rng: random.Random) -> Question:
    loaded, tok, head = _tokenizer(ctx)
    if tok.pad_token is None:
        raise NoQuestion("this tokenizer has no padding token")
    texts = [item.text, item.extra[0] if item.extra else PAD_PARTNER]
    enc = tok(texts, padding=True, truncation=True)
    masks = [list(m) for m in enc["attention_mask"]]
    lengths = [sum(m) for m in masks]
    if lengths[0] == lengths[1]:
        raise NoQuestion("both texts have the same length")
    short = 0 if lengths[0] < lengths[1] else 1
    zeros = masks[short].count(0)
    words = abs(len(texts[0].split()) - len(texts[1].split()))
    right = (str(zeros), f"Right: {lengths[short]} tokens padded to the longer text's {lengths[1 - short]}: "
             f"{plural(zeros, 'padding token')}, each with attention_mask 0, so the model ignores them.")
    wrong = [("0", "`padding=True` pads every row to the longest one in the batch, so the shorter row gets padding.")]
    if words != zeros:
        wrong.append((str(words), f"{words} is the difference in words; padding counts tokens: {lengths[0]} and "
                                  f"{lengths[1]}."))
    wrong += [(str(d), f"The tokens number {lengths[0]} and {lengths[1]}: the difference is {zeros}, not {d}.")
              for d in (zeros + 1, zeros - 1, zeros + 2, zeros + 3) if d > 0]
    options, key, why = shuffled(right, wrong, rng, order=int)
    shorter = code(texts[short])
    return Question(
        kind="pad-count", topic="tokenizers", inputs={"texts": texts},
        prompt=(f"Two texts go through the tokenizer together with `padding=True`: {code(texts[0])} and "
                f"{code(texts[1])}. How many 0s does the attention_mask of {shorter} get?"),
        options=options, key=key, why=why, literal=False, model=loaded.spec.hub_id,
        explanation=("1. A batch is one tensor, so every row needs the same length: `padding=True` adds "
                     f"{code(tok.pad_token)} to the shorter rows.\n2. The attention_mask marks real tokens 1 and "
                     "padding 0, so attention skips the padding."),
        table=Table(("text", "tokens", "attention_mask"),
                    tuple((t, str(n), " ".join(map(str, m))) for t, n, m in zip(texts, lengths, masks, strict=True))),
        explore=_explore(texts[short]),
        code=with_output(head + f"enc = tokenizer({texts!r}, padding=True, truncation=True)\n"
                         'for mask in enc["attention_mask"]:\n    print(mask.count(0), mask)',
                         [f"{m.count(0)} {m}" for m in masks]),
    )


def _word(text: str) -> Item | None:
    word = longest_word(text)
    return Item(word) if word else None


KINDS = (
    Kind("token-count", "tokenizers", "how many tokens a word becomes", "tokenize", count, bank.WORDS, _word),
    Kind("token-split", "tokenizers", "how a word splits into subwords", "tokenize", split, bank.WORDS, _word),
    Kind("special-token", "tokenizers", "which token is a special token", "tokenize", special, bank.SENTENCES,
         lambda text: Item(text)),
    Kind("cls-id", "tokenizers", "what id the first special token gets", "tokenize", first_id, bank.SENTENCES,
         lambda text: Item(text)),
    Kind("pad-count", "tokenizers", "how much padding a batch adds", "tokenize", padding, bank.PAIRS,
         lambda text: Item(text, extra=(PAD_PARTNER,))),
)
