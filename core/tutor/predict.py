"""Predictions for lessons whose run no quiz kind can ask about on this pack: still about that very run.

`first_word`: a model that writes (a chat model answering, a summarizer) is asked how its text will
begin; the key is the first word of the text the run then shows. `token_count`: how many tokens the
run's own tokenizer makes of the text. Both read the same model and the same text as the run step.
"""
from __future__ import annotations

import random
import re
from collections.abc import Callable

from core.context import TaskContext
from core.markup import code
from core.results import Result
from core.tasks.shared.common import load
from core.tutor.kinds.words import words
from core.tutor.options import ranked
from core.tutor.questions import NoQuestion, Question, shuffled
from core.wording import plural

SHOWN = 100
"""How much of the written text the reveal repeats."""
STARTS = ("The", "It", "This", "A", "I", "Yes")
"""Ordinary first words of an answer or a summary, for the options the text itself does not offer."""


def printed(result: Result) -> list[str]:
    """What the run's snippet prints (core.tasks.shared.common.with_output): the run's own text."""
    _, found, tail = result.code.partition("# It prints:\n")
    return [line[2:] if line.startswith("# ") else line.lstrip("#") for line in tail.splitlines()] if found else []


def first_word(run: Callable[[TaskContext, str], Result], what: str,
               question: Callable[[str], str] | None = None) -> Callable[..., Question]:
    """A predictor: which word the text the run writes (`what`: "the summary", "the answer") begins with.
    `question`: the question the run asks of the text, which the prompt must state (an answer to what?)."""
    def predict(ctx: TaskContext, text: str, rng: random.Random) -> Question:
        result = run(ctx, text)
        written = " ".join(printed(result)).strip()
        first = re.match(r"\W*(\w+)", written)
        if first is None:
            raise NoQuestion("the run wrote no word")
        key = first.group(1)
        # every option in the key's case: a capital would single out the word that starts the text
        others = [w for w in dict.fromkeys(same_case(w, key) for w in [*words(text), *STARTS])
                  if w.lower() != key.lower()]
        rng.shuffle(others)
        shown = written if len(written) <= SHOWN else written[:SHOWN].rsplit(" ", 1)[0] + " …"
        right = (key, f"Right: the model wrote {code(shown)}.")
        wrong = [(w, f"It began with {code(key)}.") for w in others]
        options, index, why = shuffled(right, wrong, rng)
        return Question(kind="lesson:first-word", topic="generation",
                        prompt=f"{to_title(what)} the model writes "
                               + (f"to {code(question(text))}, asked about {code(text)}" if question else
                                  f"for {code(text)}") + ": which word does it begin with?",
                        options=options, key=index, why=why, model=result.model, code="", inputs={"text": text})
    return predict


def same_case(word: str, like: str) -> str:
    """`word` with its first letter in the case of `like`'s (`construction`, `The` -> `Construction`)."""
    first = word[:1].upper() if like[:1].isupper() else word[:1].lower()
    return first + word[1:]


def to_title(what: str) -> str:
    return what[:1].upper() + what[1:]


def token_count(command: str) -> Callable[..., Question]:
    """A predictor: how many tokens the run's tokenizer makes of the text, special tokens included."""
    def predict(ctx: TaskContext, text: str, rng: random.Random) -> Question:
        loaded = load(ctx, command)
        tok = loaded.tokenizer
        enc = tok(text, truncation=True, return_special_tokens_mask=True)
        ids, marks = enc["input_ids"], enc["special_tokens_mask"]
        n, added = len(ids), sum(marks)
        pieces = " ".join(code(t) for t in tok.convert_ids_to_tokens(ids))
        right = (n, str(n), f"Right: {pieces}: {plural(n - added, 'token')} of text and "
                            f"{plural(added, 'special token')}.")
        near = [len(text.split()), n - added, n + 1, n - 1, n + 2, n + 3, n - 2, n + 4]
        wrong = [(d, str(d), f"The tokenizer gave {n}: {pieces}.") for d in dict.fromkeys(near) if d > 0 and d != n]
        options, key, why = ranked(right, wrong, rng)
        return Question(kind="lesson:token-count", topic="tokenizers",
                        prompt=(f"Before the model reads {code(text)}, its tokenizer turns it into tokens. How many, "
                                "counting the special tokens it adds?"),
                        options=options, key=key, why=why, model=loaded.spec.label, code="", literal=False,
                        inputs={"text": text})
    return predict
