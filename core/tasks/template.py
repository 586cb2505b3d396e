"""/template: what a chat model actually reads, and why the same words get another answer without it.

A chat model was fine-tuned on conversations written one way: its chat template wraps each message in
role markers, may add a default system prompt, and (`add_generation_prompt=True`) opens the
assistant's turn. The answer shows that input part by part with each token's position, then runs the
model twice, greedy both times: on the templated conversation (what `pipeline("text-generation")`
does with chat messages) and on the learner's words alone. A model without a template (GPT-2 and its
tiny twin) is said to have none, and the answer shows what it reads instead: the words as they are.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.context import TaskContext
from core.errors import UserError
from core.markup import bold, code, plain
from core.models import Loaded
from core.results import Result, Table
from core.tasks.generate import continue_texts
from core.tasks.qkv import short_name
from core.tasks.sampling import continued, one_line
from core.tasks.shared.chat import Ask, chat_batch
from core.tasks.shared.common import and_list, load, model_line, with_output
from core.tokens import readable_tokens
from core.wording import plural

PARTS = ("system prompt", "your message", "markers")
MAX_TOKEN_ROWS = 12


def at_positions(start: int, end: int) -> str:
    """Positions in words: `position 24`, `positions 24-25`."""
    return f"position {start}" if start == end else f"positions {start}-{end}"


@dataclass(frozen=True)
class Segment:
    """A run of consecutive tokens of one part of the input."""

    part: str
    start: int
    end: int
    """Positions `start` to `end`, both included."""
    text: str

    @property
    def positions(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}-{self.end}"

    @property
    def count(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class Reads:
    """What the model reads for one message: with the template, or (no template) the words alone."""

    ids: list[int]
    segments: list[Segment]
    system: str | None
    """The template's default system prompt, when it adds one."""
    rendered: str
    """The input as text ("" without a template)."""

    @property
    def mine(self) -> Segment | None:
        return next((s for s in self.segments if s.part == "your message"), None)


def has_template(loaded: Loaded) -> bool:
    return bool(getattr(loaded.tokenizer, "chat_template", None))


