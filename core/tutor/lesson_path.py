"""The guided path: the guide's three parts and Part IV, inside a decoder (core/tutor/decoder_lessons.py),
five steps a lesson.

Each lesson: **predict** (one quiz item on the running example, its key from a model run) -> **run**
(the ordinary command, or for Part II the pipeline's steps one by one, with real numbers) ->
**explain** (the idea) -> **try it** (the run's snippet) -> **check** (one retrieval question on the
idea). The running example is the lesson's own sentence, or the learner's ("use my own sentence").
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from core.context import TaskContext
from core.markup import code
from core.results import Result
from core.tutor import decoder_lessons
from core.tutor.kinds import run_command
from core.tutor.kinds.words import masked
from core.tutor.questions import Question, shuffled
from core.tutor.walks import padding_walk, pipeline_walk

PHASES = ("predict", "run", "explain", "try it", "check")
PARTS = {1: ("I", "Pipelines", "pipelines"), 2: ("II", "Behind the pipeline", "tokenizers"),
         3: ("III", "Attention", "attention"), 4: decoder_lessons.PART}
LABELS = "food, sports, politics, weather"
CHECK_CODE = "# This check is about the idea; step 4 has the snippet that reproduces the run."

Runner = Callable[[TaskContext, str], Result]


@dataclass(frozen=True)
class Check:
    question: str
    right: tuple[str, str]
    wrong: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Lesson:
    id: str
    part: int
    title: str
    kind: str
    """The predict step's question kind (core/tutor/kinds)."""
    example: str
    run: Runner
    concept: str
    check: Check
    predict_example: str = ""
    """The predict step's text when it is not the example (a prompt to continue, for summaries)."""

    @property
    def check_kind(self) -> str:
        return f"lesson:{self.id}"


def _command(name: str, **fixed: object) -> Runner:
    def run(ctx: TaskContext, text: str) -> Result:
        return run_command(ctx, name, {_main(name): text, **fixed})
    return run


def _main(name: str) -> str:
    return {"generate": "prompt", "qa": "context"}.get(name, "text")


def _fill(ctx: TaskContext, text: str) -> Result:
    return run_command(ctx, "fillmask", {"text": masked(text) or "Paris is the [MASK] of France."})


def _attention(layer: int | str, head: int | str) -> Runner:
    """/attention at a layer and head that exist in every pack's model (`last` is the deepest layer)."""
    def run(ctx: TaskContext, text: str) -> Result:
        from core.tasks.common import load

        config = load(ctx, "attention", "encoder").model.config
        layers, heads = config.num_hidden_layers, config.num_attention_heads
        at = layers - 1 if layer == "last" else min(int(layer), layers - 1)
        pick = head if isinstance(head, str) else min(head, heads - 1)
        return run_command(ctx, "attention", {"text": text, "layer": at, "head": pick})
    return run


def _c(question: str, right: tuple[str, str], *wrong: tuple[str, str]) -> Check:
    return Check(question, right, wrong)


