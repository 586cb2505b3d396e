"""The offline pack's stand-ins (core/tasks/standins/): /sentiment, /ner and /fillmask answer there with a real
SmolLM2 run, say in one line what stands in, explain the method that ran with its numbers, batch, and are
declared once (core/packs.py) so that /models and the doctor name them. Checked against the real offline
models, recomputed with bare transformers where a number is claimed; the hub and tiny packs keep the
pipelines the guide teaches."""
from __future__ import annotations

import re

import pytest
import torch

from bot.ops.admin import model_states
from core.commands import build_registry
from core.context import TaskContext
from core.engine import Engine
from core.errors import UserError
from core.markup import to_plain
from core.models import Loaded
from core.packs import SMOLLM2, Offline, TaskModel, build_pack
from core.render.cache import PerThreadCache
from core.settings import Settings
from core.tasks import fillmask, helpcmd, ner, sentiment
from core.tasks.standins import fillmask as fill_standin
from core.tasks.standins import ner as ner_standin
from core.tasks.standins import sentiment as sentiment_standin
from core.tutor.kinds import all_kinds, servable
from core.tutor.questions import Item

STAND_INS = ("sentiment", "ner", "fillmask")


def ctx_of(engine: Engine) -> TaskContext:
    return TaskContext(engine.settings, engine.pack, engine.models, engine.registry, PerThreadCache(1))


def chat_model(engine: Engine) -> Loaded:
    return engine.models.get("sentiment", engine.pack.spec("sentiment"))


def next_logprobs(engine: Engine, prompt: str) -> torch.Tensor:
    """Bare transformers: the next-token log-probabilities after `prompt`, one text, no padding."""
    loaded = chat_model(engine)
    ids = loaded.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        return loaded.model(**ids).logits[0, -1].float().log_softmax(-1)


def one_token(engine: Engine, word: str) -> int:
    ids = chat_model(engine).tokenizer.encode(word, add_special_tokens=False)
    assert len(ids) == 1, (word, ids)
    return ids[0]


# ----- declared once: every pack and table follows -----
def test_the_offline_pack_declares_a_stand_in_where_the_hub_has_a_pipeline(tmp_path):
    offline = build_pack(Settings(pack="offline", cache_dir=tmp_path), build_registry())
    hub = build_pack(Settings(pack="hub", cache_dir=tmp_path), build_registry())
    tiny = build_pack(Settings(pack="tiny", cache_dir=tmp_path), build_registry())
    for command, taught in (("sentiment", "classifier"), ("ner", "token-classifier"), ("fillmask", "masked-lm")):
        spec = offline.spec(command)
        assert (spec.role, spec.hub_id) == ("chat", SMOLLM2.hub_id) and spec.stands_in.startswith("this pack has no")
        assert hub.spec(command).role == taught == tiny.spec(command).role
        assert not hub.spec(command).stands_in and not tiny.spec(command).stands_in
    assert offline.spec("qa").stands_in and offline.spec("summarize").stands_in
    assert not offline.spec("attention").stands_in  # MiniLM is the encoder the guide teaches


def test_an_override_still_loads_the_taught_kind(tmp_path):
    """TUTOR_MODEL_SENTIMENT names a classifier: it is used as one, whatever the pack, stand-in or not."""
    settings = Settings(pack="offline", cache_dir=tmp_path, model_overrides={"sentiment": "owner/classifier"})
    spec = build_pack(settings, build_registry()).spec("sentiment")
    assert (spec.role, spec.roles, spec.stands_in) == ("auto", sentiment.MODEL.roles, "")
    from core.models import resolve_role

    assert resolve_role(spec.roles, spec.source) == "classifier"  # read without loading: no sign needed


def test_a_stand_in_declaration_is_checked_like_any_other():
    with pytest.raises(ValueError, match="offline model's role"):
        TaskModel(roles=("classifier",), hub="a/b", tiny=sentiment.MODEL.tiny,
                  offline=Offline(SMOLLM2, "chat", stands_in="a chat model"))


def test_models_and_the_doctor_name_each_stand_in(offline_engine, tmp_path):
    result = helpcmd.run_models(ctx_of(offline_engine), {})
    rows = {row[0]: row for row in result.table.rows}
    for command in (*STAND_INS, "qa", "summarize"):
        assert rows[f"/{command}"][2] == "chat (stand-in)"
        assert f"/{command}: this pack has no" in result.explanation
    assert "cannot serve" not in result.answer and "run a stand-in" in result.answer
    assert rows["/attention"][2] == "encoder"
    states = {s.command: s for s in model_states(Settings(pack="offline", cache_dir=tmp_path), lambda: False)}
    assert all(states[c].ready and "stand-in: this pack has no" in states[c].note for c in STAND_INS)
    assert "stand-in" not in states["attention"].note


