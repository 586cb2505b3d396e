"""The guided path: the guide's parts, their lessons, five steps each.

Each lesson: **predict** (one question about exactly the run that follows: the same text, model,
layer and head, its key from that run) -> **run** (the ordinary command, or for Part II the
pipeline's steps one by one, with real numbers) -> **explain** (the idea, said of the model that
actually ran) -> **try it** (the run's snippet) -> **check** (one retrieval question on the idea).
The running example is the lesson's own sentence, or the learner's ("use my own sentence").

A lesson is data (`Lesson`, keyword-friendly): another module can add its own lessons and part
(`PARTS`, `LESSONS`), as Part IV, inside a decoder, does (core/tutor/decoder_lessons.py);
core/tutor/lessons.py walks whatever the path holds.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from core.context import TaskContext
from core.markup import code, to_plain
from core.results import Result
from core.tasks.shared.common import load
from core.tasks.standins.fillmask import around
from core.tutor import decoder_lessons, heads, teach
from core.tutor.kinds import run_command
from core.tutor.kinds.tokenizers import PAD_PARTNER
from core.tutor.kinds.words import hidden_word, masked, name_word, one_token_word, words
from core.tutor.options import ranked
from core.tutor.predict import first_word
from core.tutor.questions import Item, Question, shuffled
from core.tutor.walks import padding_walk, pipeline_walk
from core.wording import plural

PHASES = ("predict", "run", "explain", "try it", "check")
PARTS: dict[int, tuple[str, str, str]] = {1: ("I", "Pipelines", "pipelines"),
                                          2: ("II", "Behind the pipeline", "tokenizers"),
                                          3: ("III", "Attention", "attention"),
                                          4: decoder_lessons.PART}
"""Part number -> (roman numeral, title, quiz topic)."""
LABELS = "food, sports, politics, weather"
FILL_FALLBACK = "Paris is the [MASK] of France."

Runner = Callable[[TaskContext, str], Result]
"""The run step: the lesson's text -> the ordinary command's (or a walk's) answer."""
Predictor = Callable[[TaskContext, str, random.Random], Question]
"""The predict step: a question about exactly the run `Runner` then makes of the same text."""
Ran = Callable[[], Result]
"""The run's answer, computed when first asked for (most ideas need only the pack's models, not the run)."""
Explainer = Callable[[TaskContext, str, Ran], str]
"""The explain step: the idea, said of the model that ran (the run's `Result` is at hand through `Ran`)."""


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
    """The predict step's question kind (core/tutor/kinds), when `predict` is not given."""
    example: str
    run: Runner
    concept: str | Explainer
    check: Check
    predict_example: str = ""
    """Kept for compatibility: the predict step now always reads the text the run step reads."""
    predict: Predictor | None = None
    """A question of its own about the run (measured attention heads...); else `kind` on `item(text)`."""
    item: Callable[[TaskContext, str], Item] | None = None
    """The `kind`'s input built from the text exactly as `run` uses it (the same question, the same mask)."""
    needs: tuple[str, ...] = ()
    """The pack commands `run` needs: a lesson the pack cannot run is not counted done."""
    try_this: str = "Change the text and run it again: predict first what changes."
    aliases: tuple[str, ...] = field(default_factory=tuple)
    """Other names `/learn <name>` accepts."""
    fallback: Predictor | None = None
    """The prediction when `kind` cannot ask on this pack (its model is of another sort, or the text gives
    no fair options): still about the same run; by default, how many tokens its tokenizer makes."""
    shows: Callable[[str], str] | None = None
    """What the run step says it read, besides the text (the question /qa answered)."""
    topic: str = ""
    """The quiz topic its check counts for, when not its part's (a check about logits in Part II)."""

    @property
    def check_kind(self) -> str:
        return f"lesson:{self.id}"

    def explain(self, ctx: TaskContext, text: str, ran: Ran) -> str:
        return self.concept if isinstance(self.concept, str) else self.concept(ctx, text, ran)


def _main(name: str) -> str:
    return {"generate": "prompt", "qa": "context"}.get(name, "text")


def _command(name: str, **fixed: object) -> Runner:
    def run(ctx: TaskContext, text: str) -> Result:
        return run_command(ctx, name, {_main(name): text, **fixed})
    return run


def _c(question: str, right: tuple[str, str], *wrong: tuple[str, str]) -> Check:
    return Check(question, right, wrong)


def role_of(ctx: TaskContext, command: str) -> str:
    """The sort of model the pack serves `command` with (`classifier`, `chat`...), "" when it has none."""
    spec = ctx.pack.models.get(command)
    return spec.role if spec is not None else ""


STAND_IN = "Stand-in: "
"""How a stand-in's answer names what stood in (core.tasks.standins.stand_in_line)."""


def stand_in(command: str, ran: Ran, taught: str) -> str:
    """The explanation when the pack serves `command` with another sort of model than the guide's: what
    stood in, read from the run, and what the guide's pipeline does instead."""
    result = ran()
    line = next((x for x in result.answer.split("\n") if x.startswith(STAND_IN)), "")
    if line:  # the stand-in's own line (core/tasks/standins/): what stood in, and how it differs
        said = line.removeprefix(STAND_IN)
        said = said[:1].upper() + said[1:]
    else:
        said = result.notices[0] if result.notices else result.explanation.split("\n", 1)[0]
        said = f"This pack has no {taught}: {code(to_plain(result.model))} stood in. {said}"
    return f"{said} The guide's `pipeline()` for /{command} works as follows; compare it with what ran here."


# --- Part I ---------------------------------------------------------------------------------------------

def _sentiment_concept(ctx: TaskContext, text: str, ran: Ran) -> str:
    idea = ("A pipeline is three steps in one call: the **tokenizer** turns text into ids, the **model** turns the "
            "ids into one raw score (logit) per label, and **post-processing** (softmax) turns those into "
            "probabilities that add up to 1.")
    caution = (" A high probability says the scores favour one label strongly, not that the label is right: a model "
               "can be confidently wrong, and how often its 90% answers are right (its calibration) must be "
               "measured on labelled texts.")
    if role_of(ctx, "sentiment") != "classifier":
        return stand_in("sentiment", ran, "text-classification model") + " " + idea + caution
    return idea + caution


def _ner_concept(ctx: TaskContext, text: str, ran: Ran) -> str:
    idea = ("Token classification gives **every token** one label: B- begins an entity, I- continues it, O is "
            "outside any. `aggregation_strategy=\"simple\"` then joins neighbouring tokens of one type into one "
            "entity and averages their scores.")
    if role_of(ctx, "ner") != "token-classifier":
        return stand_in("ner", ran, "token-classification model") + " " + idea
    result = ran()
    if result.table is None:
        return idea
    tok = load(ctx, "ner").tokenizer
    examples = []
    for row in result.table.rows[:2]:
        word, label = row[0], row[1]
        pieces = tok.tokenize(word)
        examples.append(f"{code(word)} [{label}] " + (f"joins {len(pieces)} tokens ("
                                                       + " + ".join(code(p) for p in pieces[:4])
                                                       + (" ..." if len(pieces) > 4 else "") + ")"
                                                       if len(pieces) > 1 else "is one token"))
    found = ("In this run: " + "; ".join(examples) + ".") if examples else "In this run no token got an entity label."
    return f"{idea} {found}"


def _zeroshot_concept(ctx: TaskContext, text: str, ran: Ran) -> str:
    base = "Zero-shot means the model was never trained on **your** labels: you name them when you ask."
    role = role_of(ctx, "zeroshot")
    if role == "nli":
        return (f"{base} This pack's model is an NLI classifier: it reads your text with one hypothesis per label "
                "(\"This example is food.\") and scores entailment. With one label to pick, the pipeline takes "
                "each hypothesis's entailment score and applies softmax across the labels, so a percentage is that "
                "label's share among the labels you gave, not a probability on its own; `multi_label=True` "
                "instead weighs entailment against contradiction for each label alone.")
    if role == "embedding":
        return (f"{base} This pack's model is a sentence-embedding model: the text and each label become one "
                "vector, and cosine similarity says how close they are. The percentage is softmax(similarity / "
                "0.05) across your labels: a relative share that changes when you change the set of labels, not "
                "the probability that the text is about a label.")
    return stand_in("zeroshot", ran, "zero-shot model") + " " + base


QUESTION = "Where do I live?"


def _question(text: str) -> str:
    """The lesson's question for a context: its own example's, else one about the text's first name."""
    if "London" in text and "live" in text:
        return QUESTION
    name = name_word(text)
    return f"Who or what is {name}?" if name else "What is this about?"


def _qa(ctx: TaskContext, text: str) -> Result:
    return run_command(ctx, "qa", {"question": _question(text), "context": text})


def _qa_item(ctx: TaskContext, text: str) -> Item:
    return Item(text, extra=(_question(text),))


def _qa_concept(ctx: TaskContext, text: str, ran: Ran) -> str:
    asked = f"The question was {code(_question(text))}."
    if role_of(ctx, "qa") == "extractive-qa":
        return (f"{asked} transformers 5 removed `pipeline(\"question-answering\")`. **Extractive** QA does what it "
                "did: the model gives every context token a start score and an end score, and the answer is the "
                "best span, cut out of the context by character offsets. It can only point into the context; a "
                "chat model instead **writes** an answer, which may hold words the context does not.")
    return (f"{asked} transformers 5 removed `pipeline(\"question-answering\")`, and this pack has no extractive QA "
            "model, so a chat model **wrote** this answer token by token from the question and the context in one "
            "prompt. Nothing stops it from writing words the context does not hold; an extractive model (the "
            "`hub` pack's) would instead score a start and an end token and cut its answer out of the context.")


def _summarize_concept(ctx: TaskContext, text: str, ran: Ran) -> str:
    removed = "transformers 5 removed `pipeline(\"summarization\")`; `generate()` does its work."
    role = role_of(ctx, "summarize")
    loaded = load(ctx, "summarize")
    _, decodes = teach.decoding(loaded)
    if role == "seq2seq":
        return (f"{removed} This pack's model is an **encoder-decoder**: the encoder reads the whole text once; the "
                "decoder writes the summary one token at a time, each step attending to the encoded text "
                "(cross-attention) and to the tokens it wrote so far. Summarizers usually decode with **beam "
                f"search**, keeping several candidate summaries at each step. {decodes}")
    return (f"{removed} This pack has no encoder-decoder summarizer, so a **decoder-only chat model** was asked "
            "to summarize: the instruction and your text form one prompt (its chat template), and the model writes "
            "the summary after it, one most likely token at a time (greedy, `do_sample=False`, as the tutor asks). "
            "An encoder-decoder model (the `hub` pack's DistilBART) would read the text with its encoder and "
            "usually write with beam search.")


def _generate_concept(ctx: TaskContext, text: str, ran: Ran) -> str:
    loaded = load(ctx, "generate")
    _, decodes = teach.decoding(loaded)
    return ("A causal language model gives every token of its vocabulary a probability of coming next. /generate "
            "asks for **greedy** decoding (`do_sample=False`): take the most likely token, append it, repeat, so "
            f"the same prompt always gives the same text. {decodes} Sampling (`do_sample=True`) draws from the "
            "distribution instead, so its text varies.")


def _fill_one_token(ctx: TaskContext) -> Callable[[str, str], bool]:
    return one_token_word(load(ctx, "fillmask").tokenizer)


def fill_text(ctx: TaskContext, text: str) -> str:
    """The text with one `[MASK]` over a word that is one token for this pack's fill-mask model."""
    return masked(text, _fill_one_token(ctx)) or FILL_FALLBACK


def _fill(ctx: TaskContext, text: str) -> Result:
    return run_command(ctx, "fillmask", {"text": fill_text(ctx, text), "top_k": 5})


def _fill_item(ctx: TaskContext, text: str) -> Item:
    return Item(fill_text(ctx, text))


PRETRAINING = {
    "bert": ("BERT was pre-trained this way: 15% of the tokens were selected, and of those 80% became [MASK], 10% a "
             "random token and 10% stayed as they were; a second task, next-sentence prediction, came with it."),
    "distilbert": ("DistilBERT learned it from BERT (distillation) on the same masked-word task, without BERT's "
                   "next-sentence prediction."),
    "roberta": ("This pack's model is RoBERTa-style: pre-trained on masked words alone (15% of the tokens "
                "selected; of those 80% masked, 10% random, 10% kept), without BERT's next-sentence prediction, "
                "and with the masks drawn anew each time a text is read."),
}


def _fill_concept(ctx: TaskContext, text: str, ran: Ran) -> str:
    word = hidden_word(text, _fill_one_token(ctx))
    which = (f"the lesson hid {code(word)}, a single token for this model" if word else
             "a lesson hides only a word that is a single token for this model")
    if role_of(ctx, "fillmask") != "masked-lm":
        return _fill_standin_concept(ctx, text, ran, which)
    loaded = load(ctx, "fillmask")
    trained = PRETRAINING.get(getattr(loaded.model.config, "model_type", ""), "")
    return ("A masked language model reads the words on **both sides** of the mask at once and scores every "
            f"vocabulary entry for that one position. It fills exactly one token, so {which}: a word it splits "
            f"into several pieces could never come back. {trained}").strip()


def _fill_standin_concept(ctx: TaskContext, text: str, ran: Ran, which: str) -> str:
    """Fill-mask said of the stand-in that ran (core/tasks/standins/fillmask.py): a left-to-right model
    proposes from the text before the mask, and whole sentences decide; its numbers read from the run."""
    result = ran()
    rows = result.table.rows if result.table is not None else ()
    left = around(fill_text(ctx, text))[0].rstrip()
    saw = code(left) if left else "nothing but the start of its sentence"
    numbers = ""
    if rows and len(rows[0]) > 2:
        best, share, alone = rows[0][0], float(rows[0][1]), float(rows[0][2])
        numbers = (f" Here {code(best)} had probability {alone:.4f} from the left context alone, and a share of "
                   f"{share:.4f} among the candidates once each whole sentence was scored.")
    return (f"{stand_in('fillmask', ran, 'masked language model')} A masked language model reads the words on "
            "**both sides** of the mask at once and scores every vocabulary entry for that one position. The "
            f"stand-in reads left to right: at the mask it saw {saw} and nothing after it, so the words after the "
            f"mask have their say only when each filled-in sentence is scored whole.{numbers} It too fills exactly "
            f"one token, so {which}: a word it splits into several pieces could never come back.")


# --- Part II --------------------------------------------------------------------------------------------

WALK_IDEA = ("Behind every pipeline: **text -> tokens -> ids -> model -> logits -> softmax -> label**. The model "
             "never sees text, only ids; it answers with logits, raw scores of any size; softmax turns them into "
             "probabilities; the label is the largest.")


def _walk(ctx: TaskContext, text: str) -> Result:
    """The pipeline's steps with a text classifier's tensors; where the pack serves /sentiment with another
    sort of model, that model's own answer (which says what stood in)."""
    if role_of(ctx, "sentiment") == "classifier":
        return pipeline_walk(ctx, text)
    return run_command(ctx, "sentiment", {"text": text})


def _walk_concept(ctx: TaskContext, text: str, ran: Ran) -> str:
    if role_of(ctx, "sentiment") == "classifier":
        return WALK_IDEA
    return stand_in("sentiment", ran, "text-classification model") + " " + WALK_IDEA


def _subwords_concept(ctx: TaskContext, text: str, ran: Ran) -> str:
    tok = load(ctx, "tokenize").tokenizer
    return ("A vocabulary has a fixed size. A word it does not hold whole is split into pieces it does hold: "
            "WordPiece marks a piece that continues a word with `##`; byte-level BPE folds the space into the next "
            f"piece. {teach.vocabulary(tok)} Pieces cost length: a rarer word takes more tokens.")


def _pair(text: str) -> tuple[str, str]:
    first, sep, second = text.partition(" | ")
    return (first, second) if sep else (text, "And a second text.")


def _special(ctx: TaskContext, text: str) -> Result:
    first, second = _pair(text)
    return run_command(ctx, "tokenize", {"text": first, "pair": second})


def _special_predict(ctx: TaskContext, text: str, rng: random.Random) -> Question:
    """How many special tokens the tokenizer adds to the pair the run step tokenizes."""
    loaded = load(ctx, "tokenize")
    tok = loaded.tokenizer
    first, second = _pair(text)
    enc = tok(first, second, truncation=True, return_special_tokens_mask=True)
    raw = tok.convert_ids_to_tokens(enc["input_ids"])
    added = [t for t, m in zip(raw, enc["special_tokens_mask"], strict=True) if m]
    n = len(added)
    names = " ".join(code(t) for t in added) or "none"
    right = (n, str(n), f"Right: it added {names}.")
    wrong = [(d, str(d), f"It added {plural(n, 'special token')}: {names}.")
             for d in (n - 1, n + 1, n + 2, n - 2, n + 3) if d >= 0]
    options, key, why = ranked(right, wrong, rng)
    return Question(kind="lesson:special", topic="tokenizers",
                    prompt=(f"The tokenizer reads two texts as a pair: {code(first)} and {code(second)}. How many "
                            "special tokens (tokens you did not type) does it add?"),
                    options=options, key=key, why=why, model=loaded.spec.label, code="", literal=False,
                    inputs={"text": text, "pair": second})


def _special_concept(ctx: TaskContext, text: str, ran: Ran) -> str:
    tok = load(ctx, "tokenize").tokenizer
    first, second = _pair(text)
    enc = tok(first, second, return_special_tokens_mask=True)
    added = list(dict.fromkeys(t for t, m in zip(tok.convert_ids_to_tokens(enc["input_ids"]),
                                                  enc["special_tokens_mask"], strict=True) if m))
    said = (f"The tokenizer adds tokens you never typed: here {' and '.join(code(t) for t in added)}, each with a "
            "fixed id." if added else "This tokenizer adds no special tokens to a pair.")
    readers = []
    if "sentiment" in ctx.pack.models and role_of(ctx, "sentiment") == "classifier":
        reads = teach.classifier_reads(load(ctx, "sentiment"))
        if reads:
            readers.append(f"/sentiment's {reads}")
    if role_of(ctx, "zeroshot") == "embedding":
        readers.append(teach.pooled(load(ctx, "zeroshot")))
    if role_of(ctx, "attention") == "encoder":
        readers.append(teach.segments(load(ctx, "attention"))[1])
    return " ".join([said, *(f"{r[0].upper()}{r[1:]}." if not r.endswith(".") else r[0].upper() + r[1:]
                              for r in readers)])


def _padding_predict(ctx: TaskContext, text: str, rng: random.Random) -> Question:
    """How many 0s the shorter text's attention_mask gets in the batch the run step pads (the same tokenizer)."""
    loaded = load(ctx, "attention", "encoder")
    texts = [text, PAD_PARTNER]
    masks = loaded.tokenizer(texts, padding=True, truncation=True)["attention_mask"]
    lengths = [sum(m) for m in masks]
    row = lengths.index(min(lengths))  # the padded one, as the run step shows it: a learner's long text pads the other
    asked = code(texts[row])
    zeros = list(masks[row]).count(0)
    said = f"The rows hold {lengths[0]} and {lengths[1]} real tokens"
    right = (zeros, str(zeros), f"Right: {said}, so {asked} gets {plural(zeros, 'padding token')} with mask 0.")
    words_apart = abs(len(texts[0].split()) - len(texts[1].split()))
    wrong = [(d, str(d), f"{said}: {asked} gets {zeros}." + (" Padding counts tokens, not words."
                                                             if d == words_apart else ""))
             for d in dict.fromkeys((words_apart, zeros + 1, zeros - 1, zeros + 2, 0, zeros + 3)) if d >= 0]
    options, key, why = ranked(right, wrong, rng)
    return Question(kind="lesson:padding", topic="tokenizers",
                    prompt=(f"Two texts go through the tokenizer together with `padding=True`: {code(text)} and "
                            f"{code(PAD_PARTNER)}. How many 0s does the attention_mask of {asked} get?"),
                    options=options, key=key, why=why, model=loaded.spec.label, code="", literal=False,
                    inputs={"texts": texts})


def _padding_concept(ctx: TaskContext, text: str, ran: Ran) -> str:
    return ("A batch is one tensor, so all its rows need the same length: `padding=True` pads the shorter ones "
            "with the padding token, and the **attention_mask** marks real tokens 1 and padding 0. Attention skips "
            "the 0s, so a padded text's vectors equal its unpadded ones up to floating-point rounding, provided "
            "everything after attention skips them too: pooling must average only the real tokens, and a loss "
            "must ignore padded positions. Decoder-only models are padded on the left when they generate, so the "
            "new tokens follow the last real token.")


# --- Part III -------------------------------------------------------------------------------------------

def _onehead(ctx: TaskContext, text: str) -> Result:
    layer, head = heads.measure(ctx, avoid=text).best("previous")
    return run_command(ctx, "attention", {"text": text, "layer": layer, "head": head, "noops": "show"})


def _onehead_predict(ctx: TaskContext, text: str, rng: random.Random) -> Question:
    measured = heads.measure(ctx, avoid=text)
    return heads.top_question(ctx, text, measured.best("previous"), measured, rng)


def _onehead_concept(ctx: TaskContext, text: str, ran: Ran) -> str:
    measured = heads.measure(ctx, avoid=text)
    return ("In every layer each **head** scores how much each token (a row) looks at every token (a column); "
            "softmax makes each row add up to 1. A bright cell says where information **may flow**: the token of "
            "that row mixes in that column's value vector. " + measured.describe("previous", measured.best("previous")))


def _layer_of(ctx: TaskContext, text: str) -> int:
    return heads.measure(ctx, avoid=text).best("previous")[0]


def _allheads(ctx: TaskContext, text: str) -> Result:
    return run_command(ctx, "attention", {"text": text, "layer": _layer_of(ctx, text), "head": "all"})


def _allheads_predict(ctx: TaskContext, text: str, rng: random.Random) -> Question:
    return heads.layer_question(ctx, text, _layer_of(ctx, text), rng)


def _allheads_concept(ctx: TaskContext, text: str, ran: Ran) -> str:
    measured = heads.measure(ctx, avoid=text)
    previous, parking = measured.best("previous"), measured.best("parking")
    none = "" if measured.clear("previous", previous) else f" Neither is a clear pattern: {heads.NO_PATTERN}."
    return ("A layer has several heads, each with its own weights and its own map. Nothing forces a head to "
            "specialise; some learn a pattern in training, and many show none. On this model: "
            + measured.describe("previous", previous, caveat=False) + " "
            + measured.describe("parking", parking, caveat=False) + none + " The layer does not choose a head: it "
            "**concatenates** what every head gathered (its weights times the value vectors), mixes that with one "
            "output matrix (W_O), adds the result to the layer's input (the residual connection) and passes each "
            "token through a small feed-forward network (MLP).")


def _layers_predict(ctx: TaskContext, text: str, rng: random.Random) -> Question:
    return heads.maps_question(ctx, text, heads.measure(ctx, avoid=text), rng)


def _layers_concept(ctx: TaskContext, text: str, ran: Ran) -> str:
    measured = heads.measure(ctx, avoid=text)
    previous, parking = measured.best("previous"), measured.best("parking")
    return ("Each layer reads the vectors the layer below wrote, so a late layer's map links tokens that already "
            "carry their context, not the original words. Which layers do what is a property of one model, found "
            f"by measuring: on this one, over {measured.sentences} sentences, the clearest previous-token head is in "
            f"layer {previous[0]} ({measured.rate('previous', previous):.0%} of rows) and the head that parks most "
            f"on the structural tokens in layer {parking[0]} ({measured.rate('parking', parking):.0%} of a row). "
            "Compare along a row of /overview (the heads of one layer) and down a column (one head number across "
            "layers).")


def _limits(ctx: TaskContext, text: str) -> Result:
    layer, head = heads.measure(ctx, avoid=text).best("parking")
    return run_command(ctx, "attention", {"text": text, "layer": layer, "head": head, "noops": "show"})


def _limits_predict(ctx: TaskContext, text: str, rng: random.Random) -> Question:
    measured = heads.measure(ctx, avoid=text)
    return heads.parking_question(ctx, text, measured.best("parking"), measured, rng)


def _limits_concept(ctx: TaskContext, text: str, ran: Ran) -> str:
    return ("Heads often park attention on `[CLS]` or `[SEP]` when nothing in the text fits: a **no-op** (Clark et "
            "al. 2019). More generally a weight says where information **may flow**, not what the model **used**: "
            "the value vectors mixed in, W_O, the later layers and the classifier all decide what reaches the "
            "answer, so attention alone is not an explanation (Jain and Wallace 2019).")


LESSONS: tuple[Lesson, ...] = (
    Lesson("sentiment", 1, "Text classification", "sentiment-90", "I love this film, but the ending was too long.",
           _command("sentiment"), _sentiment_concept,
           _c("A classifier's softmax gives POSITIVE 0.97 for a review. What does the 0.97 tell you?",
              ("How strongly its scores favour POSITIVE",
               "Right: softmax turns the logits into shares that add up to 1; how often such answers are right "
               "must be measured on labelled texts."),
              ("The chance that POSITIVE is the right label",
               "Confidence is not accuracy: a model can give 0.97 and be wrong; calibration has to be measured."),
              ("The share of the review's words that are positive",
               "Softmax acts on the logits for the whole text, not on its words."),
              ("How many training reviews looked like this one",
               "The model keeps no count of its training texts; the score comes from this forward pass.")),
           needs=("sentiment",), try_this="Try a sarcastic sentence: does a high score mean the label is right?",
           aliases=("classification",)),
    Lesson("ner", 1, "Named entities", "ner-type", "My name is Ada and I live in London.", _command("ner"),
           _ner_concept,
           _c("What does a token-classification model give a label to?",
              ("Every token, word pieces included", "Right: one label per token; grouping into entities comes "
                                                    "after, in post-processing."),
              ("Every sentence of the text", "That is text classification: one label for the whole text."),
              ("Only the capitalised words", "It labels every token; most get O (outside any entity)."),
              ("Each name it finds in a list of names",
               "There is no list: the labels come from the model's scores for each token.")),
           item=lambda ctx, text: Item(text, name_word(text) or (words(text) or [text])[-1]),
           needs=("ner",), try_this="Add a place and an organisation to the sentence: which words become one entity?",
           aliases=("entities",)),
    Lesson("zeroshot", 1, "Zero-shot classification", "zeroshot-label", "I love pizza with extra cheese",
           _command("zeroshot", labels=LABELS), _zeroshot_concept,
           _c("Zero-shot classification shows `food` 85% for a text, with the labels food, sports, politics, "
              "weather. What is the 85%?",
              ("Food's share among these four labels",
               "Right: softmax spreads 100% over the labels you gave; change the labels and the share changes."),
              ("The probability the text is about food",
               "Only a share among these labels: add or remove a label and the same text gets another number."),
              ("The similarity of the text to the word food",
               "Similarity (or entailment) is the raw score; the percentage comes after softmax over the labels."),
              ("The share of the text's words that are about food",
               "The model scores the whole text against each label, not word by word.")),
           item=lambda ctx, text: Item(text, extra=tuple(LABELS.split(", "))), needs=("zeroshot",),
           try_this="Add a label that fits better, or remove the winner: watch every share move."),
    Lesson("qa", 1, "Question answering", "qa-span", "My name is Ada and I live in London.", _qa, _qa_concept,
           _c("An extractive QA model answers a question about a context. Where can its answer come from?",
              ("Only a span of the context", "Right: it scores a start and an end token inside the context."),
              ("Any words of its vocabulary", "That is a generative (chat) model, which writes its answer."),
              ("Facts it memorised in training", "An extractive model can only point into the context it reads."),
              ("The question, copied back", "Question tokens are excluded: only context tokens start or end it.")),
           item=_qa_item, needs=("qa",), try_this="Ask a question the context cannot answer: what comes back?",
           aliases=("question answering",), fallback=first_word(_qa, "the answer", _question),
           shows=lambda text: f"The question: {code(_question(text))}."),
    Lesson("summarize", 1, "Summarization", "",
           "The Eiffel Tower is 330 metres tall. It was the tallest structure in the world for 41 years.",
           _command("summarize"), _summarize_concept,
           _c("In an encoder-decoder summarizer, what does the decoder read while it writes each token?",
              ("The encoded text and its own earlier tokens",
               "Right: cross-attention reads the encoder's vectors; self-attention reads what it wrote so far."),
              ("Only the tokens it has written so far", "Then it could not summarize: cross-attention reads the "
                                                         "encoded text at every step."),
              ("Only the encoded text, all at once", "It writes one token at a time, each step also reading its own "
                                                     "earlier tokens."),
              ("The next sentence, guessed by the encoder", "The encoder predicts nothing: it turns the text into "
                                                             "vectors.")),
           predict=first_word(_command("summarize"), "the summary"), needs=("summarize",),
           try_this="Give it a longer text: does the summary copy sentences or write new ones?"),
    Lesson("generate", 1, "Text generation", "next-word", "Once upon a time", _command("generate", max_new_tokens=20),
           _generate_concept,
           _c("You call `generate()` twice on one prompt with `do_sample=False`. What do you get?",
              ("The same text both times", "Right: greedy decoding always takes the most likely token."),
              ("Two different texts, drawn at random", "Only sampling (`do_sample=True`) varies."),
              ("Nothing but the prompt", "It adds up to `max_new_tokens` new tokens."),
              ("Texts that vary with the temperature", "Temperature matters only when sampling.")),
           item=lambda ctx, text: Item(text), needs=("generate",),
           try_this="Run it with `do_sample=True, temperature=0.8` twice and compare."),
    Lesson("fillmask", 1, "Fill-mask", "fillmask-top", "Paris is the [MASK] of France.", _fill, _fill_concept,
           _c("What does a masked language model use to guess the hidden word?",
              ("The words on both sides of it", "Right: it reads the whole sentence at once."),
              ("Only the words before it", "That is a causal (left-to-right) model."),
              ("The most frequent word of its vocabulary", "It scores every entry from the context."),
              ("The hidden word's first letter", "The mask replaces the whole token; no letter is left.")),
           item=_fill_item, needs=("fillmask",),
           try_this="Mask a word whose right-hand context decides it, e.g. `I [MASK] the piano every day.`",
           aliases=("fill mask", "masked")),
    Lesson("walk", 2, "From text to label, step by step", "sentiment-90", "I love this film.", _walk, _walk_concept,
           _c("What does softmax do to the model's logits?",
              ("Makes them positive shares that sum to 1", "Right: exp(logit) divided by the sum over all labels."),
              ("Rounds each logit to the nearest label id", "Logits stay real numbers; softmax exponentiates and "
                                                             "normalises them."),
              ("Keeps the largest logit and drops the rest", "That is argmax, taken after softmax; softmax keeps "
                                                              "every label."),
              ("Scales them into the range -1 to 1", "That is tanh; softmax gives values from 0 to 1 that sum to 1.")),
           needs=("sentiment",), try_this="Run the snippet on a negative sentence: how do the two scores move?",
           aliases=("pipeline", "steps"), topic="pipelines"),
    Lesson("subwords", 2, "Subwords", "token-split", "Tokenization is unbelievably useful.", _command("tokenize"),
           _subwords_concept,
           _c("Why do tokenizers split rare words into pieces?",
              ("So a fixed vocabulary covers most unseen words",
               "Right: known pieces combine into words never stored whole (WordPiece still needs [UNK] for a "
               "character it cannot spell; byte-level BPE spells anything)."),
              ("So the input gets shorter and quicker to process", "Splitting makes it longer."),
              ("Because the model reads the text letter by letter", "It reads tokens: whole words or pieces."),
              ("So that spelling mistakes get corrected on the way", "A typo is split like any rare word, not "
                                                                     "corrected.")),
           item=lambda ctx, text: Item(max(words(text) or [text], key=len)), needs=("tokenize",),
           try_this="Tokenize `naïve café 😀x`, then `naïve café 😀 x`: what happens to the `x`?"),
    Lesson("special", 2, "Special tokens", "special-token", "The cat sat. | It was tired.", _special,
           _special_concept,
           _c("What does [SEP] mark?",
              ("Where a text ends (twice for a pair)", "Right: one after each text of a pair."),
              ("A hidden word for the model to predict", "That is [MASK]."),
              ("A character the vocabulary cannot spell", "That is [UNK]."),
              ("The space between two words", "Spaces are not tokens in WordPiece; `##` marks word continuations.")),
           predict=_special_predict, needs=("tokenize",),
           try_this="Tokenize one text without ` | ` and compare the token_type_ids."),
    Lesson("padding", 2, "Attention masks and padding", "", "Short one.", padding_walk, _padding_concept,
           _c("Two texts share a batch with `padding=True`. Why does the shorter one's result stay the same, up to "
              "rounding?",
              ("The attention mask hides its padding", "Right: no token attends to a position whose mask is 0."),
              ("The padding token has no meaning", "It has an embedding like any token; without the mask it would "
                                                   "change the result."),
              ("The model cuts the padding off first", "The tensor keeps it; the mask hides it from attention."),
              ("The two texts are read one after another", "They are one tensor, read together.")),
           predict=_padding_predict, needs=("attention",),
           try_this="Pad a batch of three texts and count the 0s of each row."),
    Lesson("onehead", 3, "One attention head", "", "The cat sat on the mat because it was tired.", _onehead,
           _onehead_concept,
           _c("In one head's attention map, what adds up to 1?",
              ("Each row: where one token looks", "Right: softmax runs along each row."),
              ("Each column: who looks at one token", "A column can get any total: a popular token collects a lot."),
              ("The whole map", "Every row sums to 1, so the map sums to the number of tokens."),
              ("Nothing: the weights are raw scores", "Softmax makes them shares.")),
           predict=_onehead_predict, needs=("attention",),
           try_this="Run the snippet on your own sentence: does the measured pattern hold?", aliases=("head",)),
    Lesson("allheads", 3, "All the heads of a layer", "", "The cat sat on the mat because it was tired.", _allheads,
           _allheads_concept,
           _c("How does a layer combine what its heads gathered?",
              ("It concatenates them, then mixes them with W_O", "Right: then it adds the input back (residual) and "
                                                                  "runs the MLP."),
              ("It keeps only the strongest head", "Every head contributes; none is chosen."),
              ("It averages the heads' attention maps", "Maps are not averaged inside the model; /attention's "
                                                        "`head=mean` does it only to draw one picture."),
              ("Each head feeds its own next layer", "The next layer reads one combined vector per token.")),
           predict=_allheads_predict, needs=("attention",),
           try_this="Pick the head with the clearest pattern and run it on three sentences.", aliases=("heads",)),
    Lesson("layers", 3, "Layers compared", "", "The cat sat on the mat because it was tired.",
           _command("overview"), _layers_concept,
           _c("What does a head in layer 5 attend over?",
              ("Vectors already mixed by layers 0 to 4", "Right: each layer reads the output of the one below."),
              ("The original words, as layer 0 does", "Only layer 0 reads the embeddings of the words."),
              ("Only the same head number in layer 4", "A head reads the whole layer input, not one head below."),
              ("The attention maps of lower layers", "It reads vectors; maps are not passed on.")),
           predict=_layers_predict, needs=("attention",),
           try_this="Run /overview on a long sentence: do the same heads keep their pattern?"),
    Lesson("limits", 3, "What attention does not show", "", "The cat sat on the mat because it was tired.", _limits,
           _limits_concept,
           _c("A head puts 80% of a word's attention on [SEP]. What is the safest reading?",
              ("It is mostly a no-op for that word", "Right: structural tokens collect attention when nothing else "
                                                      "fits."),
              ("[SEP] matters most to the model's decision", "A weight says where information may flow, not what "
                                                              "the model used."),
              ("The word will be replaced by [SEP]", "Attention mixes vectors; it replaces no token."),
              ("The head copies [SEP]'s meaning into the word", "[SEP] carries no word of the text; such heads add "
                                                                "little.")),
           predict=_limits_predict, needs=("attention",),
           try_this="Run /attention with `mask=` at the structural token that head leans on ([CLS] is position 0): "
                    "which rows change, and how much?"),
    *(Lesson(s.id, 4, s.title, s.kind, s.example, s.run, s.concept, _c(s.check[0], s.check[1], *s.check[2]),
             needs=s.needs, try_this=s.try_this, aliases=s.aliases) for s in decoder_lessons.LESSONS),
)
STEPS = len(LESSONS) * len(PHASES)


def at(position: int) -> tuple[Lesson, int]:
    position = max(0, min(position, STEPS - 1))
    return LESSONS[position // len(PHASES)], position % len(PHASES)


def describe(position: int) -> str:
    lesson, phase = at(position)
    return f"lesson {LESSONS.index(lesson) + 1} of {len(LESSONS)}, {lesson.title!r}, step {phase + 1} ({PHASES[phase]})"


def first_of_part(part: int) -> int:
    return next(i for i, lesson in enumerate(LESSONS) if lesson.part == part) * len(PHASES)


def first_of(lesson: Lesson) -> int:
    return LESSONS.index(lesson) * len(PHASES)


def by_check_kind(kind: str) -> Lesson | None:
    return next((lesson for lesson in LESSONS if lesson.check_kind == kind), None)


def runnable(lesson: Lesson, ctx: TaskContext) -> bool:
    """The pack serves every command the lesson's run needs (else its steps cannot run, and it is not done)."""
    return all(name in ctx.pack.models for name in lesson.needs)


def check_question(lesson: Lesson, seed: float) -> Question:
    """The lesson's retrieval question, its options shuffled afresh."""
    options, key, why = shuffled(lesson.check.right, list(lesson.check.wrong), random.Random(seed))
    return Question(kind=lesson.check_kind, topic=lesson.topic or PARTS[lesson.part][2], prompt=lesson.check.question,
                    options=options, key=key, why=why, model="", code="", literal=False)


def example_note(text: str) -> str:
    return f"The running example: {code(text)}."