LESSONS: tuple[Lesson, ...] = (
    Lesson("sentiment", 1, "Text classification", "sentiment-90", "I love this film, but the ending was too long.",
           _command("sentiment"),
           "A pipeline is three steps in one call: the **tokenizer** turns text into ids, the **model** turns ids "
           "into one raw score (logit) per class, and **post-processing** (softmax) turns those into probabilities "
           "that add up to 1. `pipeline(\"text-classification\")` answers with the most likely label; `top_k=None` "
           "shows every label's score.",
           _c("What does `pipeline(\"text-classification\")` give for one text?",
              ("A label and its probability", "Right: the label with the highest probability after softmax."),
              ("The text's tokens", "That is the tokenizer's part; the pipeline goes on to the model and softmax."),
              ("One vector per token", "That is what the bare model's hidden states are; a classifier head and "
                                       "softmax come after."),
              ("A sentence written by the model", "Classifiers do not write; they score a fixed set of labels."))),
    Lesson("ner", 1, "Named entities", "ner-type", "My name is Ada and I live in London.", _command("ner"),
           "Token classification gives **every token** one label: B- begins an entity, I- continues it, O is "
           "outside any. `aggregation_strategy=\"simple\"` then joins neighbouring tokens of one type into an "
           "entity, so `Lon` + `##don` become London [LOC].",
           _c("What does `aggregation_strategy=\"simple\"` do?",
              ("Joins neighbouring tokens of the same type into one entity",
               "Right: it groups the per-token labels into whole entities and averages their scores."),
              ("Picks the single best entity of the text", "It keeps every entity it finds."),
              ("Translates the labels into words", "The labels stay PER, LOC, ORG, MISC."),
              ("Removes common words before the model runs", "The model reads every token; grouping comes after."))),
    Lesson("zeroshot", 1, "Zero-shot classification", "zeroshot-label", "I love pizza with extra cheese",
           _command("zeroshot", labels=LABELS),
           "Zero-shot means the model was never trained on **your** labels. An NLI model reads the text with a "
           "hypothesis per label (\"This example is food.\") and scores entailment; an embedding model compares the "
           "text's vector with each label's. Either way the labels are yours to choose at run time.",
           _c("Why is it called zero-shot?",
              ("The model saw no training example of your labels", "Right: you choose the labels when you ask."),
              ("It answers in zero seconds", "It runs a model like any pipeline."),
              ("The model has no parameters", "It is a full model (NLI or sentence embeddings)."),
              ("A label can score zero", "Scores can be small, but that is not what the name means."))),
    Lesson("qa", 1, "Question answering", "qa-span", "My name is Ada and I live in London.",
           lambda ctx, text: run_command(ctx, "qa", {"question": "Where do I live?" if "London" in text else
                                                     "What is this about?", "context": text}),
           "transformers 5 removed `pipeline(\"question-answering\")`. **Extractive** QA does what it did: the model "
           "gives every context token a start and an end score, and the answer is the best span, cut out of the "
           "context by character offsets. A chat model instead **writes** an answer, which may not be in the text.",
           _c("In extractive question answering, where does the answer come from?",
              ("A span of the context, chosen by start and end scores", "Right: it can only point into the context."),
              ("It is written word by word from the whole vocabulary", "That is generative (chat) QA."),
              ("A database of facts the model looks up", "The model only reads your question and context."),
              ("The question itself", "Only context tokens may start or end the answer."))),
    Lesson("summarize", 1, "Summarization", "next-word",
           "The Eiffel Tower is 330 metres tall. It was the tallest structure in the world for 41 years.",
           _command("summarize"),
           "transformers 5 removed `pipeline(\"summarization\")`: a sequence-to-sequence model's `generate()` "
           "does it. The encoder reads the whole text once; the decoder writes the summary **one token at a time**, "
           "each chosen from a next-token distribution, the same step as text generation.",
           _c("How does the tutor summarize with transformers 5?",
              ("A seq2seq model's generate(), or a chat model", "Right: generation, token by token."),
              ("pipeline(\"summarization\")", "transformers 5 removed that pipeline."),
              ("It keeps the sentences with the highest scores", "That is extractive summarization; these models "
                                                                 "write new text."),
              ("It cuts the text to its first sentence", "The model reads it all and writes a new text.")),
           predict_example="The Eiffel Tower is"),
    Lesson("generate", 1, "Text generation", "next-word", "Once upon a time", _command("generate", max_new_tokens=20),
           "A causal language model predicts a probability for every token of its vocabulary as the next one. "
           "**Greedy** decoding (`do_sample=False`) takes the most likely, appends it and repeats; sampling draws "
           "from the distribution instead, so its text varies.",
           _c("With `do_sample=False`, you run the same prompt twice. You get…",
              ("the same text both times", "Right: greedy decoding always takes the most likely token."),
              ("different texts", "Only sampling (`do_sample=True`) varies."),
              ("the prompt only", "It adds up to max_new_tokens tokens."),
              ("an error", "Greedy decoding is the default way to generate.")),
           predict_example="Once upon a"),
    Lesson("fillmask", 1, "Fill-mask", "fillmask-top", "Paris is the [MASK] of France.", _fill,
           "A masked language model sees the words on **both sides** of `[MASK]` and scores every vocabulary "
           "entry for that position. BERT-style models were pre-trained exactly this way.",
           _c("What does a masked language model use to guess the hidden word?",
              ("The words on both sides of the mask", "Right: it reads the whole sentence at once."),
              ("Only the words before it", "That is a causal (left-to-right) model."),
              ("Only the words after it", "It reads both sides."),
              ("A dictionary of the most common words", "It scores every entry by the context."))),
    Lesson("walk", 2, "From text to label, step by step", "sentiment-90", "I love this film.", pipeline_walk,
           "Behind every pipeline: **text -> tokens -> ids -> model -> logits -> softmax -> label**. The model "
           "never sees text, only ids; it answers with logits, raw scores of any size; softmax turns them into "
           "probabilities; the label is the largest.",
           _c("What does softmax do to the model's logits?",
              ("Turns them into probabilities that add up to 1", "Right: exp(logit) / the sum over all classes."),
              ("Turns ids back into tokens", "That is `convert_ids_to_tokens`."),
              ("Adds the special tokens", "The tokenizer does that, before the model."),
              ("Removes the padding", "The attention mask hides padding; softmax acts on the scores."))),
    Lesson("subwords", 2, "Subwords", "token-split", "Tokenization is unbelievably useful.", _command("tokenize"),
           "A vocabulary has a fixed size (about 30,000 entries for BERT). A word it does not hold whole is split "
           "into pieces it does hold: WordPiece marks a piece that continues a word with `##`; byte-level BPE can "
           "spell anything from bytes. So no word is ever out of vocabulary, at the cost of longer inputs.",
           _c("Why do tokenizers split rare words into pieces?",
              ("So a fixed vocabulary can spell any word", "Right: pieces combine into words it never stored."),
              ("To make the input shorter", "Splitting makes it longer."),
              ("Because models read letter by letter", "They read tokens: whole words or pieces."),
              ("To correct spelling mistakes", "A typo is split like any unknown word, not corrected."))),
    Lesson("special", 2, "Special tokens", "special-token", "The cat sat. | It was tired.",
           lambda ctx, text: run_command(ctx, "tokenize", dict(zip(("text", "pair"), _pair(text), strict=True))),
           "The tokenizer adds tokens you never typed: BERT puts `[CLS]` first (classifiers read their answer off "
           "its vector) and `[SEP]` after each text; with two texts, `token_type_ids` say which text a token "
           "belongs to. Each special token has a fixed id.",
           _c("What does [SEP] mark?",
              ("The end of a text, and the border between two texts", "Right: one after each text of a pair."),
              ("A hidden word to predict", "That is [MASK]."),
              ("A word the vocabulary does not know", "That is [UNK]."),
              ("A space between words", "WordPiece marks word continuations with ##; spaces are not tokens."))),
    Lesson("padding", 2, "Attention masks and padding", "pad-count", "Short one.", padding_walk,
           "A batch is one tensor, so all its rows need the same length: `padding=True` pads the shorter ones "
           "with the padding token, and the **attention_mask** marks real tokens 1 and padding 0, so attention "
           "ignores the padding and the answer does not change.",
           _c("What does an attention_mask of 0 tell the model?",
              ("This position is padding: ignore it", "Right: no token attends to it."),
              ("This token is unknown", "That is [UNK]; its mask is 1."),
              ("This token is the answer", "The mask only separates text from padding."),
              ("A new sentence starts here", "token_type_ids mark the second text."))),
    Lesson("onehead", 3, "One attention head", "attention-top", "The cat sat on the mat because it was tired.",
           _attention(1, 3),
           "In every layer each **head** scores how much each token (a row) should look at every token (a column); "
           "softmax makes each row add up to 1. Bright cells are strong links; a token's row shows where it "
           "gathers information from.",
           _c("In one head's attention map, what adds up to 1?",
              ("Each row: how one token spreads its attention", "Right: softmax runs along each row."),
              ("Each column", "A column can get any total: a popular token collects a lot."),
              ("The whole map", "Every row sums to 1, so the map sums to the number of tokens."),
              ("Nothing: the weights are raw scores", "Softmax makes them shares."))),
    Lesson("allheads", 3, "All the heads of a layer", "attention-top", "The cat sat on the mat because it was tired.",
           _attention(1, "all"),
           "A layer has several heads, each with its own map. Heads specialise: one looks at the previous token, "
           "one at the next, one at the same word elsewhere, one parks everything on `[SEP]`. The layer combines "
           "what all its heads gathered.",
           _c("Why does a layer have several attention heads?",
              ("Each head can follow a different pattern", "Right: their results are combined."),
              ("One head per word of the text", "The number of heads is fixed by the model, whatever the text."),
              ("They are copies, for safety", "Each has its own weights and its own map."),
              ("One per layer below it", "Every layer has the same number of heads."))),
    Lesson("layers", 3, "Layers compared", "attention-top", "The cat sat on the mat because it was tired.",
           _command("overview"),
           "/overview draws every head of every layer. Early layers often look at neighbours and positions; later "
           "ones more often link related words. Compare along a row (heads of one layer) and down a column (the "
           "same head number across layers).",
           _c("What does /overview show?",
              ("Every head of every layer, one small map each", "Right: layers are rows, heads are columns."),
              ("One head, enlarged", "That is /attention with `head=`."),
              ("The average of all layers", "It shows each one."),
              ("The model's final answer", "It shows attention, not outputs."))),
    Lesson("limits", 3, "What attention does not show", "attention-noop",
           "The cat sat on the mat because it was tired.", _attention("last", "mean"),
           "Heads often park attention on `[CLS]` or `[SEP]` when nothing in the text fits: a **no-op** (Clark et "
           "al. 2019). And a weight says where information *may* flow, not what the model *used*: the values "
           "mixed in, the later layers and the classifier matter too, so attention is not an explanation by "
           "itself (Jain and Wallace 2019).",
           _c("A head puts 80% of a word's attention on [SEP]. What is the safest reading?",
              ("The head is mostly idle for that word (a no-op)", "Right: structural tokens collect attention when "
                                                                  "nothing else fits."),
              ("[SEP] is the most important word", "[SEP] carries no word of the text."),
              ("The model will answer [SEP]", "Attention weights are not predictions."),
              ("The tokenizer made a mistake", "Every input gets [SEP]; this is how heads behave."))),
    *(Lesson(s.id, 4, s.title, s.kind, s.example, s.run, s.concept, _c(s.check[0], s.check[1], *s.check[2]),
             s.predict_example) for s in decoder_lessons.LESSONS),  # Part IV: inside a decoder
)
STEPS = len(LESSONS) * len(PHASES)