async def test_the_tiny_pack_keeps_the_pipelines(tiny_engine):
    for line in ("/sentiment I love this", "/ner My name is Ada and I live in London.",
                 "/fillmask Paris is the [MASK] of France."):
        result = await tiny_engine.run_text(line)
        assert "Stand-in" not in result.answer and "pipeline(" in result.code


# ----- /sentiment: a generative model as a classifier -----
def test_a_total_of_rounded_shares_says_when_it_was_summed_before_rounding():
    """1.2% and 0.2% shown, "together 1.5%" said: true of the unrounded numbers, puzzling without a word."""
    assert sentiment_standin.together([0.0124, 0.0024]) == "together 1.5% (summed before rounding)"
    assert sentiment_standin.together([0.039, 0.003]) == "together 4.2%"


async def test_offline_sentiment_is_the_softmax_of_two_next_token_logits(offline_engine):
    text = "I love this, it is wonderful."
    result = await offline_engine.run_text(f"/sentiment {text}")
    lines = result.answer.splitlines()
    assert lines[0].startswith("**POSITIVE**") and lines[1] == "Stand-in: " + sentiment_standin.STANDS_IN
    logprobs = next_logprobs(offline_engine, f"Text: {text}\nSentiment:")
    pos, neg = logprobs[one_token(offline_engine, " positive")], logprobs[one_token(offline_engine, " negative")]
    two = torch.softmax(torch.stack([pos, neg]), -1)
    scores = {label: float(score) for label, score in result.table.rows}
    assert scores == pytest.approx({"POSITIVE": float(two[0]), "NEGATIVE": float(two[1])}, abs=2e-4)
    share = float(pos.exp() + neg.exp())
    assert f"{sentiment_standin.together([float(pos.exp()), float(neg.exp())])} of the probability" in \
        result.explanation and f"together {share * 100:.1f}%" in result.explanation  # the run's own numbers
    top = int(logprobs.argmax())
    assert f"{float(logprobs[top].exp()) * 100:.1f}%" in result.explanation


async def test_offline_sentiment_gets_plain_cases_right(offline_engine):
    for text, label in (("What a wonderful day, I loved every minute.", "POSITIVE"),
                        ("This was awful, a total waste of money.", "NEGATIVE")):
        assert (await offline_engine.run("sentiment", {"text": text})).table.rows[0][0] == label


def test_a_batch_of_sentiments_equals_each_one_alone(offline_engine):
    """Left padding with the positions counted from each text's own start: the batch changes nothing."""
    texts = ["Great.", "The food was cold and the waiter was rude to everyone at our table.", "Meh, it is fine."]
    together = sentiment.run_batch(ctx_of(offline_engine), [{"text": t, "why": False} for t in texts])
    for text, batched in zip(texts, together, strict=True):
        alone = sentiment.run_batch(ctx_of(offline_engine), [{"text": text, "why": False}])[0]
        assert [r[0] for r in batched.table.rows] == [r[0] for r in alone.table.rows]
        assert [float(r[1]) for r in batched.table.rows] == pytest.approx([float(r[1]) for r in alone.table.rows],
                                                                          abs=2e-4)


async def test_offline_sentiment_refuses_why_with_what_to_do(offline_engine):
    with pytest.raises(UserError, match="no sentiment classifier"):
        await offline_engine.run_text("/sentiment I love this why=true")
    assert not (await offline_engine.run_text("/sentiment I love this")).actions


# ----- /fillmask: proposed from the left, decided by the whole sentence -----
async def test_offline_fillmask_rescoring_brings_in_the_right_context(offline_engine):
    result = await offline_engine.run_text("/fillmask Paris is the [MASK] of France. top_k=20")
    assert result.answer.startswith("Best guess: **capital**") and "Paris is the capital of France." in result.answer
    assert "Stand-in: " + fill_standin.STANDS_IN in result.answer
    loaded = chat_model(offline_engine)  # every candidate's sentence scored again, with bare transformers
    start = loaded.tokenizer.convert_tokens_to_ids("<|endoftext|>")
    left = [start, *loaded.tokenizer.encode("Paris is the", add_special_tokens=False)]
    right = loaded.tokenizer.encode(" of France.", add_special_tokens=False)
    words = [row[0] for row in result.table.rows]
    assert len(words) == 20
    batch = torch.tensor([[*left, one_token(offline_engine, " " + w), *right] for w in words])
    with torch.no_grad():
        logprobs = loaded.model(batch).logits[:, :-1].float().log_softmax(-1)
    totals = logprobs.gather(-1, batch[:, 1:, None])[..., 0].sum(-1)
    assert [float(r[1]) for r in result.table.rows] == pytest.approx(totals.softmax(0).tolist(), abs=2e-4)
    left_alone = logprobs[:, len(left) - 1].gather(-1, batch[:, len(left), None])[:, 0].exp()
    assert [float(r[2]) for r in result.table.rows] == pytest.approx(left_alone.tolist(), abs=2e-4)
    rank = int(re.search(r"`capital` was candidate (\d+) of 20", result.explanation).group(1))
    by_left = sorted(range(20), key=lambda i: -float(left_alone[i]))
    assert by_left.index(0) + 1 == rank  # the explanation says where the left context alone put it
    assert "shares among these candidates, not probabilities over the vocabulary" in result.explanation


