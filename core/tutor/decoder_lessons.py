"""Part IV of the guided path: inside a decoder, computed live on the pack's causal model.

Four lessons, each predict -> run -> explain -> try -> check like the rest of the path
(core/tutor/lesson_path.py makes these its `Lesson`s; this module imports nothing of it):

1. Causal attention: the decoder's lower-triangular map beside the encoder's full one (/causal).
2. Queries, keys and values: one head by hand, equal to the model's own map (/qkv).
3. From logits to the next token: temperature, top-k, top-p; greedy, sampling, beam search (/nexttoken).
4. Positions and the chat template: what a chat model reads, and its answer with and without (/template).

Each prediction is its kind's question (core/tutor/kinds/decoder.py) on the lesson's text, about the
run that follows it: the same text, and the head, token and settings the run picks by the same rule.
Each explanation is said of the model that ran, with that run's numbers (recomputed from the same
text: the runs are deterministic).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.context import TaskContext
from core.markup import code
from core.results import Result
from core.tasks import causal
from core.tasks.qkv import NEG_INF, bound, choose, head_of, read, short_name
from core.tasks.shared.common import f4, load
from core.tokens import readable_tokens
from core.tutor import teach
from core.tutor.kinds import run_command
from core.tutor.kinds.decoder import LESSON_TEMPERATURE
from core.wording import plural

PART = ("IV", "Inside a decoder", "generation")
"""(roman numeral, title, quiz topic) as `lesson_path.PARTS` holds them."""

Runner = Callable[[TaskContext, str], Result]
Explainer = Callable[[TaskContext, str, Callable[[], Result]], str]
Option = tuple[str, str]
"""An answer and why it is right or wrong."""


@dataclass(frozen=True)
class Spec:
    """One lesson, in `lesson_path.Lesson`'s terms (its part is Part IV's)."""

    id: str
    title: str
    kind: str
    example: str
    run: Runner
    concept: Explainer
    check: tuple[str, Option, tuple[Option, ...]]
    """The retrieval question: the question, the right answer, the wrong ones."""
    needs: tuple[str, ...]
    try_this: str
    aliases: tuple[str, ...] = ()


def _run(command: str, main: str, **fixed: object) -> Runner:
    def run(ctx: TaskContext, text: str) -> Result:
        return run_command(ctx, command, {main: text, **fixed})
    return run


EXAMPLE = "The cat sat on the mat because it was tired."
TEMPLATE_TOKENS = 8
"""The template lesson's two runs write this many tokens each: enough to see the answer differ, and short
enough that a learner's longest sentence still fits one message."""


# ----- the explanations, said of the run -----
def _causal_concept(ctx: TaskContext, text: str, ran: Callable[[], Result]) -> str:
    pair = causal.compare(ctx, text, 0, 0)
    d, e = pair.decoder, pair.encoder
    upper = d.n * (d.n - 1) // 2
    live = (f"In this run, {d.above} of the {upper} cells above the diagonal of layer 0, head 0 of the decoder "
            f"({d.name}) were exactly 0, as they were in "
            + (f"every one of its {pair.masked} heads" if pair.masked == pair.layers * pair.heads else
               f"{pair.masked} of its {pair.layers * pair.heads} heads")
            + f"; the encoder ({e.name}) had {e.zeros} zeros in its {e.n} x {e.n} map.")
    return (f"{live} A decoder writes left to right, so while reading token i it may use tokens 0 to i only. Before "
            f"softmax a **causal mask** adds {NEG_INF} to every score above the diagonal: those weights come out "
            "exactly 0, and each row still adds up to 1 over the tokens it can see. An encoder has no such mask: each "
            "token sees the whole sentence, which is how it fills a [MASK] from both sides, and why it does not "
            "write left to right. The causal mask is not the padding mask: padding hides positions that hold no "
            "text; the causal mask hides the future even when there is no padding at all.")


