"""Every question kind's answer key equals a fresh run of the model, and its snippet prints the key;
and nobody reads a key before its reveal (issue 20).

The key is computed by one engine; the check runs another engine (its own model store, so the models
load and run again) through the ordinary commands or the raw model, as a learner would. The second
half drives the tutor through the one policy as a hostile member of a study group would: typing the
hidden steps, carrying a button elsewhere, asking /mydata early, spending model runs through tutor
commands, flooding quizzes (SQLite and PostgreSQL where the store decides).
"""
from __future__ import annotations

import dataclasses
import json
import random
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
import torch

from core.actions import OLDER, SEAL, SEAL_CHARS, encode, unseal
from core.engine import Engine
from core.markup import to_plain
from core.policy import FOREIGN, Outcome, Policy, Request, Verdict
from core.tokens import readable_tokens
from core.tutor.data import WITHHELD
from core.tutor.kinds import all_kinds, servable
from core.tutor.privacy import Keys
from core.tutor.questions import LETTERS, Question
from core.tutor.quiz import COLD, ELSEWHERE, NOT_YET, NOT_YOURS
from core.tutor.service import Limits, context_of
from tests.core.tasks.test_snippets import same_output, split_snippet
from tests.support import snippet_outputs
from tests.support.decoder import DECODER_KINDS, decoder_key
from tests.support.postgres import database_url, postgres_server  # noqa: F401 - the fixtures
from tests.support.tutor import (
    Class,
    answered,
    button,
    rows_of,
    sealed_here,
    sqlite_url,
    state_of,
    study_group,
    text,
)

TINY_KINDS = sorted(all_kinds())
OFFLINE_KINDS = ["token-count", "token-split", "special-token", "cls-id", "pad-count", "sentiment-90", "fillmask-top",
                 "ner-type", "zeroshot-label", "attention-top", "attention-noop", "next-word", *DECODER_KINDS]
"""The pipeline kinds of sentiment, fill-mask and NER run through the pack's stand-ins (core/tasks/standins/)."""


def questions(engine: Engine, names: list[str], per_kind: int = 2) -> list[Question]:
    """`per_kind` questions of each kind, computed by this engine's tutor."""
    from core.tutor.service import find

    tutor = find(engine.registry)
    ctx = context_of(engine)
    state = tutor.state(ctx)
    assert set(names) <= set(state.kinds), set(names) - set(state.kinds)
    state.pool._rng = random.Random(7)
    return [state.pool.compute(ctx, name) for name in names for _ in range(per_kind)]


def _tokenizer(engine: Engine) -> Any:
    return engine.models.get("tokenize", engine.pack.spec("tokenize")).tokenizer


RANGE = re.compile(r"under (?P<under>[\d.]+)%|(?P<low>[\d.]+)% to (?P<high>[\d.]+)%|over (?P<over>[\d.]+)%")


def _band(value: float, options: tuple[str, ...]) -> str:
    """The option (a range of percentages) that holds the value: what the key must be."""
    for option in options:
        found = RANGE.fullmatch(option)
        assert found, option
        low = float(found["low"] or found["over"] or 0) / 100
        high = float(found["high"] or found["under"] or 100) / 100
        if low <= value < high or (high == 1 and value == 1):
            return option
    return f"none of the ranges holds {value:.4f}"


async def fresh_key(engine: Engine, q: Question) -> Any:
    """The key, computed again from `q.inputs` by another engine: what each option list must contain."""
    i = q.inputs
    if q.kind in ("token-count", "token-split", "special-token", "cls-id", "pad-count"):
        return _tokenizer_key(_tokenizer(engine), q.kind, i)
    if q.kind == "sentiment-90":
        rows = (await engine.run("sentiment", {"text": i["text"]})).table.rows
        return _band(next(float(r[1]) for r in rows if r[0] == i["label"]), q.options)
    if q.kind == "fillmask-top":
        return (await engine.run("fillmask", {"text": i["text"], "top_k": 1})).table.rows[0][0]
    if q.kind == "zeroshot-label":
        return (await engine.run("zeroshot", {"text": i["text"], "labels": ", ".join(i["labels"])})).table.rows[0][0]
    if q.kind == "qa-span":
        return (await engine.run("qa", {"question": i["question"], "context": i["context"]})).table.rows[0][0]
    if q.kind == "next-word":
        answer = to_plain((await engine.run("generate", {"prompt": i["prompt"], "max_new_tokens": 1})).answer)
        return answer[len(i["prompt"]):].replace(" ", "␣")  # options show the space a token carries
    if q.kind == "ner-type":
        return _ner_key(engine, i["text"], i["target"])
    if q.kind in DECODER_KINDS:
        return decoder_key(engine, q)
    return _attention_key(engine, q, i)


