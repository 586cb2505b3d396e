"""/ner without a token classifier: capitalised spans proposed as names, each typed by a chat model.

A token classifier (the guide's NER pipeline) gives every token one label (B-PER, I-LOC, O, ...)
from a head trained on labelled text, and `aggregation_strategy` joins the labelled tokens into
entities. The stand-in works in two steps:

1. Propose: every run of capitalised words is a candidate name (joined across `of`, as in
   `University of Paris`), except what English capitalises without it being a name: `I`, days and
   months, titles such as `Dr`, and a sentence's first word when it is a common one (`The`, `My`).
2. Type: for each span, the causal model reads `Sentence: <its sentence>`, `Question: What kind of
   thing is "<span>"?` and `Answer: "<span>" is a`; its next-token log-probabilities for a few words per
   type (` person`, ` city`, ` company`, ` language`, ...) are pooled per type (log-sum-exp), and
   softmax over the four types gives the scores. The four types are CoNLL-2003's, as the hub pack's NER model has.

All the spans of all the texts go through the model in one forward pass. Chosen among candidates by
measuring them (bench/substitutes.py, docs/substitutes.md).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.markup import code
from core.models import Loaded
from core.results import Result, Table
from core.tasks.shared.common import f4, with_output
from core.tasks.standins import check_fits, load_lines, next_token_logprobs, stand_in_line, word_id
from core.wording import plural

PROMPT = 'Sentence: {sentence}\nQuestion: What kind of thing is "{span}"?\nAnswer: "{span}" is a'
TYPE_WORDS = {
    "PER": (" person", " man", " woman"),
    "LOC": (" place", " city", " country", " river"),
    "ORG": (" organization", " company", " team"),
    "MISC": (" language", " nationality", " event", " book"),
}
"""CoNLL-2003's four types, and the words that name each after the prompt (one token each)."""
NOT_NAMES = frozenset({
    "I", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January", "February",
    "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"})
"""Capitalised in English without being names (CoNLL does not tag days or months)."""
TITLES = frozenset({"Mr", "Mrs", "Ms", "Miss", "Dr", "Professor", "Prof", "Sir", "Dame", "Lord", "Lady", "King",
                    "Queen", "Prince", "Princess", "President", "Saint", "St", "Captain", "Uncle", "Aunt"})
"""Left out of a name, as CoNLL leaves them out (`Professor Smith` -> `Smith`)."""
OPENERS = frozenset({
    "The", "A", "An", "My", "Our", "Your", "His", "Her", "Their", "Its", "This", "That", "These", "Those", "We",
    "You", "He", "She", "They", "It", "There", "Here", "In", "On", "At", "For", "And", "But", "Or", "If", "When",
    "While", "After", "Before", "What", "Who", "Why", "How", "Yesterday", "Today", "Tomorrow", "Last", "Next",
    "Every", "Some", "Many", "Most", "All", "No", "Not", "Please", "Thanks", "Yes", "So", "Then", "Now"})
"""Common words that are capitalised only because they start a sentence."""
SKIP = NOT_NAMES | TITLES | OPENERS
"""Taken off either end of a run of capitalised words."""
WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")
SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
NONE_FOUND = "No named entities found."
MAX_SPANS = 24
"""Spans typed per text at most (each is one prompt of its sentence)."""
STANDS_IN = ("this pack has no NER model, so capitalised words are proposed as names and SmolLM2's next-token "
             "scores for words like ` person` or ` city` type them, where an NER model labels every token.")

SNIPPET = """import re

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

{load}
text = {text!r}
skip = {skip}  # the words of your text on the tutor's list of {listed} capitalised non-names
# 1. propose: runs of capitalised words (joined across "of"), skipped words taken off their ends
spans, run = [], []
for a, b in [m.span() for m in re.finditer(r"[^\\W_]+(?:['\u2019-][^\\W_]+)*", text)] + [(len(text), len(text))]:
    word = text[a:b]
    joins = word[:1].isupper() or word == "of"
    if joins and run and not text[run[-1][1]:a].strip():
        run.append((a, b))
        continue
    while run and text[run[0][0]:run[0][1]] in skip | {{"of"}}:
        run.pop(0)
    while run and text[run[-1][0]:run[-1][1]] in skip | {{"of"}}:
        run.pop()
    if run:
        spans.append((run[0][0], run[-1][1]))
    run = [(a, b)] if joins else []
if not spans:
    print("No named entities found.")
# 2. type: the next-token scores of a few words per type, after a prompt about the span in its sentence
type_words = {words!r}
sentences = [m for m in re.finditer(r"[^.!?\\n]+[.!?]*", text)]
for start, end in spans[:{most}]:
    sentence = next((m.group().strip() for m in sentences if m.start() <= start < m.end()), text)
    name = text[start:end]
    prompt = f'Sentence: {{sentence}}\\nQuestion: What kind of thing is "{{name}}"?\\nAnswer: "{{name}}" is a'
    with torch.no_grad():
        logprobs = model(**tokenizer(prompt, return_tensors="pt")).logits[0, -1].log_softmax(dim=-1)
    per_type = torch.stack([logprobs[[tokenizer.encode(w, add_special_tokens=False)[0] for w in words]].logsumexp(0)
                            for words in type_words.values()])
    scores = per_type.softmax(dim=0)  # shares among the four types
    best = int(scores.argmax())
    print(text[start:end], list(type_words)[best], f"{{float(scores[best]):.4f}}")"""