async def test_offline_fillmask_at_the_start_proposes_words_without_a_space(offline_engine):
    result = await offline_engine.run_text("/fillmask [MASK] is the capital of France.")
    guess = result.table.rows[0][0]
    assert re.fullmatch(r"\w+", guess) and result.answer.splitlines()[0].endswith(f"{guess} is the capital of France.")
    assert "nothing (the mask starts its sentence)" in result.explanation


async def test_offline_fillmask_reads_only_the_sentence_that_holds_the_mask(offline_engine):
    """A long text costs no more than the mask's sentence: the other sentences change nothing, and it says so."""
    alone = await offline_engine.run_text("/fillmask Paris is the [MASK] of France. top_k=3")
    among = await offline_engine.run_text("/fillmask It rained. Paris is the [MASK] of France. It is 1.2 km wide! "
                                          "top_k=3")
    assert among.table.rows == alone.table.rows
    assert "the whole sentence (the one that holds the mask: the other sentences of your text are not read), " \
           "8 tokens from" in to_plain(among.explanation), "a whole sentence, not one cut by the aside"
    assert "not read" not in alone.explanation
    assert to_plain(among.answer).startswith(f"Best guess: {alone.table.rows[0][0]} ")
    assert f"It rained. Paris is the {alone.table.rows[0][0]} of France. It is 1.2 km wide!" in to_plain(among.answer)


def test_a_batch_of_fillmasks_equals_each_one_alone(offline_engine):
    texts = ["The cat sat on the [MASK].", "I drink a cup of [MASK] every morning before I go to work.",
             "[MASK] is the capital of Italy."]
    loaded = chat_model(offline_engine)
    together = fill_standin.fill(loaded, texts)
    for text, batched in zip(texts, together, strict=True):
        alone = fill_standin.fill(loaded, [text])[0]
        assert [g.word for g in batched.guesses] == [g.word for g in alone.guesses]
        assert [g.share for g in batched.guesses] == pytest.approx([g.share for g in alone.guesses], abs=2e-4)


async def test_offline_fillmask_offers_more_guesses_and_other_words_but_not_why(offline_engine):
    result = await offline_engine.run_text("/fillmask The cat sat on the [MASK].")
    labels = [getattr(a, "label", "") for a in result.actions]
    assert any(label.startswith("More guesses") for label in labels) and "Which words mattered?" not in labels
    moved = await offline_engine.run_text("/fillmask The cat sat on the [MASK]. word=1")
    assert "was masked instead" in moved.notices[0] and moved.answer.startswith("Best guess: ")
    with pytest.raises(UserError, match="no masked language model"):
        await offline_engine.run_text("/fillmask The cat sat on the [MASK]. why=true")


# ----- /ner: capitalised spans, typed by next-token scores -----
@pytest.mark.parametrize(("text", "spans"), [
    ("My name is Ada and I live in London.", ["Ada", "London"]),
    ("Yesterday Dr Smith visited the University of Paris.", ["Smith", "University of Paris"]),
    ("The Eiffel Tower is in Paris, France.", ["Eiffel Tower", "Paris", "France"]),
    ("Real Madrid beat Barcelona on Sunday.", ["Real Madrid", "Barcelona"]),
    ("no capitals here at all", []),
    ("Bank of", ["Bank"]),
])
def test_names_are_proposed_from_capitalised_runs(text, spans):
    assert [text[a:b] for a, b in ner_standin.spans(text)] == spans


async def test_offline_ner_types_each_name_by_pooled_next_token_scores(offline_engine):
    text = "My name is Ada and I live in London."
    result = await offline_engine.run_text(f"/ner {text}")
    assert result.answer.startswith("**2 entities**: My name is **Ada** [PER] and I live in **London** [LOC].")
    assert "Stand-in: " + ner_standin.STANDS_IN in result.answer
    logprobs = next_logprobs(offline_engine, ner_standin.PROMPT.format(sentence=text, span="Ada"))
    pooled = torch.stack([logprobs[[one_token(offline_engine, w) for w in words]].logsumexp(0)
                          for words in ner_standin.TYPE_WORDS.values()])
    share = float(pooled.softmax(0).max())
    assert result.table.rows[0][:2] == ("Ada", "PER") and float(result.table.rows[0][2]) == pytest.approx(share,
                                                                                                       abs=2e-4)