def messages_of(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


def reads(loaded: Loaded, prompt: str) -> Reads:
    """The templated input of one user message, cut into parts by character offsets."""
    from core.tasks.shared.chat import default_system

    tok = loaded.tokenizer
    messages = messages_of(prompt)
    rendered = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    enc = tok(rendered, add_special_tokens=False, return_offsets_mapping=True)
    system = default_system(loaded, messages)
    spans = {"system prompt": _span(rendered, system, first=True), "your message": _span(rendered, prompt)}
    parts = [next((name for name, (a, b) in spans.items() if a <= start and end <= b and end > start), "markers")
             for start, end in enc["offset_mapping"]]
    return Reads(list(enc["input_ids"]), _segments(rendered, enc["offset_mapping"], parts), system, rendered)


def _span(text: str, part: str | None, first: bool = False) -> tuple[int, int]:
    if not part:
        return (-1, -1)
    at = text.find(part) if first else text.rfind(part)
    return (at, at + len(part)) if at >= 0 else (-1, -1)


def _segments(rendered: str, offsets: list[tuple[int, int]], parts: list[str]) -> list[Segment]:
    segments: list[Segment] = []
    for i, (part, (a, b)) in enumerate(zip(parts, offsets, strict=True)):
        if segments and segments[-1].part == part:
            last = segments[-1]
            segments[-1] = Segment(part, last.start, i, last.text + rendered[a:b])
        else:
            segments.append(Segment(part, i, i, rendered[a:b]))
    return segments


def plain_reads(loaded: Loaded, prompt: str) -> Reads:
    """A model without a template reads the words themselves (and whatever its tokenizer adds)."""
    tok = loaded.tokenizer
    ids = tok(prompt)["input_ids"]
    shown = readable_tokens(tok, tok.convert_ids_to_tokens(ids))
    mask = tok(prompt, return_special_tokens_mask=True)["special_tokens_mask"]
    segments = [Segment("markers" if special else "your message", i, i, token)
                for i, (token, special) in enumerate(zip(shown, mask, strict=True))]
    return Reads(ids, segments, None, "")


def run(ctx: TaskContext, args: dict[str, Any]) -> Result:
    loaded = load(ctx, "generate", "causal-lm", "chat")
    prompt, limit = args["prompt"], args["max_new_tokens"]
    if not loaded.tokenizer(prompt)["input_ids"]:
        raise UserError("This prompt gives no tokens; please type a few words.")
    raw = continue_texts(loaded, [prompt], [limit])[0]
    if not has_template(loaded):
        return _without(loaded, prompt, limit, raw.text)
    reply = chat_batch(loaded, [Ask(prompt, messages_of)], limit)[0]
    seen = reads(loaded, prompt)
    return Result(
        command="template",
        answer=_answer(loaded, prompt, seen, reply.text, raw.text,
                       "" if reply.ended else f" (cut at `max_new_tokens={reply.cap}`, before the end of its turn)"),
        table=_table(seen.segments),
        explanation=_explain(loaded, seen, reply.ended),
        code=with_output(snippet(loaded, prompt, limit),
                         [seen.rendered, f"{len(seen.ids)} tokens with the template, "
                          f"{len(loaded.tokenizer(prompt)['input_ids'])} without",
                          f"with the template: {reply.text}", f"without: {raw.text}"]),
        model=loaded.spec.label,
        notices=typed_markers_notice(loaded, prompt),
    )


def typed_markers(loaded: Loaded, prompt: str) -> list[str]:
    """The tokenizer's special tokens (such as `<|im_start|>`) that the learner typed and that it reads as one
    special token, not as text: what a forged turn is made of."""
    tok = loaded.tokenizer
    ids = set(tok(prompt, add_special_tokens=False)["input_ids"])
    return [t for t in dict.fromkeys(tok.all_special_tokens) if t in prompt and tok.convert_tokens_to_ids(t) in ids]


def typed_markers_notice(loaded: Loaded, prompt: str) -> tuple[str, ...]:
    found = typed_markers(loaded, prompt)
    if not found:
        return ()
    one = len(found) == 1
    return (f"Your message holds {and_list([code(t) for t in found])}: this tokenizer reads "
            f"{'it as its own special token' if one else 'them as its own special tokens'}, not as text, so the model "
            f"takes {'it' if one else 'them'} for the conversation's format. A turn typed inside a message reads as a "
            "real one: the trick behind prompt injection.",)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _answer(loaded: Loaded, prompt: str, seen: Reads, reply: str, raw: str, stopped: str = "") -> str:
    """What the model reads, and both answers; `stopped` says where the reply was cut (on the reply's line, not
    as a notice: a lesson step that must be shortened keeps it with the reply)."""
    mine = seen.mine
    words = len(loaded.tokenizer(prompt)["input_ids"])
    adds = "a default system prompt, role markers and the assistant's opening" if seen.system else \
        "role markers and the assistant's opening"
    where = (f" Your words sit at {at_positions(mine.start, mine.end)}, not {at_positions(0, words - 1)}." if mine
             else "")
    return (f"**What the model reads**: your message is {plural(words, 'token')}, but {short_name(loaded)} reads "
            f"{len(seen.ids)}: its chat template adds {adds}.{where}\n"
            f"With the template it replies: {bold(plain(one_line(reply))) if reply else '(empty)'}{stopped}\n"
            f"Without it, it continues: {continued(prompt, raw)}")


def _table(segments: list[Segment]) -> Table:
    return Table(("positions", "part", "text"),
                 tuple((s.positions, s.part, _cut(one_line(s.text).strip(), 40 if s.part == "your message" else 80)
                        or "↵") for s in segments))


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[:chars - 1] + "…"


def _explain(loaded: Loaded, seen: Reads, ended: bool) -> str:
    markers = sum(s.count for s in seen.segments if s.part == "markers")
    system = sum(s.count for s in seen.segments if s.part == "system prompt")
    rotary = "rotary position embeddings" if hasattr(getattr(loaded.model, "model", None), "rotary_emb") else \
        "position embeddings"
    return "\n".join(f"{n}. {s}" for n, s in enumerate((
        f"`apply_chat_template(messages, add_generation_prompt=True)` wrapped the message in "
        f"{plural(markers, 'marker token')}, the assistant's turn opened last, as in {short_name(loaded)}'s "
        "fine-tuning.",
        f"No system prompt was given, so the template added its default one ({plural(system, 'token')})."
        if seen.system else "No system prompt was given, and this template adds none.",
        f"Positions 0 to {len(seen.ids) - 1} go through {rotary}: the same words at other positions, after other "
        "tokens, are another input.",
        "Greedy both times: with the template it answers as the assistant" + (" and ends its turn" if ended else "")
        + "; without, it continues your text.",
    ), start=1))


def _without(loaded: Loaded, prompt: str, limit: int, raw: str) -> Result:
    seen = plain_reads(loaded, prompt)
    added = [s for s in seen.segments if s.part == "markers"]
    shown = seen.segments if len(seen.segments) <= MAX_TOKEN_ROWS else seen.segments[:MAX_TOKEN_ROWS]
    what = (f"{plural(len(seen.ids), 'token')}" + (f", {len(added)} of them added by its tokenizer" if added else
                                                    ", nothing added"))
    return Result(
        command="template",
        answer=(f"**{_capital(short_name(loaded))} has no chat template** (`tokenizer.chat_template` is None), so it "
                f"reads your words as they are: {what}, at {at_positions(0, len(seen.ids) - 1)}. It continues them:\n"
                f"{continued(prompt, raw)}"),
        table=Table(("position", "token"), tuple((s.positions, s.text) for s in shown)),
        explanation="\n".join(f"{n}. {s}" for n, s in enumerate((
            "Chat models learn a conversation format in fine-tuning, and their tokenizer carries it as a chat "
            f"template; {short_name(loaded)} was trained on plain text only, so it has none "
            "(`apply_chat_template` raises an error).",
            "Every token has a position: learned position embeddings (one vector per position) are added to the "
            "token embeddings, so your first token is at position 0.",
            "The model continues the text (greedy, `do_sample=False`); a question gets more text, not an answer. "
            "With a chat model, /template shows the conversation it reads instead.",
        ), start=1)),
        code=with_output(snippet_plain(loaded, prompt, limit),
                         ["chat template: None", *(f"{s.positions} {s.text}" for s in shown), f"continues: {raw}"]),
        model=loaded.spec.label,
        notices=(f"The table shows the first {MAX_TOKEN_ROWS} of {len(seen.segments)} tokens.",)
        if len(shown) < len(seen.segments) else (),
    )


SNIPPET = """from transformers import AutoModelForCausalLM, AutoTokenizer

{model}
tokenizer = AutoTokenizer.from_pretrained(MODEL{gguf})
model = AutoModelForCausalLM.from_pretrained(MODEL{gguf})
prompt = {prompt!r}
chat = tokenizer.apply_chat_template([{{"role": "user", "content": prompt}}], add_generation_prompt=True,
                                     return_dict=True, return_tensors="pt")
mine = tokenizer(prompt, return_tensors="pt")
print(tokenizer.decode(chat["input_ids"][0]))  # what the model reads
print(chat["input_ids"].shape[1], "tokens with the template,", mine["input_ids"].shape[1], "without")
for name, inputs in (("with the template", chat), ("without", mine)):
    out = model.generate(**inputs, max_new_tokens={limit}, do_sample=False, pad_token_id=tokenizer.eos_token_id)
    print(f"{{name}}: " + tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip())"""

SNIPPET_PLAIN = """import re

from transformers import AutoModelForCausalLM, AutoTokenizer

{model}
tokenizer = AutoTokenizer.from_pretrained(MODEL{gguf})
model = AutoModelForCausalLM.from_pretrained(MODEL{gguf})
print("chat template:", tokenizer.chat_template)
{readable}inputs = tokenizer({prompt!r}, return_tensors="pt")
tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
for position, token in enumerate(tokens[:{rows}]):
    print(position, readable(tokenizer, token))
out = model.generate(**inputs, max_new_tokens={limit}, do_sample=False, pad_token_id=tokenizer.eos_token_id)
print("continues: " + tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True))"""


def snippet(loaded: Loaded, prompt: str, limit: int) -> str:
    return SNIPPET.format(model=model_line(loaded), gguf=", gguf_file=GGUF" if loaded.spec.gguf_file else "",
                          prompt=prompt, limit=limit)


def snippet_plain(loaded: Loaded, prompt: str, limit: int) -> str:
    from core.tasks.compare import READABLE

    return SNIPPET_PLAIN.format(model=model_line(loaded), gguf=", gguf_file=GGUF" if loaded.spec.gguf_file else "",
                                readable=READABLE.lstrip("\n") + "\n\n", prompt=prompt, rows=MAX_TOKEN_ROWS,
                                limit=limit)