def _qkv_concept(ctx: TaskContext, text: str, ran: Callable[[], Result]) -> str:
    reading = read(load(ctx, "qkv"), text)
    pick = choose(reading)
    head = head_of(reading, pick.layer, pick.head)
    i, name = pick.token, short_name(reading.loaded)
    live = (f"In this run ({name}, layer {head.layer}, head {head.head}, token {i} {code(reading.shown[i])}), each "
            f"query and key had d = {head.d} numbers, so the scores were multiplied by {head.scale:.4g} (1/√{head.d}); "
            f"the mask hid {plural(reading.n - 1 - i, 'later token')}; softmax of your scores equalled the model's "
            f"own map ({bound(head.difference)}).")
    if head.rotary:
        how = (f"{name} shares {reading.heads // head.groups} key/value heads among {reading.heads} query heads (this "
               f"head reads key/value head {head.kv_head}) and turns q and k by rotary position embeddings.")
    else:
        how = f"{name} makes q, k and v with one fused layer (`c_attn`) and adds positions once, at its input."
    return (f"{live} Each head turns every token's vector (after the layer's norm) into three: a **query** (what it "
            "looks for), a **key** (what it offers) and a **value** (what it passes on). Token i's score for token j "
            "is q_i·k_j / √d: without the division the scores grow with d and softmax saturates. The mask adds "
            f"{NEG_INF} for later tokens, softmax turns each row into weights, and the head's output is the weighted "
            "sum of the values. The layer concatenates its heads' outputs, mixes them with an output projection and "
            f"adds the result to the residual stream. Models differ in how they project, not in the formula: {how}")


def _sampling_concept(ctx: TaskContext, text: str, ran: Callable[[], Result]) -> str:
    from core.tasks.sampling import next_of, parse, prompt_ids

    args = ctx.registry.get("nexttoken").validate({"prompt": text, "temperature": str(LESSON_TEMPERATURE)})
    loaded = load(ctx, "generate", "causal-lm", "chat")
    settings = parse(args)
    nxt = next_of(loaded, prompt_ids(loaded, text, args["max_new_tokens"])[0], settings)
    top = code(readable_tokens(loaded.tokenizer, loaded.tokenizer.convert_ids_to_tokens(nxt.top(1)))[0])
    live = (f"In this run, {top} had {f4(float(nxt.plain.max()))} at T = 1 and {f4(float(nxt.warm.max()))} at "
            f"T = {LESSON_TEMPERATURE:g}; top-k = {settings.top_k} kept {nxt.kept_k} tokens and top-p = "
            f"{settings.top_p:g} kept {nxt.kept} of the {len(nxt.logits):,}: sampling drew from those.")
    _, decodes = teach.decoding(loaded)
    return (f"{live} The model gives each vocabulary token a **logit**; softmax(logits / T) makes them "
            "probabilities. A **temperature** T below 1 sharpens the distribution, above 1 flattens it, and never "
            "changes which token is most likely. **top-k** keeps the k most likely tokens, **top-p** the fewest "
            "whose probabilities reach p; the kept ones are renormalised. **Greedy** decoding (`do_sample=False`, "
            "`num_beams=1`) takes the top token every time; **sampling** (`do_sample=True`) draws from the filtered "
            "distribution, and a seed makes the draws repeatable; **beam search** (`num_beams=k`) keeps the k most "
            f"likely sequences so far and returns the best whole one, which greedy can miss. {decodes}")


def _template_concept(ctx: TaskContext, text: str, ran: Callable[[], Result]) -> str:
    from core.tasks.template import has_template, reads

    loaded = load(ctx, "generate", "causal-lm", "chat")
    name = short_name(loaded)
    idea = ("A chat model was fine-tuned on conversations written one way, and its tokenizer carries that format as "
            "a **chat template**: role markers around each message, a default system prompt when the messages give "
            "none (if the template has one), and, with `add_generation_prompt=True`, the opening of the assistant's "
            "turn. Every token has a **position**: the template's tokens come first, so your words sit at later "
            "positions, after other text. The same words are then another input, and the model answers them "
            "instead of continuing them. A model trained on plain text only has no template: it reads your tokens "
            "as they are and continues them.")
    alone = len(loaded.tokenizer(text)["input_ids"])
    if not has_template(loaded):
        return (f"In this run, {name} had no chat template (`tokenizer.chat_template` is None): it read your "
                f"{plural(alone, 'token')} at positions 0 to {alone - 1} and continued them. {idea}")
    seen = reads(loaded, text)
    system = sum(s.count for s in seen.segments if s.part == "system prompt")
    mine = seen.mine
    said = (f"{plural(system, 'token')} of its default system prompt, " if system else "no system prompt, ")
    where = f"; your words sat at positions {mine.positions}" if mine else ""
    return (f"In this run, {name} read {len(seen.ids)} tokens for your {alone}: {said}the rest role markers and the "
            f"reply's opening{where}. {idea}")


