"""Chat models for summaries and answers: how transformers 5 does them when there is no dedicated
model (the old one-line pipelines were removed).

The snippet shows `pipeline("text-generation")` with chat messages. The bot does the same steps
itself (chat template with the assistant's turn opened, greedy `generate`, decode the new tokens), so
that concurrent requests decode together; both print the same text.

The learner's text (the text to summarize, the context of a question) is the part that may be
shortened when the template, the text and the new tokens do not fit in the model's positions: the
start of the text is kept and sent as it is, so the snippet's messages reproduce the cut exactly.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.errors import UserError
from core.markup import plain
from core.models import Loaded
from core.tasks.shared.common import model_line
from core.tasks.shared.decoding import ended, greedy_continue, positions
from core.wording import ordinal, plural

Messages = list[dict[str, str]]

SNIPPET = """from transformers import {imports}

{model}
{build}
messages = {messages!r}
out = chat(messages, max_new_tokens={max_new_tokens}, do_sample=False)
print(out[0]["generated_text"][-1]["content"])"""

BUILD_GGUF = """tokenizer = AutoTokenizer.from_pretrained(MODEL, gguf_file=GGUF)
model = AutoModelForCausalLM.from_pretrained(MODEL, gguf_file=GGUF)
chat = pipeline("text-generation", model=model, tokenizer=tokenizer)"""

_MARK = "\u2063SYSTEM-PROMPT\u2063"
"""Stands in for a system message when reading a template's default one (see `default_system`)."""


@dataclass(frozen=True)
class Ask:
    """One chat request: the learner's text, and how to build the messages around (part of) it."""

    text: str
    build: Callable[[str], Messages]


@dataclass(frozen=True)
class Reply:
    messages: Messages
    """What was sent: the learner's text in it may be shortened (`kept_chars`)."""
    text: str
    prompt_tokens: int
    """The messages after the chat template, with the assistant's turn opened."""
    new_tokens: int
    cap: int
    """`max_new_tokens`: the caller's, or fewer on a model with very few positions."""
    ended: bool
    """The model ended its turn itself; False when it was stopped at the cap."""
    learner_text: str
    """The learner's text as given, before any shortening."""
    text_tokens: int
    kept_chars: int
    """Characters of the learner's text that were sent: all of them unless it had to be shortened."""
    room: int
    """The model's positions: the templated prompt and the new tokens together."""
    default_system: str | None
    """The system prompt the template adds when the messages give none (None if it adds none)."""

    @property
    def shortened(self) -> bool:
        return self.kept_chars < len(self.learner_text)


def chat_batch(loaded: Loaded, asks: Sequence[Ask], max_new_tokens: int) -> list[Reply]:
    """What `pipeline("text-generation")(messages, max_new_tokens=..., do_sample=False)` replies to
    each request. Several requests decode together (core/tasks/shared/decoding.py)."""
    room = positions(loaded)
    fitted = [_fit(loaded, ask, max_new_tokens, room) for ask in asks]
    news = greedy_continue(loaded, [ids for _, ids, _, _ in fitted], [cap for _, _, cap, _ in fitted])
    replies = []
    for ask, (messages, ids, cap, kept), new in zip(asks, fitted, news, strict=False):
        text_tokens = len(loaded.tokenizer(ask.text, add_special_tokens=False)["input_ids"])
        replies.append(Reply(messages, loaded.tokenizer.decode(new, skip_special_tokens=True).strip(), len(ids),
                             len(new), cap, ended(loaded, new), ask.text, text_tokens, kept, room,
                             default_system(loaded, messages)))
    return replies


def _template_ids(loaded: Loaded, messages: Messages) -> list[int]:
    ids = loaded.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    return list(ids["input_ids"] if hasattr(ids, "keys") else ids)


def _fit(loaded: Loaded, ask: Ask, wanted: int, room: int) -> tuple[Messages, list[int], int, int]:
    """(messages, their token ids, new tokens allowed, characters of the text kept) so that the
    templated prompt and the new tokens fit in `room` positions."""
    messages = ask.build(ask.text)
    ids = _template_ids(loaded, messages)
    if len(ids) + wanted <= room:
        return messages, ids, wanted, len(ask.text)
    frame = len(_template_ids(loaded, ask.build("")))
    cap = min(wanted, room - frame - 1)
    if cap < 1:
        raise UserError(f"This model has {room} positions: too few for the chat template ({frame} tokens), "
                        "any of your text and a reply.")
    kept = _shorten(loaded, ask, room - cap)
    messages = ask.build(ask.text[:kept])
    return messages, _template_ids(loaded, messages), cap, kept


def _shorten(loaded: Loaded, ask: Ask, budget: int) -> int:
    """How many characters of the text's start fit, with the template, in `budget` tokens: cut at a
    token's end, then step back while re-tokenizing the cut text still runs over."""
    ends = _token_ends(loaded, ask.text)
    keep = len(ends)
    while keep > 0:
        cut = ends[keep - 1]
        over = len(_template_ids(loaded, ask.build(ask.text[:cut]))) - budget
        if over <= 0:
            return cut
        keep -= over
    return 0


