"""The decoder-side answers (/generate, /summarize, /qa) on real models: inputs longer than the model's
positions are fitted and said so, counts are right, and what the text claims is what happened."""
from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from transformers import AutoConfig, AutoTokenizer

from core.engine import Engine
from core.settings import Settings
from core.tasks.shared import chat
from core.tasks.shared.common import load
from core.tiny import tiny_dir
from core.tutor.service import context_of
from tests.core.tasks.test_snippets import run_snippet, same_output, split_snippet
from tests.support.tiny_decoders import tiny_bart, tiny_chat_model

LONG_PROMPT = "x " * 150 + "猫" * 350
"""650 characters that pass the tiny GPT-2's 1,024 positions: each 猫 is 3 byte-level pieces."""


def assert_snippet_reproduces(result, folder: Path | None = None) -> None:
    """The snippet prints what the bot answered. A model `folder` on the tutor's machine appears in the
    snippet by its name only (never a server path): it runs on the learner's copy, here the folder itself."""
    program, expected = split_snippet(result.code)
    if folder is not None:
        named = f"MODEL = {folder.name!r}"
        assert named in program
        program = program.replace(named, f"MODEL = {str(folder)!r}")
    assert same_output(expected, run_snippet(program))


def override(engine: Engine, command: str) -> Path:
    return Path(engine.settings.model_overrides[command])


async def test_generate_reads_the_end_of_a_prompt_longer_than_the_models_positions(tiny_engine, tiny_settings):
    folder = tiny_dir(tiny_settings.cache_dir) / "generate"  # counted by bare transformers
    count = len(AutoTokenizer.from_pretrained(folder)(LONG_PROMPT)["input_ids"])
    room = AutoConfig.from_pretrained(folder).n_positions
    assert count > room
    result = await tiny_engine.run_text(f"/generate {LONG_PROMPT} max_new_tokens=30")
    (notice,) = result.notices
    assert f"{count} tokens" in notice and f"{room} positions" in notice and f"last {room - 30} tokens" in notice
    assert f"Your prompt became {count} tokens, and the model read the last {room - 30} of them." in result.explanation
    assert "30 new tokens (you allowed 30)" in result.explanation
    assert "truncation_side" in result.code and f'"max_length": {room - 30}' in result.code
    assert_snippet_reproduces(result)


async def test_generate_says_one_new_token_not_one_new_tokens(tiny_engine):
    result = await tiny_engine.run_text("/generate Hi max_new_tokens=1")
    assert "1 new token (you allowed 1)" in result.explanation
    assert not re.search(r"\b1 new tokens\b", result.as_text())


LONG_TEXT = " ".join(f"Sentence {i} says that the tower stands in Paris and is tall." for i in range(30))[:2000]


@pytest.fixture(scope="module")
def short_models(tiny_settings, tmp_path_factory) -> Iterator[Engine]:
    """/summarize on a BART with 40 positions, /qa on a chat GPT-2 with 160."""
    base = tmp_path_factory.mktemp("short-models")
    overrides = {"summarize": str(tiny_bart(tiny_settings, base / "bart")),
                 "qa": str(tiny_chat_model(tiny_settings, base / "chat"))}
    engine = Engine(Settings(pack="tiny", cache_dir=tiny_settings.cache_dir, model_overrides=overrides))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def chat_summaries(tiny_settings, tmp_path_factory) -> Iterator[Engine]:
    """/summarize on the chat GPT-2 with 160 positions."""
    folder = tiny_chat_model(tiny_settings, tmp_path_factory.mktemp("chat") / "chat")
    engine = Engine(Settings(pack="tiny", cache_dir=tiny_settings.cache_dir,
                             model_overrides={"summarize": str(folder)}))
    yield engine
    engine.close()


async def test_seq2seq_counts_new_tokens_without_the_decoder_start_token(tiny_engine):
    result = await tiny_engine.run_text("/summarize The Eiffel Tower is 330 metres tall. It is in Paris.")
    written = int(re.search(r"wrote (\d+) (?:new )?tokens?", result.explanation).group(1))
    assert written <= 60 and "at most 60 new tokens" in result.explanation
    capped = [n for n in result.notices if "cap of 60 new tokens" in n]
    assert bool(capped) == (written == 60)  # the random tiny BART runs to the cap


async def test_seq2seq_fits_encoder_and_decoder_into_a_models_few_positions(short_models):
    result = await short_models.run_text(f"/summarize {LONG_TEXT}")
    text = " ".join(result.notices)
    tokenizer = AutoTokenizer.from_pretrained(override(short_models, "summarize"))  # counted by bare transformers
    count, own = (len(tokenizer(LONG_TEXT, add_special_tokens=add)["input_ids"]) for add in (True, False))
    assert f"Your text is {count} tokens long (special tokens included) but this model reads at most 40: the text " \
           f"was cut to its first {40 - (count - own)} of {own} tokens" in text
    assert "decoder has 40 positions, its start token included, so it wrote at most 39 new tokens" in text
    assert "max_length=40" in result.code and "max_new_tokens=39" in result.code
    assert_snippet_reproduces(result, override(short_models, "summarize"))


