"""Part IV of the guided path: inside a decoder, computed live on the pack's causal model.

Four lessons, each predict -> run -> explain -> try -> check like the rest of the path
(core/tutor/lesson_path.py turns these into its `Lesson`s; this module imports nothing of it):

1. Causal attention: the decoder's lower-triangular map beside the encoder's full one (/causal).
2. Queries, keys and values: one head by hand, equal to the model's own map (/qkv).
3. From logits to the next token: temperature, top-k, top-p; greedy, sampling, beam search (/nexttoken).
4. Positions and the chat template: what a chat model reads, and its answer with and without (/template).

Each prediction asks about the run that follows it: the same text, and the head, token and settings
the run picks by the same rule (see core/tutor/kinds/decoder.py).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.context import TaskContext
from core.results import Result
from core.tasks.qkv import NEG_INF
from core.tutor.kinds import run_command
from core.tutor.kinds.decoder import LESSON_TEMPERATURE

PART = ("IV", "Inside a decoder", "generation")
"""(number, title, quiz topic) as `lesson_path.PARTS` holds them."""

Runner = Callable[[TaskContext, str], Result]
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
    concept: str
    check: tuple[str, Option, tuple[Option, ...]]
    """The retrieval question: the question, the right answer, the wrong ones."""
    predict_example: str = ""


def _run(command: str, main: str, **fixed: object) -> Runner:
    def run(ctx: TaskContext, text: str) -> Result:
        return run_command(ctx, command, {main: text, **fixed})
    return run


EXAMPLE = "The cat sat on the mat because it was tired."
TEMPLATE_TOKENS = 8
"""The template lesson's two runs write this many tokens each: enough to see the answer differ, and short
enough that a learner's longest sentence still fits one message."""

LESSONS: tuple[Spec, ...] = (
    Spec("causal", "Causal attention", "causal-zeros", EXAMPLE, _run("causal", "text"),
         "A decoder (GPT-2, SmolLM2) writes left to right, so while reading token i it may use tokens 0 to i only. "
         f"Before softmax a **causal mask** adds {NEG_INF} to every score above the diagonal: those weights come out "
         "exactly 0, and each row still adds up to 1 over the tokens it can see. The map is lower-triangular in "
         "every head of every layer. An encoder (BERT, MiniLM) has no such mask: each token sees the whole "
         "sentence, which is how it fills a [MASK] from both sides and why it cannot generate. The causal mask is "
         "not the padding mask: padding hides positions that hold no text; the causal mask hides the future even "
         "when there is no padding at all.",
         ("Why does a decoder's attention hide every token to its right?",
          ("Those tokens do not exist yet when it generates",
           "Right: it is trained the way it runs, each token predicted from the ones before it."),
          (("To save the memory those scores would take", "The scores to the right are computed anyway, then "
                                                          "masked: nothing is saved."),
           ("Those positions are padding and hold no text", "Padding has its own mask; the causal mask hides real "
                                                            "words too."),
           ("So that each row of the map still adds up to exactly 1", "Softmax makes every row add up to 1, masked "
                                                                      "or not.")))),
    Spec("qkv", "Queries, keys and values", "qkv-mask", EXAMPLE, _run("qkv", "text"),
         "Each head turns every token's vector (after the layer's norm) into three: a **query** (what this token "
         "looks for), a **key** (what it offers) and a **value** (what it passes on). Token i's score for token j "
         "is q_i·k_j divided by √d, d being the head's size (without it the scores grow with d and softmax "
         f"saturates). The causal mask adds {NEG_INF} for later tokens, softmax turns each row into weights, and the "
         "head's output is the weighted sum of the values. The layer concatenates its heads' outputs, mixes them "
         "with an output projection and adds the result to the residual stream. Models differ in how they "
         "project, not in the formula: SmolLM2 shares 3 key/value heads among 9 query heads and turns q and k by "
         "rotary position embeddings; GPT-2 makes q, k and v with one fused layer.",
         ("What does dividing the scores q·k by √d do?",
          ("Stops the scores growing with d, so softmax stays smooth",
           "Right: a dot product of d numbers grows like √d; dividing keeps softmax out of saturation."),
          (("Makes each row of weights add up to 1", "That is softmax's job."),
           ("Hides the tokens that come later in the text", "That is the causal mask, added before softmax."),
           ("Turns each key into the value that the head passes on to the next layer",
            "Keys and values come from separate projections of the input.")))),
    Spec("sampling", "From logits to the next token", "temperature-top", "The best way to learn is",
         _run("nexttoken", "prompt", temperature=str(LESSON_TEMPERATURE)),
         "The model gives each vocabulary token a **logit**; softmax(logits / T) turns them into probabilities. "
         "A **temperature** T below 1 sharpens the distribution, above 1 flattens it, and never changes which "
         "token is most likely. **top-k** keeps the k most likely tokens, **top-p** the smallest set whose "
         "probabilities reach p; the rest get 0 and the kept ones are renormalised. **Greedy** decoding "
         "(`do_sample=False`, `num_beams=1`) takes the top token every time, whatever the model's generation_config "
         "defaults to; **sampling** (`do_sample=True`) draws from the filtered distribution, and a seed makes the "
         "draws repeatable; **beam search** (`num_beams=k`) keeps the k most likely sequences so far and returns "
         "the best whole one, which greedy can miss.",
         ("You lower the temperature from 1.0 to 0.5. What happens to the most likely next token?",
          ("It stays on top, and its probability rises",
           "Right: dividing every logit by 0.5 keeps their order and widens the gaps."),
          (("Another token becomes the most likely", "Dividing every logit by the same T keeps their order."),
           ("Its probability falls, though it stays on top", "That is what a temperature above 1 does."),
           ("Nothing: temperature only matters to beam search", "It rescales the logits before softmax; sampling "
                                                                "draws from what it gives.")))),
    Spec("template", "Positions and the chat template", "template-first", "Tell me a joke.",
         _run("template", "prompt", max_new_tokens=TEMPLATE_TOKENS),
         "A chat model was fine-tuned on conversations written one way, and its tokenizer carries that format as "
         "a **chat template**: role markers around each message (`<|im_start|>user` ... `<|im_end|>` for "
         "SmolLM2), a default system prompt when the messages give none (SmolLM2's names itself), and, with "
         "`add_generation_prompt=True`, the opening of the assistant's turn. Every token has a **position**: the "
         "template's tokens come first, so your words sit at later positions, after other text. The same words "
         "are then another input, and the model answers them instead of continuing them. A model trained on plain "
         "text only (GPT-2) has no template: it reads your tokens as they are and continues them.",
         ("What does `add_generation_prompt=True` add to the chat template's output?",
          ("The opening of the assistant's turn",
           "Right: the model then writes a reply, rather than more of the user's message."),
          (("A default system prompt", "The template adds that by itself (SmolLM2's does whenever no system "
                                       "message is given), with or without this option."),
           ("An end-of-text token after your message", "It opens a turn; the model writes the end-of-turn token "
                                                       "itself when its reply is done."),
           ("Your message a second time", "Your message appears once, in its user turn.")))),
)