def _tokenizer_key(tok: Any, kind: str, i: dict[str, Any]) -> Any:
    if kind == "token-count":
        return str(len(tok(i["word"], truncation=True)["input_ids"]))
    if kind == "token-split":
        return " ".join(readable_tokens(tok, tok.tokenize(i["word"])))
    enc = tok(i.get("text", ""), return_special_tokens_mask=True)
    if kind == "special-token":
        tokens = tok.convert_ids_to_tokens(enc["input_ids"])
        return {t for t, m in zip(tokens, enc["special_tokens_mask"], strict=True) if m}
    if kind == "cls-id":
        assert i["id"] in enc["input_ids"], "the id asked about is one of the text's"
        return readable_tokens(tok, tok.convert_ids_to_tokens([i["id"]]))[0]
    masks = tok(i["texts"], padding=True, truncation=True)["attention_mask"]
    return str(min(masks, key=sum).count(0))


def _ner_key(engine: Engine, text: str, target: str) -> str:
    """The type of the first token inside the target word whose own label is not O (raw logits); on a
    stand-in, the type whose words the causal model scores highest after the prompt about the span."""
    loaded = engine.models.get("ner", engine.pack.spec("ner"))
    if loaded.role == "chat":
        return _ner_standin_key(loaded, text, target)
    enc = loaded.tokenizer(text, return_offsets_mapping=True, return_tensors="pt")
    offsets = enc.pop("offset_mapping")[0].tolist()
    with torch.no_grad():
        labels = loaded.model(**enc).logits[0].argmax(-1).tolist()
    start = text.index(target)
    for (a, b), label in zip(offsets, labels, strict=True):
        name = loaded.model.config.id2label[label]
        if b > a and a < start + len(target) and b > start and name != "O":
            return name.split("-", 1)[-1]
    return "O"


def _ner_standin_key(loaded: Any, text: str, target: str) -> str:
    from core.tasks.standins import ner as standin

    start = text.index(target)
    span = next(((a, b) for a, b in standin.spans(text) if a < start + len(target) and b > start), None)
    if span is None:
        return "O"
    prompt = standin.PROMPT.format(sentence=standin.sentence_of(text, span[0]), span=text[span[0]:span[1]])
    with torch.no_grad():
        logprobs = loaded.model(**loaded.tokenizer(prompt, return_tensors="pt")).logits[0, -1].log_softmax(-1)
    pooled = {kind: float(logprobs[[loaded.tokenizer.encode(w, add_special_tokens=False)[0] for w in words]]
                          .logsumexp(0)) for kind, words in standin.TYPE_WORDS.items()}
    return max(pooled, key=lambda kind: pooled[kind])


def _attention_key(engine: Engine, q: Question, i: dict[str, Any]) -> Any:
    loaded = engine.models.get("attention", engine.pack.spec("attention"))
    inputs = loaded.tokenizer(i["text"], truncation=True, return_tensors="pt")
    with torch.no_grad():
        row = loaded.model(**inputs, output_attentions=True).attentions[i["layer"]][0, i["head"], i["source"]]
    tokens = loaded.tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    if q.kind == "attention-top":
        j = int(row.argmax())
        return tokens[j] if tokens.count(tokens[j]) == 1 else f"{tokens[j]} (token {j})"
    noops = {t for t in loaded.tokenizer.all_special_tokens if t not in (loaded.tokenizer.mask_token,
                                                                          loaded.tokenizer.unk_token)}
    share = float(sum(w for t, w in zip(tokens, row.tolist(), strict=True) if t in noops))
    return _band(share, q.options)