LESSONS: tuple[Spec, ...] = (
    Spec("causal", "Causal attention", "causal-zeros", EXAMPLE, _run("causal", "text"), _causal_concept,
         ("Why does a decoder's attention hide every token to its right?",
          ("Those tokens do not exist yet when it generates",
           "Right: it is trained the way it runs, each token predicted from the ones before it."),
          (("To save the memory those scores would take", "The scores to the right are computed anyway, then "
                                                          "masked: nothing is saved."),
           ("Those positions are padding and hold no text", "Padding has its own mask; the causal mask hides real "
                                                            "words too."),
           ("So that each row of the map still adds up to exactly 1", "Softmax makes every row add up to 1, masked "
                                                                      "or not."))),
         needs=("qkv", "attention"), try_this="Run /causal on your sentence with `head=1`, then `layer=1`: does "
                                              "every head keep the triangle?",
         aliases=("decoder", "causal mask")),
    Spec("qkv", "Queries, keys and values", "qkv-mask", EXAMPLE, _run("qkv", "text"), _qkv_concept,
         ("What does dividing the scores q·k by √d do?",
          ("Stops the scores growing with d, so softmax stays smooth",
           "Right: a dot product of d numbers grows like √d; dividing keeps softmax out of saturation."),
          (("Makes each row of weights add up to 1", "That is softmax's job."),
           ("Hides the tokens that come later in the text", "That is the causal mask, added before softmax."),
           ("Turns each key into the value that the head passes on to the next layer",
            "Keys and values come from separate projections of the input."))),
         needs=("qkv",), try_this="Run the snippet with another `HEAD` or `TOKEN`: does the mask change the winner "
                                  "there too?",
         aliases=("q k v", "queries", "attention by hand")),
    Spec("sampling", "From logits to the next token", "temperature-top", "The best way to learn is",
         _run("nexttoken", "prompt", temperature=str(LESSON_TEMPERATURE)), _sampling_concept,
         ("You lower the temperature from 1.0 to 0.5. What happens to the most likely next token?",
          ("It stays on top, and its probability rises",
           "Right: dividing every logit by 0.5 keeps their order and widens the gaps."),
          (("Another token becomes the most likely", "Dividing every logit by the same T keeps their order."),
           ("Its probability falls, though it stays on top", "That is what a temperature above 1 does."),
           ("Nothing: temperature only matters to beam search", "It rescales the logits before softmax; sampling "
                                                                "draws from what it gives."))),
         needs=("generate",), try_this="Run /nexttoken with `temperature=0.5`, then `2.0`: predict the top token's "
                                       "share before each run.",
         aliases=("temperature", "next token", "nexttoken", "sampling")),
    Spec("template", "Positions and the chat template", "template-first", "Tell me a joke.",
         _run("template", "prompt", max_new_tokens=TEMPLATE_TOKENS), _template_concept,
         ("What does `add_generation_prompt=True` add to the chat template's output?",
          ("The opening of the assistant's turn",
           "Right: the model then writes a reply, rather than more of the user's message."),
          (("A default system prompt", "The template adds that by itself (SmolLM2's does whenever no system "
                                       "message is given), with or without this option."),
           ("An end-of-text token after your message", "It opens a turn; the model writes the end-of-turn token "
                                                       "itself when its reply is done."),
           ("Your message a second time", "Your message appears once, in its user turn."))),
         needs=("generate",), try_this="Send a question and a half-finished sentence: which does the model answer, "
                                       "and which does it continue?",
         aliases=("chat template", "positions")),
)