def _token_ends(loaded: Loaded, text: str) -> list[int]:
    """Where each token of `text` ends, in characters; evenly spread guesses for a tokenizer without
    offsets (the loop in `_shorten` corrects them against the real token count)."""
    try:
        enc = loaded.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return [end for _, end in enc["offset_mapping"]]
    except (NotImplementedError, KeyError, ValueError):
        count = max(1, len(loaded.tokenizer(text, add_special_tokens=False)["input_ids"]))
        return [round((i + 1) * len(text) / count) for i in range(count)]


def default_system(loaded: Loaded, messages: Messages) -> str | None:
    """The system prompt the chat template inserts when the messages give none, read from the
    template's own output: render the messages without a system turn, and with a marker system turn,
    and take what stands where the marker stood (SmolLM2: "You are a helpful AI assistant named
    SmolLM, trained by Hugging Face")."""
    turns = [m for m in messages if m["role"] != "system"]
    try:
        plain = loaded.tokenizer.apply_chat_template(turns, tokenize=False)
        marked = loaded.tokenizer.apply_chat_template([{"role": "system", "content": _MARK}, *turns], tokenize=False)
    except Exception:  # noqa: BLE001 - a template may refuse a system turn: then it has no default either
        return None
    head, found, tail = marked.partition(_MARK)
    if not found or len(plain) <= len(head) + len(tail) or not (plain.startswith(head) and plain.endswith(tail)):
        return None
    return plain[len(head):len(plain) - len(tail)].strip() or None


def snippet(loaded: Loaded, messages: Messages, max_new_tokens: int) -> str:
    if loaded.spec.gguf_file:
        imports, build = "AutoModelForCausalLM, AutoTokenizer, pipeline", BUILD_GGUF
    else:
        imports, build = "pipeline", 'chat = pipeline("text-generation", model=MODEL)'
    return SNIPPET.format(imports=imports, model=model_line(loaded), build=build, messages=messages,
                          max_new_tokens=max_new_tokens)


def explain(task: str, reply: Reply, extra: str = "") -> str:
    return (
        f"1. transformers 5 removed `pipeline(\"{task}\")` (it now raises KeyError), so this pack asks an "
        "instruction-tuned chat model instead. The tutor does what `pipeline(\"text-generation\")` does with "
        "chat messages, step by step, so that questions asked at the same time are answered together; the "
        "snippet uses that pipeline and prints the same text.\n"
        f"2. The chat template wrapped the messages in the model's special role markers and opened the "
        f"assistant's turn: {plural(reply.prompt_tokens, 'token')}. {_system_sentence(reply)}\n"
        f"3. The model generated {plural(reply.new_tokens, 'token')} one at a time, always taking the most likely "
        "next token (greedy decoding, `do_sample=False`), so the same question gives the same answer; "
        + _how_it_ended(reply) + extra
    )


def _how_it_ended(reply: Reply) -> str:
    """Whether the model ended its turn itself, said as it happened: before the cap, with the last token the cap
    allowed (the whole budget used, though its turn did end), or cut at the cap."""
    if not reply.ended:
        return f"it was stopped at the cap of `max_new_tokens={reply.cap}`."
    if reply.new_tokens < reply.cap:
        return "it ended its turn itself, before the cap of `max_new_tokens`."
    return (f"it ended its turn itself, with its {ordinal(reply.new_tokens)} token: the last one "
            f"`max_new_tokens={reply.cap}` allowed.")


def _system_sentence(reply: Reply) -> str:
    given = next((m["content"] for m in reply.messages if m["role"] == "system"), None)
    default = f"(\"{plain(reply.default_system)}\")" if reply.default_system else None
    if given is not None:
        return ("The system message in the snippet told the model how to answer"
                + (f"; it takes the place of the template's default one {default}." if default else "."))
    if default:
        return f"The messages give no system prompt, so the template added its default one {default}."
    return "The messages give no system prompt, and this template adds none."


def notices(reply: Reply, what: str) -> tuple[str, ...]:
    """`what` names the shortened text ("your text", "the context")."""
    said = []
    if reply.shortened:
        said.append(f"{what[0].upper()}{what[1:]} is {plural(reply.text_tokens, 'token')}; with the chat template "
                    f"and up to {plural(reply.cap, 'new token')} that is more than this model's {reply.room} "
                    f"positions, so only its first {plural(reply.kept_chars, 'character')} were sent (the "
                    "snippet's messages hold the same shortened text).")
    if not reply.ended:
        said.append(f"The reply stopped at the cap of {plural(reply.cap, 'new token')} (`max_new_tokens`), not at "
                    "the model's end of turn, so it may end mid-sentence.")
    return tuple(said)