async def check_keys(made: list[Question], fresh: Engine) -> None:
    for q in made:
        expected = await fresh_key(fresh, q)
        if isinstance(expected, set):
            assert q.answer in expected and not set(q.options) - {q.answer} & expected, (q.kind, q.inputs)
        else:
            assert q.answer == expected, (q.kind, q.inputs, q.options)
        assert len(set(q.options)) == 4 and q.options.count(q.answer) == 1


async def test_every_kind_is_served_by_the_tiny_pack(tmp_path: Path):
    with study_group(sqlite_url(tmp_path)) as cls:
        assert {k.name for k in servable(all_kinds(), cls.engine.pack)} == set(TINY_KINDS)
    assert len(TINY_KINDS) >= 8 and {k.topic for k in all_kinds().values()} == {
        "tokenizers", "pipelines", "attention", "generation"}


async def test_tiny_keys_equal_a_fresh_run_of_the_model(tmp_path: Path, tiny_engine: Engine):
    with study_group(sqlite_url(tmp_path)) as cls:
        await check_keys(questions(cls.engine, TINY_KINDS), tiny_engine)


async def test_offline_keys_equal_a_fresh_run_of_the_real_models(tmp_path: Path, offline_engine: Engine):
    with study_group(sqlite_url(tmp_path), pack="offline") as cls:
        served = {k.name for k in servable(all_kinds(), cls.engine.pack)}
        assert served == set(OFFLINE_KINDS), "the offline pack serves these, and says so for the rest"
        await check_keys(questions(cls.engine, OFFLINE_KINDS, per_kind=1), offline_engine)


async def test_a_key_that_is_not_the_runs_answer_is_caught(tmp_path: Path, tiny_engine: Engine):
    """The check above can fail: the same questions with their keys moved to another option."""
    with study_group(sqlite_url(tmp_path)) as cls:
        made = questions(cls.engine, ["token-count", "cls-id", "zeroshot-label"], per_kind=1)
    for q in made:
        with pytest.raises(AssertionError):
            await check_keys([dataclasses.replace(q, key=(q.key + 1) % 4)], tiny_engine)




def test_every_tiny_kinds_snippet_prints_what_its_reveal_says(tmp_path: Path):
    with study_group(sqlite_url(tmp_path)) as cls:
        made = questions(cls.engine, TINY_KINDS, per_kind=1)
    programs, expected = zip(*(split_snippet(q.code) for q in made), strict=True)
    for q, want, got in zip(made, expected, snippet_outputs(programs), strict=True):
        assert same_output(want, got.rstrip("\n").splitlines()), (q.kind, want, got)
        shown = to_plain(q.answer).replace("␣", " ")  # a token's space, as the reveal writes it
        assert shown in got or q.kind in ("token-split", "sentiment-90", "attention-noop",
                                          "attention-top", "ner-type", "template-first"), (q.kind, q.answer, got)


# ----- issue 20: nobody reads a key before the reveal, nobody floods the store -----------------------------------

HIDDEN = ("answer", "reveal", "explore", "lesson", "forgetme")


def learning_rows(url: str) -> dict[str, Any]:
    """Every row the tutor keeps about learners (not the requests it has answered)."""
    return {table: rows for table, rows in rows_of(url).items() if table != "tutor_requests"}


def round_of(outcome: Any) -> str:
    return dict(button(outcome, "A").args)["round"]


def stored(cls: Class, round_id: str) -> Any:
    return state_of(cls).rounds.get(round_id)


async def typed(cls: Class, user: str, command: str, args: dict[str, Any]) -> Outcome:
    """A slash command with typed options (Discord's and Slack's other way of typing)."""
    return await cls.policy.handle(Request(cls.platform, user, command=command, args=args, place=cls.place,
                                           group=cls.group, request_id=f"typed-{secrets.token_hex(4)}"))