def _pair(text: str) -> tuple[str, str]:
    first, sep, second = text.partition(" | ")
    return (first, second) if sep else (text, "And a second text.")


def at(position: int) -> tuple[Lesson, int]:
    position = max(0, min(position, STEPS - 1))
    return LESSONS[position // len(PHASES)], position % len(PHASES)


def describe(position: int) -> str:
    lesson, phase = at(position)
    return f"lesson {LESSONS.index(lesson) + 1} of {len(LESSONS)}, {lesson.title!r}, step {phase + 1} ({PHASES[phase]})"


def first_of_part(part: int) -> int:
    return next(i for i, lesson in enumerate(LESSONS) if lesson.part == part) * len(PHASES)


def by_check_kind(kind: str) -> Lesson | None:
    return next((lesson for lesson in LESSONS if lesson.check_kind == kind), None)


def check_question(lesson: Lesson, seed: float) -> Question:
    """The lesson's retrieval question, its options shuffled afresh."""
    options, key, why = shuffled(lesson.check.right, list(lesson.check.wrong), random.Random(seed))
    return Question(kind=lesson.check_kind, topic=PARTS[lesson.part][2], prompt=lesson.check.question,
                    options=options, key=key, why=why, model="-", code=CHECK_CODE, literal=False,
                    explanation=lesson.concept)


def example_note(text: str) -> str:
    return f"The running example: {code(text)}."