@dataclass(frozen=True)
class Entity:
    start: int
    end: int
    word: str
    entity_group: str
    score: float
    scores: dict[str, float]
    """Every type's share, the chosen one included."""

    def as_dict(self) -> dict[str, object]:
        """The shape the token-classification pipeline gives an entity (`word`, `entity_group`, ...)."""
        return {"word": self.word, "entity_group": self.entity_group, "score": self.score, "start": self.start,
                "end": self.end}


def spans(text: str) -> list[tuple[int, int]]:
    """Runs of capitalised words (joined across `of`), with the words of `SKIP` taken off their ends, as
    (start, end) character offsets. The snippet does exactly this (`SPANS`)."""
    found: list[tuple[int, int]] = []
    run: list[tuple[int, int]] = []
    for a, b in [m.span() for m in WORD.finditer(text)] + [(len(text), len(text))]:
        word = text[a:b]
        joins = word[:1].isupper() or word == "of"
        if joins and run and not text[run[-1][1]:a].strip():
            run.append((a, b))
            continue
        while run and text[run[0][0]:run[0][1]] in SKIP | {"of"}:
            run.pop(0)
        while run and text[run[-1][0]:run[-1][1]] in SKIP | {"of"}:
            run.pop()
        if run:
            found.append((run[0][0], run[-1][1]))
        run = [(a, b)] if joins else []
    return found


def skipped(text: str) -> set[str]:
    """The words of `text` on the `SKIP` list: all the snippet needs of it to propose the same spans."""
    return {m.group() for m in WORD.finditer(text) if m.group() in SKIP}


def sentence_of(text: str, start: int) -> str:
    """The sentence that holds character `start`: the context a span is typed in."""
    return next((m.group().strip() for m in SENTENCE.finditer(text) if m.start() <= start < m.end()), text)


def find(loaded: Loaded, texts: Sequence[str]) -> list[list[Entity]]:
    """The entities of every text (its first `MAX_SPANS` spans): all typed in one forward pass."""
    import torch
    proposed = [spans(text)[:MAX_SPANS] for text in texts]
    prompts = []
    for text, found in zip(texts, proposed, strict=True):
        for a, b in found:
            prompt = PROMPT.format(sentence=sentence_of(text, a), span=text[a:b])
            ids = list(loaded.tokenizer(prompt, add_special_tokens=False)["input_ids"])
            check_fits(loaded, len(ids))
            prompts.append(ids)
    rows = iter(next_token_logprobs(loaded, prompts) if prompts else [])
    ids = {label: [word_id(loaded, w) for w in words] for label, words in TYPE_WORDS.items()}
    labels = list(TYPE_WORDS)
    out = []
    for text, found in zip(texts, proposed, strict=True):
        entities = []
        for a, b in found:
            row = next(rows)
            shares = torch.softmax(torch.stack([row[i].logsumexp(dim=0) for i in ids.values()]), dim=0).tolist()
            best = max(range(len(labels)), key=lambda k: shares[k])
            entities.append(Entity(a, b, text[a:b], labels[best], shares[best], dict(zip(labels, shares, strict=True))))
        out.append(entities)
    return out


def result(loaded: Loaded, text: str, entities: list[Entity], mark: str) -> Result:
    """`mark`: the text with each entity shown as **word** [TYPE] (ner.mark)."""
    rows = tuple((e.word, e.entity_group, f4(e.score)) for e in entities)
    total = len(spans(text))
    answer = f"**{plural(len(rows), 'entity', 'entities')}**: {mark}" if rows else NONE_FOUND
    detail = "; ".join(f"{code(e.word)}: " + ", ".join(f"{k} {v:.2f}" for k, v in e.scores.items())
                       for e in entities[:3])
    skipped_here = sorted(skipped(text))
    return Result(
        command="ner",
        answer=answer + "\n" + stand_in_line(STANDS_IN),
        table=Table(("entity", "type", "score"), rows) if rows else None,
        explanation=(
            f"1. Propose: every run of capitalised words, joined across `of`, is a name "
            f"({plural(total, 'run')} here), less what English capitalises anyway: `I`, days, months, titles "
            "such as `Dr`, common first words such as `The`"
            + (f" (here: {', '.join(code(w) for w in skipped_here)})" if skipped_here else "")
            + ". A name written in lower case is never found this way.\n"
            "2. Type: for each name SmolLM2 read `Sentence: <its sentence>`, `Question: What kind of thing is "
            "\"<name>\"?`, `Answer: \"<name>\" is a` (three lines), and scored every possible next token. The "
            "probabilities of a few words per type (PER: ` person`, ` man`, ` woman`; LOC: ` place`, ` city`, ...) "
            "were added up, and softmax over the four types gave the shares" + (f": {detail}." if detail else ".")
            + "\n"
            "3. An NER model (the guide's token classification) instead labels every token (B-PER, I-LOC, O, ...) "
            "with a head trained on labelled text, and `aggregation_strategy` joins the labels into entities: it "
            "learns where a name ends, and finds names without capitals."
        ),
        code=with_output(SNIPPET.format(load=load_lines(loaded), text=text, skip=_set_literal(skipped_here),
                                        listed=len(SKIP), words={k: list(v) for k, v in TYPE_WORDS.items()},
                                        most=MAX_SPANS),
                         [f"{e.word} {e.entity_group} {f4(e.score)}" for e in entities] or [NONE_FOUND]),
        model=loaded.spec.label,
        notices=(f"Your text has {total} capitalised runs; the first {MAX_SPANS} were typed (one prompt each).",)
        if total > MAX_SPANS else (),
    )


def _set_literal(words: list[str]) -> str:
    """A set as Python source, in a fixed order (a set's own repr varies between processes)."""
    return "{" + ", ".join(repr(w) for w in words) + "}" if words else "set()"