async def test_hidden_commands_cannot_be_typed_or_suggested(database_url: str):  # noqa: F811
    with study_group(database_url) as cls:
        asked = await cls.say("ada", "/quiz ner-type")
        rid = round_of(asked)
        key_text = Question.from_json(stored(cls, rid).question).answer
        before = learning_rows(database_url)
        lines = [f"/explore round={rid} n=0", f"explore round={rid}", f"/answer round={rid} choice=A",
                 f"/reveal round={rid}", "/lesson at=3 text=mine", "/forgetme confirm=yes", "forgetme confirm=true"]
        for line in lines:
            for user in ("bo", "ada"):
                refused = await cls.say(user, line)
                assert refused.verdict is Verdict.USER_ERROR, (line, refused)
                assert "There is no command" in refused.message, (line, refused)
                assert key_text not in refused.message
        for name in HIDDEN:
            refused = await typed(cls, "ada", name, {"round": rid, "n": 0, "choice": "A", "confirm": True})
            assert refused.verdict is Verdict.USER_ERROR and "There is no command" in refused.message, name
        assert stored(cls, rid).revealed is None, "nothing typed revealed the round"
        assert learning_rows(database_url) == before, "nothing typed answered, moved a lesson or forgot anyone"
        for typo, hidden in (("/answr", "/answer"), ("/revael", "/reveal"), ("/forgetm", "/forgetme")):
            refused = await cls.say("bo", typo)
            assert f"`{hidden}`" not in refused.message, "a hidden command is never suggested"
        for name in HIDDEN:
            refused = await cls.say("bo", f"/help {name}")
            assert refused.verdict is Verdict.USER_ERROR and "There is no command" in refused.message, "nor explained"


async def test_a_choice_runs_only_in_the_conversation_it_was_given_in(database_url: str):  # noqa: F811
    """`answer round=` from another channel, a DM, or an id made by hand: refused before any round is read."""
    with study_group(database_url) as cls:
        asked = await cls.say("ada", "/quiz cls-id")
        rid, first = round_of(asked), button(asked, "A")
        made = encode("explore", {"round": rid, "n": "0"})
        attempts = {
            "another channel": Request(cls.platform, "bo", action=first.id, request_id="x1", place="channel-2",
                                       group=cls.group),
            "a DM": cls.request("bo", action=first.id, direct=True),
            "another platform": Request("other", "bo", action=first.id, request_id="x2", place=cls.place),
            "made by hand": cls.request("bo", action=made),
            "made by hand, sealed by guess": cls.request("bo", action=f"{made}{SEAL}{'A' * SEAL_CHARS}"),
            "a seal moved onto another id": cls.request("bo", action=f"{made}{SEAL}{unseal(first.id)[1]}"),
        }
        for what, request in attempts.items():
            refused = await cls.policy.handle(request)
            assert refused.verdict is Verdict.USER_ERROR, what
            assert refused.message in (FOREIGN, OLDER), (what, refused.message)
        assert stored(cls, rid).revealed is None and rows_of(database_url)["tutor_answers"] == []
        here = answered(await cls.click("bo", first))
        assert "You chose **A**" in here.answer, "in its own channel the same button works"


async def test_a_round_is_answered_revealed_and_opened_only_by_whom_where_and_when_it_allows(tmp_path: Path):
    """Behind the seal, the stored round decides: its place, its asker (a learner's own round) and its reveal.
    (The ids here are sealed for the place they are sent from, as only the tutor could make them.)"""
    with study_group(sqlite_url(tmp_path)) as cls:
        asked = await cls.say("ada", "/quiz attention-top")
        rid = round_of(asked)
        question = Question.from_json(stored(cls, rid).question)
        early = answered(await cls.click("bo", sealed_here(cls, cls.place, "explore", round=rid, n="0")))
        assert early.answer == NOT_YET and early.show == "private"
        assert f"layer {question.inputs['layer']}, head {question.inputs['head']}" not in early.answer
        assert stored(cls, rid).revealed is None

        elsewhere = Request(cls.platform, "bo", action=sealed_here(cls, "channel-2", "answer", round=rid, choice="A"),
                            request_id="e1", place="channel-2", group=cls.group)
        assert answered(await cls.policy.handle(elsewhere)).answer == ELSEWHERE
        assert rows_of(cls.engine.settings.database_url)["tutor_answers"] == []

        lesson = await cls.say("ada", "/learn restart")  # a lesson's question: ada's own, in this channel
        mine = round_of(lesson)
        for command, args in (("answer", {"choice": "A"}), ("reveal", {}), ("explore", {"n": "0"})):
            other = answered(await cls.click("bo", sealed_here(cls, cls.place, command, round=mine, **args)))
            assert other.answer == NOT_YOURS, command
        assert stored(cls, mine).revealed is None and stored(cls, mine).answers == 0

        await cls.click("ada", button(asked, "Reveal"))
        opened = answered(await cls.click("bo", sealed_here(cls, cls.place, "explore", round=rid, n="0")))
        assert opened.command == "attention" and opened.show == "private", "after the reveal anyone here may"