def test_a_batch_of_ner_texts_equals_each_one_alone(offline_engine):
    texts = ["Angela Merkel met Emmanuel Macron in Brussels.", "Toyota builds cars in Japan.", "nothing here"]
    loaded = chat_model(offline_engine)
    together = ner_standin.find(loaded, texts)
    for text, batched in zip(texts, together, strict=True):
        alone = ner_standin.find(loaded, [text])[0]
        assert [(e.word, e.entity_group) for e in batched] == [(e.word, e.entity_group) for e in alone]
        assert [e.score for e in batched] == pytest.approx([e.score for e in alone], abs=2e-4)


async def test_offline_ner_without_names_says_so(offline_engine):
    result = await offline_engine.run_text("/ner the cat sat on the mat")
    assert result.answer.startswith("No named entities found.") and result.table is None


def test_the_quiz_asks_ner_types_from_the_same_run(offline_engine):
    """`ner-type` on the stand-in: measured once from the stand-in's run (its four types, the name's share
    lead over the next type), posed in main's two-step form; its key is what /ner answers; a word the
    stand-in does not propose is O, by its rule."""
    from core.tutor.kinds import pipelines
    from core.tutor.options import Draw

    ctx = ctx_of(offline_engine)
    text = "Toyota builds cars in Japan."
    measured = pipelines.measure_ner(ctx, Item(text, "Toyota"))
    assert measured.types == ["PER", "LOC", "ORG", "MISC"] and measured.standin
    entity = ner_standin.find(ctx.models.get("ner", ctx.pack.spec("ner")), [text])[0][0]
    shares = sorted(entity.scores.values(), reverse=True)
    assert measured.top_type == "ORG" == entity.entity_group and measured.margin == pytest.approx(shares[0] - shares[1])
    assert "**Toyota** [ORG]" in measured.result.answer and "Stand-in:" in measured.result.answer
    for place in range(4):
        question = pipelines.ner(measured, Draw(place, place=place))
        assert question.key == place and question.answer == "ORG"
        assert "stand-in proposed `Toyota`" in question.why[place]
    outside = pipelines.measure_ner(ctx, Item("We drove to Japan on Monday.", "Monday"))
    assert outside.found is None and outside.top_type == "O" and outside.margin == 1.0


# ----- /qa and /summarize: the answer says what ran -----
async def test_qa_shows_its_question_and_whether_a_chat_model_wrote_it(offline_engine, tiny_engine):
    line = "/qa Where do I live? | My name is Ada and I live in London."
    chat = await offline_engine.run_text(line)
    assert chat.answer.startswith("Question: `Where do I live?`")
    assert "Stand-in: a chat model wrote this answer" in chat.answer
    extractive = await tiny_engine.run_text(line)
    assert extractive.answer.startswith("Question: `Where do I live?`") and "a span of your context" in \
        extractive.answer and "chat model" not in extractive.answer


async def test_summarize_names_the_kind_of_model_and_its_decoding(offline_engine, tiny_engine):
    seq2seq = await tiny_engine.run_text("/summarize The Eiffel Tower is 330 metres tall. It is in Paris.")
    config = next(m for m in tiny_engine.models.loaded() if m.command == "summarize").model.generation_config
    assert "An encoder -> decoder (seq2seq) model ran" in seq2seq.explanation
    beams = config.num_beams or 1
    said = f"beam search with `num_beams={beams}`" if beams > 1 else "decoded greedily (`num_beams=1`"
    assert said in seq2seq.explanation and "Stand-in" not in seq2seq.answer
    chat = await offline_engine.run_text("/summarize The Eiffel Tower is 330 metres tall. It is in Paris.")
    assert "decoder-only" in chat.explanation and "Stand-in: this pack has no encoder-decoder" in chat.answer


# ----- the quiz serves the pipeline kinds on the offline pack -----
def test_the_offline_pack_serves_the_stand_in_quiz_kinds(tmp_path):
    pack = build_pack(Settings(pack="offline", cache_dir=tmp_path), build_registry())
    served = {k.name for k in servable(all_kinds(), pack)}
    assert {"sentiment-90", "fillmask-top", "ner-type"} <= served and "qa-span" not in served


def test_every_stand_in_answer_fits_plain_text(offline_engine):
    """The answers' first line is the result, the second what stands in (one line each)."""
    ctx = ctx_of(offline_engine)
    results = [sentiment.run(ctx, {"text": "Nice.", "why": False}),
               ner.run(ctx, {"text": "Ada lives in Rome."}),
               fillmask.run(ctx, {"text": "Rome is in [MASK].", "top_k": 3, "word": None, "why": False})]
    for result in results:
        lines = to_plain(result.answer).splitlines()
        assert len(lines) == 2 and lines[1].startswith("Stand-in: this pack has no")
