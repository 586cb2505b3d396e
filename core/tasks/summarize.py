"""/summarize: a seq2seq model's `generate`, or a chat model asked for a summary.

transformers 5 removed `pipeline("summarization")`; both ways here are what it teaches now.
A seq2seq model has positions on both sides: the encoder reads at most its limit (the start of the
text is kept), and the decoder's start token and new tokens must fit in the decoder's positions.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from core import tiny
from core.context import TaskContext
from core.errors import UserError
from core.markup import code, plain
from core.models import Loaded
from core.packs import SMOLLM2, Offline, TaskModel
from core.results import Result
from core.tasks.shared import chat
from core.tasks.shared.base import generate, one
from core.tasks.shared.common import load, max_tokens, model_line, truncation_notice, with_output
from core.tasks.standins import stand_in_line
from core.wording import plural

MAX_NEW_TOKENS = 60
CHAT_NEW_TOKENS = 80
CHAT_STANDS_IN = ("this pack has no encoder-decoder summarizer, so SmolLM2, a decoder-only chat model, was asked to "
                  "summarize (greedy), where a seq2seq model encodes the text once and decodes a summary from it, "
                  "usually with beam search.")
MODEL = TaskModel(roles=("seq2seq", "chat", "causal-lm"), hub="sshleifer/distilbart-cnn-12-6",
                  tiny=tiny.CNN_DISTILBART, offline=Offline(SMOLLM2, "chat", stands_in=CHAT_STANDS_IN),
                  hub_classes=("BartForConditionalGeneration", "RobertaTokenizer"))  # BartTokenizer: an alias in v5
"""A seq2seq model's `generate`, or a chat model asked for a summary."""
SNIPPET = """from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

{model}
tokenizer = AutoTokenizer.from_pretrained(MODEL)
model = AutoModelForSeq2SeqLM.from_pretrained(MODEL)
inputs = tokenizer({text!r}, truncation=True, max_length={limit}, return_tensors="pt")
# max_length=None: max_new_tokens alone sets the length (a model's config may set a max_length of its own)
summary_ids = model.generate(**inputs, max_new_tokens={n}, max_length=None)
print(tokenizer.decode(summary_ids[0], skip_special_tokens=True))"""


def run_batch(ctx: TaskContext, batch: Sequence[dict[str, Any]]) -> list[Result]:
    """A chat model summarizes concurrent texts together; a seq2seq model one after another."""
    for args in batch:
        check_long_enough(args["text"])
    loaded = load(ctx, "summarize")
    if loaded.role == "seq2seq":
        return [_seq2seq(loaded, args["text"]) for args in batch]
    replies = chat.chat_batch(loaded, [chat.Ask(args["text"], _messages) for args in batch], CHAT_NEW_TOKENS)
    return [_chat(loaded, reply) for reply in replies]


run = one(run_batch)

MIN_WORDS = 4
"""Below this, there is nothing to shorten: `/summarize .` once gave a made-up story about a new employee."""


def check_long_enough(text: str) -> None:
    words = len(re.findall(r"\w+", text))
    if words < MIN_WORDS:
        raise UserError(f"A summary shortens a text, and yours has {plural(words, 'word')}: there is nothing to "
                        "shorten (asked anyway, a model writes something your text does not say). Give a sentence "
                        "or more.")


def decoder_room(loaded: Loaded) -> int | None:
    """The decoder's positions, its start token included (None for models without a fixed table)."""
    config = loaded.model.config
    value = getattr(config, "max_target_positions", None) or getattr(config, "max_position_embeddings", None)
    return value if isinstance(value, int) and value > 0 else None