async def test_mydata_withholds_a_rounds_key_and_verdicts_until_its_reveal(database_url: str):  # noqa: F811
    """The asker may answer their own channel round, so their /mydata shows neither its key nor their
    answer's verdict before the reveal; everyone's answer waits likewise; after it, the whole rows."""
    with study_group(database_url) as cls:
        asked = await cls.say("ada", "/quiz cls-id")
        rid = round_of(asked)
        question = Question.from_json(stored(cls, rid).question)
        await cls.click("ada", button(asked, LETTERS[question.key]))
        await cls.click("bo", button(asked, LETTERS[(question.key + 1) % 4]))

        async def mydata(user: str) -> tuple[str, dict[str, Any]]:
            document = answered(await cls.say(user, "/mydata")).code
            return document, json.loads(document)["tables"]

        text, tables = await mydata("ada")
        [row] = tables["tutor_rounds"]
        assert row["question"] == {"prompt": question.prompt, "options": list(question.options), "answer": WITHHELD}
        assert not any(why in text for why in question.why), "no reason of the key"
        assert question.explanation not in text and '"key"' not in text
        [mine] = tables["tutor_answers"]
        assert mine["correct"] == mine["points"] == WITHHELD and mine["choice"] == question.key
        _, theirs = await mydata("bo")
        assert theirs["tutor_answers"][0]["correct"] == WITHHELD, "an answer's verdict waits for everyone"

        await cls.click("ada", button(asked, "Reveal"))
        text, tables = await mydata("ada")
        assert Question.from_json(tables["tutor_rounds"][0]["question"]).key == question.key
        assert tables["tutor_answers"][0]["correct"] is True and question.why[question.key] in text
        assert (await mydata("bo"))[1]["tutor_answers"][0]["correct"] is False


def cooled(cls: Class, seconds: float) -> Class:
    """The same study group behind a policy with a cooldown on its own clock (the tests' default is none)."""
    return dataclasses.replace(cls, policy=Policy(cls.engine, runs=cls.policy.runs, cooldown_s=seconds,
                                                  clock=cls.clock))


def over_budget(outcome: Outcome) -> bool:
    return outcome.verdict is Verdict.COOLDOWN and re.fullmatch(r"You're asking quickly! Try again in \d+ s\.",
                                                          outcome.message) is not None


async def test_every_model_run_a_learner_causes_spends_their_one_budget(tmp_path: Path):
    """Open as, a lesson's prediction and run, a quiz computed now: each is a model run, under the same
    cooldown as a typed model command; a question ready in the pool and a model-free step cost nothing."""
    with study_group(sqlite_url(tmp_path)) as plain:
        cls = cooled(plain, 30.0)
        asked = await cls.say("ada", "/quiz attention-top")  # a cold pool: computed now, so it is spent
        assert answered(asked).notices == (COLD,)
        await cls.click("ada", button(asked, "A"))
        revealed = await cls.click("ada", button(asked, "Reveal"))
        assert revealed.verdict is Verdict.ANSWER, "answering and revealing run no model"
        assert over_budget(await cls.click("ada", button(revealed, "Open as /attention")))
        assert answered(await cls.click("bo", button(revealed, "Open as /attention"))).command == "attention", \
            "the budget is each learner's own"

        cls.clock.now += 31
        assert answered(await cls.click("ada", button(revealed, "Open as /attention"))).command == "attention"
        assert over_budget(await cls.say("ada", "/tokenize hello")), "one budget, whatever command spent it"
        assert over_budget(await cls.say("ada", "/learn restart")), "a lesson's prediction runs a model"
        cls.clock.now += 31
        start = await cls.say("ada", "/learn restart")
        assert "step 1 of 5: predict" in text(start)
        assert over_budget(await cls.click("ada", button(start, "Next"))), "a lesson's run step runs a model"

        cls.clock.now += 31
        state = state_of(cls)
        state.pool.put(state.pool.compute(context_of(cls.engine), "cls-id"))  # the refill's work, in advance
        await cls.say("cy", "/tokenize hello")
        ready = answered(await cls.say("cy", "/quiz cls-id", direct=True))
        assert ready.notices == () and "Quiz: tokenizers." in to_plain(ready.answer), "a ready question is free"
        assert over_budget(await cls.say("cy", "/quiz cls-id", direct=True)), "a cold one is not"