async def test_chat_shortens_the_context_to_fit_and_the_snippet_sends_the_same(short_models):
    question = "Where does the tower stand?"
    result = await short_models.run_text(f"/qa {question} | {LONG_TEXT}")
    shortened = next(n for n in result.notices if "positions" in n)
    kept = int(re.search(r"only its first (\d+) characters were sent", shortened).group(1))
    assert "160 positions" in shortened and 0 < kept < len(LONG_TEXT)
    assert repr(f"Context: {LONG_TEXT[:kept]}\n\nQuestion: {question}") in result.code
    prompt = int(re.search(r"opened the assistant's turn: (\d+) tokens", result.explanation).group(1))
    assert prompt + 48 <= 160
    assert_snippet_reproduces(result, override(short_models, "qa"))  # the pipeline would fail past 160 positions


async def test_chat_notes_the_templates_default_system_prompt_and_the_cap(chat_summaries):
    result = await chat_summaries.run_text("/summarize The Eiffel Tower is 330 metres tall.")
    assert 'the template added its default one ("You are a tiny test model.").' in result.explanation
    assert "through `pipeline(" not in result.explanation and "snippet uses that pipeline" in result.explanation
    assert "it was stopped at the cap of `max_new_tokens=80`" in result.explanation
    (cap,) = result.notices
    assert "stopped at the cap of 80 new tokens" in cap and "mid-sentence" in cap
    assert_snippet_reproduces(result, override(chat_summaries, "summarize"))


async def test_smollm2_summary_names_its_real_default_system_prompt(offline_engine):
    result = await offline_engine.run_text("/summarize The Eiffel Tower is 330 metres tall. It is in Paris.")
    assert ('the template added its default one ("You are a helpful AI assistant named SmolLM, trained by '
            'Hugging Face").') in result.explanation
    assert "it ended its turn itself" in result.explanation and not result.notices


async def test_smollm2_answer_says_its_system_message_replaces_the_default(offline_engine):
    result = await offline_engine.run_text("/qa Where do I live? | My name is Ada and I live in London.")
    assert "takes the place of the template's default one (\"You are a helpful AI assistant" in result.explanation
    assert not any("cap" in n for n in result.notices)


def _contexts(n: int) -> list[tuple[str, str]]:
    rng = random.Random(1)
    words = ("the", "cat", "sat", "on", "a", "mat", "and", "then", "it", "went", "to", "sleep", "in", "London",
             "with", "Ada", "who", "lives", "near", "Paris")
    asks = []
    for _ in range(n):
        context = " ".join(rng.choice(words) for _ in range(120))
        asks.append((f"Where does {rng.choice(words)} live?", context))
    return asks


async def test_extractive_answers_are_at_most_the_pipelines_15_tokens(tiny_engine):
    for question, context in _contexts(12):
        result = await tiny_engine.run_text(f"/qa {question} | {context}")
        answer = result.table.rows[0][0]
        loaded = next(m for m in tiny_engine.models.loaded() if m.command == "qa")
        assert len(loaded.tokenizer(answer, add_special_tokens=False)["input_ids"]) <= 15, answer
    assert "at most 15 tokens: the removed pipeline's default `max_answer_len`" in result.explanation
    assert "end at or after start" in result.explanation


# --- how a generation ended: "stopped early" only before the limit ------------------------------------

WALL = ("The Great Wall of China is over 21,000 kilometres long. Its construction spanned many dynasties, and "
        "millions of workers built it over centuries.")
"""SmolLM2's 20th greedy token after this prompt is its end-of-text token: it ends exactly at a 20-token limit."""


async def test_steps_never_say_stopped_early_when_the_end_token_was_the_last_one_allowed(offline_engine):
    at_limit = await offline_engine.run_text(f"/generate {WALL} max_new_tokens=20 steps=true")
    assert "(greedy, 20 new tokens)" in at_limit.answer, "SmolLM2 ends this text with its 20th token"
    assert len(at_limit.table.rows) == 20 and at_limit.table.rows[-1][1] == "<|im_end|>"
    assert "Its 20th and last allowed token was its end-of-text token." in at_limit.explanation
    assert "stopped early" not in at_limit.explanation
    early = await offline_engine.run_text("/generate Short one. max_new_tokens=20 steps=true")
    assert len(early.table.rows) == 19 and early.table.rows[-1][1] == "<|im_end|>"
    assert "It stopped early, at its end-of-text token: 19 new tokens of the 20 allowed." in early.explanation
    plain = await offline_engine.run_text(f"/generate {WALL} max_new_tokens=20")  # lesson 6's run: no steps
    assert "Its 20th and last allowed token was its end-of-text token." in plain.explanation
    assert "stopped early" not in plain.explanation


def test_a_chat_reply_that_ends_at_the_cap_says_it_used_the_whole_cap(offline_engine):
    loaded = load(context_of(offline_engine), "summarize")
    ask = chat.Ask("The Eiffel Tower is 330 metres tall. It is in Paris.",
                   lambda text: [{"role": "user", "content": f"Summarize: {text}"}])
    (free,) = chat.chat_batch(loaded, [ask], 80)
    assert free.ended and free.new_tokens < 80
    assert "it ended its turn itself, before the cap of `max_new_tokens`." in chat.explain("summarization", free)
    (exact,) = chat.chat_batch(loaded, [ask], free.new_tokens)  # greedy: the same tokens, the last one at the cap
    assert exact.ended and exact.new_tokens == exact.cap == free.new_tokens and exact.text == free.text
    said = chat.explain("summarization", exact)
    n = free.new_tokens
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    assert f"it ended its turn itself, with its {n}{suffix} token: the last one `max_new_tokens={n}` allowed." in said
    (cut,) = chat.chat_batch(loaded, [ask], n - 1)
    assert not cut.ended and f"it was stopped at the cap of `max_new_tokens={n - 1}`." in chat.explain("x", cut)