def _seq2seq(loaded: Loaded, text: str) -> Result:
    limit = max_tokens(loaded)
    count, notice = truncation_notice(loaded, text)
    room = decoder_room(loaded)
    n = MAX_NEW_TOKENS if room is None else max(1, min(MAX_NEW_TOKENS, room - 1))
    inputs = loaded.tokenizer(text, truncation=True, max_length=limit, return_tensors="pt")
    ids = generate(loaded, inputs, max_new_tokens=n, max_length=None)  # as the snippet: no clash with the config's
    summary = loaded.tokenizer.decode(ids[0], skip_special_tokens=True).strip()
    new = ids.shape[-1] - 1  # the output starts with the decoder's start token, which it did not write
    notices = [notice] if notice else []
    if n < MAX_NEW_TOKENS:
        notices.append(f"This model's decoder has {room} positions, its start token included, so it wrote at "
                       f"most {plural(n, 'new token')} instead of {MAX_NEW_TOKENS}.")
    if new >= n:
        notices.append(f"The summary reached the cap of {plural(n, 'new token')} (`max_new_tokens`), so it may "
                       "end mid-sentence.")
    return Result(
        command="summarize",
        answer=f"**Summary:** {plain(summary)}",
        explanation=(
            "1. An encoder -> decoder (seq2seq) model ran. transformers 5 removed `pipeline(\"summarization\")` (it "
            "now raises KeyError); the steps it hid are tokenizer -> `model.generate()` -> `tokenizer.decode()`.\n"
            f"2. The encoder read your text once ({plural(min(count, limit), 'token')}"
            + (f" of {count}: it reads at most {limit}" if count > limit else "") + ").\n"
            f"3. The decoder began from its start token and wrote {plural(new, 'new token')} (at most {n} new "
            f"tokens), each step looking back at the encoded text (cross-attention). {decoding(loaded)}\n"
            "4. decode turned the ids back into words, dropping special tokens."
        ),
        code=with_output(SNIPPET.format(model=model_line(loaded), text=text, limit=limit, n=n), [summary]),
        model=loaded.spec.label,
        notices=tuple(notices),
    )


DECODING_SETTINGS = ("min_length", "no_repeat_ngram_size", "length_penalty", "repetition_penalty", "early_stopping",
                     "temperature", "top_k", "top_p")
"""Generation settings worth naming when a model's generation config sets them."""


def decoding(loaded: Loaded) -> str:
    """How `generate` chose each token, read from the model's generation config (the call sets none of it):
    beam search with its `num_beams`, sampling, or greedy, and the other settings the config changes."""
    config = loaded.model.generation_config
    beams = int(config.num_beams or 1)
    if config.do_sample:
        how = "It sampled each token (`do_sample=True` in the model's generation config)"
    elif beams > 1:
        how = (f"It ran beam search with `num_beams={beams}`, from the model's generation config: at each step it "
               f"kept the {beams} most likely partial summaries, and returned the best one that finished")
    else:
        how = ("It decoded greedily (`num_beams=1`, the model's generation config): the most likely token at each "
               "step")
    changed = config.to_diff_dict()
    others = [code(f"{name}={changed[name]}") for name in DECODING_SETTINGS if name in changed]
    return how + (f"; the config also sets {', '.join(others)}." if others else ".")


CHAT_NOTE = ("\n4. The chat model is decoder-only: your text and the instruction to summarize it are one prompt, "
             "and the summary is its continuation, where a seq2seq summarizer encodes the text once and decodes "
             "from that.")


def _messages(text: str) -> chat.Messages:
    return [{"role": "user", "content": f"Summarize this text in one or two sentences:\n\n{text}"}]


def _chat(loaded: Loaded, reply: chat.Reply) -> Result:
    return Result(
        command="summarize",
        answer=f"**Summary:** {plain(reply.text)}\n{stand_in_line(CHAT_STANDS_IN)}",
        explanation=chat.explain("summarization", reply, CHAT_NOTE),
        code=with_output(chat.snippet(loaded, reply.messages, reply.cap), [reply.text]),
        model=loaded.spec.label,
        notices=chat.notices(reply, "your text"),
    )