async def test_a_learner_flooding_quizzes_gets_a_note_and_the_store_stays_bounded(database_url: str):  # noqa: F811
    """The issue's flood: 40 DM quizzes in ten seconds. Open rounds and rounds a minute are bounded, the
    excess is told why, and a learner's rounds are trimmed past the kept number; others are untouched."""
    with study_group(database_url) as cls:
        limits = cls.tutor.limits
        outcomes = []
        for _ in range(40):
            outcomes.append(await cls.say("ada", "/quiz cls-id", direct=True))
            cls.clock.now += 0.25
        served = [o for o in outcomes if o.verdict is Verdict.ANSWER]
        assert len(served) == limits.open_rounds
        refused = [o for o in outcomes if o.verdict is not Verdict.ANSWER]
        assert all("waiting for your answer" in o.message and "Answer one of them first" in o.message
                   for o in refused), refused[0].message
        rounds = rows_of(database_url)["tutor_rounds"]
        assert len(rounds) == limits.open_rounds

        for outcome in served:  # answering makes room; the minute's limit then holds
            await cls.click("ada", button(outcome, "A"), direct=True)
        more = [await cls.say("ada", "/quiz cls-id", direct=True) for _ in range(limits.per_minute)]
        minute = [o for o in more if o.verdict is not Verdict.ANSWER]
        assert len(more) - len(minute) == limits.per_minute - limits.open_rounds
        assert minute and all(re.search(r"in the last minute.*can start in \d+ s", o.message) for o in minute)
        assert answered(await cls.say("bo", "/quiz cls-id", direct=True)), "another learner is not held back"

        cls.tutor.limits = Limits(open_rounds=2, per_minute=2, kept=6, open_for_s=600.0)
        for _ in range(12):  # a patient flood: a minute apart, each answered
            cls.clock.now += 61
            asked = await cls.say("ada", "/quiz cls-id", direct=True)
            await cls.click("ada", button(asked, "B"), direct=True)
        ada = key_of(cls, "ada")
        rows = rows_of(database_url)
        assert sum(r["asker"] == ada for r in rows["tutor_rounds"]) == 6, "past the kept number, the oldest go"
        assert sum(r["learner"] == ada for r in rows["tutor_answers"]) == limits.open_rounds + 12, \
            "their answers stay, for /progress"


async def test_a_lesson_keeps_one_question_open_whatever_its_learner_clicks(tmp_path: Path):
    with study_group(sqlite_url(tmp_path)) as cls:
        step = await cls.say("ada", "/learn restart", direct=True)
        for _ in range(8):  # back and forth over the prediction: each showing asks the same round again
            step = await cls.click("ada", button(step, "Next"), direct=True)
            step = await cls.click("ada", button(step, "Back"), direct=True)
        ada = key_of(cls, "ada")
        rounds = [r for r in rows_of(cls.engine.settings.database_url)["tutor_rounds"] if r["asker"] == ada]
        assert len(rounds) == 1 and rounds[0]["revealed"] is None, "one question, open, however often it is shown"
        earlier = answered(await cls.click("ada", button(step, "A"), direct=True))
        assert "Answer:" in earlier.answer, "the question on screen is the open one"


def key_of(cls: Class, user: str) -> str:
    return Keys(state_of(cls).keys.secret).learner(cls.platform, user)
