"""Choices, suggestions and verbs in the registry: declared once, offered by every platform, accepted by the core.

Platform-neutral: each suggester runs on the tiny or offline pack's engine, and every value it
offers is checked against the code that reads it (the quiz's topic rules, the lesson path, the
tokenizers /compare loads, the registry), so a suggestion can never be a value the command refuses.
/help lists what the console and Slack cannot show as a menu.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core import suggest
from core.commands import build_registry
from core.context import TaskContext
from core.engine import Engine
from core.models import ModelStore
from core.packs import build_pack
from core.registry import MAX_CHOICES, Choice, Command, Option, Registry, Subcommand, declared_values, matching
from core.render.cache import PerThreadCache
from core.results import Result
from core.settings import Settings
from core.tasks import compare, helpcmd
from core.tiny import ensure_tiny, tiny_dir, tiny_models
from core.tutor.lessons import where_to
from core.tutor.quiz import kinds_for
from core.tutor.service import context_of
from tests.support.tutor import sqlite_url, state_of, study_group

REGISTRY = build_registry()


def ctx_for(settings: Settings) -> TaskContext:
    pack = build_pack(settings, REGISTRY)
    return TaskContext(settings, pack, ModelStore(settings, pack.twins()), REGISTRY, PerThreadCache(1))


def offered(ctx: TaskContext, command: str, option: str, typed: Any = "") -> list[Choice]:
    found = REGISTRY.get(command)
    return suggest.suggestions(ctx, found, found.option(option), typed)


def _nothing(_ctx: Any, _args: dict[str, Any]) -> Result:
    raise AssertionError("never run")


# -- declarations ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "words"), [
    ({"type": "text", "choices": (Choice("a"),), "suggest": suggest.lessons}, "not both"),
    ({"type": "bool", "choices": (Choice("yes"),)}, "needs no choices"),
    ({"type": "text", "choices": tuple(Choice(f"v{n}") for n in range(26))}, "a menu holds 25"),
    ({"type": "int", "choices": (Choice("1"),)}, "of its option.s type"),
    ({"type": "text", "choices": (Choice(1),)}, "of its option.s type"),
])
def test_an_option_s_choices_must_fit_every_platform(kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        Option("x", "An option", **kwargs)


def test_a_choice_holds_1_to_100_characters() -> None:
    assert Choice("v" * 100, "n" * 100).label == "n" * 100
    assert Choice(3).label == "3"
    with pytest.raises(ValueError):
        Choice("v" * 101)
    with pytest.raises(ValueError):
        Choice("v", "n" * 101)
    with pytest.raises(ValueError):
        Choice("")


def test_every_choice_and_suggestion_of_the_real_registry_is_within_the_limits(tiny_settings: Settings) -> None:
    ctx = ctx_for(tiny_settings)
    for command in REGISTRY.visible():
        for option in (*command.options, *(o for s in command.subcommands for o in s.options)):
            found = suggest.suggestions(ctx, command, option, "")
            assert len(found) <= MAX_CHOICES, (command.name, option.name)
            if option.choices or option.suggest:
                assert found, f"/{command.name} {option.name} offers nothing on the tiny pack"


def test_matching_puts_a_start_before_a_middle_and_a_number_matches_by_its_start() -> None:
    candidates = [Choice("fillmask", "7. Fill-mask"), Choice("subwords", "9. Subwords"), Choice("part 1", "Part I"),
                  Choice("masked", "a mask in the middle")]
    assert [c.value for c in matching(candidates, "MASK")] == ["masked", "fillmask"]
    assert [c.value for c in matching(candidates, "7")] == ["fillmask"]
    assert [c.value for c in matching(candidates, "")] == ["fillmask", "subwords", "part 1", "masked"]
    assert matching(candidates, "zzz") == []
    numbers = [Choice(n, f"{n} (of 0-11)") for n in range(12)]
    assert [c.value for c in matching(numbers, "1")] == [1, 10, 11], "not every name that says 0-11"
    assert len(matching([Choice(f"v{n}") for n in range(60)], "v")) == MAX_CHOICES


def test_declared_values_are_the_option_s_own_range() -> None:
    layer, head = REGISTRY.get("attention").option("layer"), REGISTRY.get("attention").option("head")
    assert [c.value for c in declared_values(layer)] == list(range(48))
    assert [c.value for c in declared_values(head)][:4] == ["all", "mean", "0", "1"]
    assert [c.value for c in declared_values(REGISTRY.get("attention").option("noops"))] == ["hide", "show"]
    assert declared_values(REGISTRY.get("sentiment").option("text")) == []


# -- the suggesters, each against the code that reads its values ------------------------------------------
def test_layers_and_heads_are_the_offline_models_own_read_from_its_config_alone(offline_settings: Settings) -> None:
    ctx = ctx_for(offline_settings)
    assert [c.value for c in offered(ctx, "attention", "layer")] == list(range(6)), "all-MiniLM-L6-v2: 6 layers"
    assert [c.value for c in offered(ctx, "attention", "head")] == ["all", "mean", *map(str, range(12))]
    assert not ctx.models.loaded(), "no weights loaded to say so"


def test_layers_fall_back_to_the_declared_range_without_a_model(tiny_settings: Settings) -> None:
    ctx = ctx_for(tiny_settings)
    pack = ctx.pack
    bare = TaskContext(ctx.settings, type(pack)(pack.name, {k: v for k, v in pack.models.items() if k != "attention"}),
                       ctx.models, REGISTRY, ctx.figures)
    assert [c.value for c in offered(bare, "attention", "layer")] == list(range(25))


def test_tiny_layers_are_the_tiny_models_own(tiny_settings: Settings) -> None:
    from transformers import AutoConfig

    ensure_tiny(tiny_dir(tiny_settings.cache_dir), tiny_models(build_registry()))
    ctx = ctx_for(tiny_settings)
    layers = AutoConfig.from_pretrained(ctx.pack.spec("attention").source).num_hidden_layers
    assert [c.value for c in offered(ctx, "attention", "layer")] == list(range(layers))


def test_every_quiz_suggestion_is_a_topic_or_kind_the_pack_can_ask(tmp_path: Path) -> None:
    with study_group(sqlite_url(tmp_path)) as cls:
        ctx = context_of(cls.engine)
        state = state_of(cls)
        values = [c.value for c in suggest.suggestions(ctx, cls.engine.registry.get("quiz"),
                                                        cls.engine.registry.get("quiz").option("topic"), "")]
        assert {"tokenizers", "ner-type"} <= set(values)
        for value in values:
            assert kinds_for(state, ctx, str(value)), value
        assert matching(suggest.quiz_topics(ctx, REGISTRY.get("quiz")), "ner")[0].value == "ner-type"


def test_every_lesson_suggestion_opens_a_lesson_part_or_the_list() -> None:
    values = [str(c.value) for c in suggest.lessons(None, REGISTRY.get("learn"))]  # type: ignore[arg-type]
    assert len(values) <= MAX_CHOICES and {"list", "restart", "subwords", "part 3"} <= set(values)
    for value in values:
        if value not in ("list", "restart"):  # /learn reads these two itself, before a lesson's name
            assert where_to(value) >= 0, value


@pytest.mark.parametrize("pack", ["tiny", "offline"])
def test_every_tokenizer_set_is_one_compare_loads(pack: str, tiny_settings: Settings,
                                                  offline_settings: Settings) -> None:
    ctx = ctx_for(tiny_settings if pack == "tiny" else offline_settings)
    sets = [str(c.value) for c in offered(ctx, "compare", "tokenizers")]
    assert sets == (["bert,gpt2", "bert,roberta", "gpt2,roberta", "bert,gpt2,roberta"] if pack == "tiny"
                    else ["bert,smollm2"])
    for value in sets:
        assert list(compare.chosen(ctx, value)) == value.split(",")


def test_command_suggestions_are_the_commands_a_learner_can_type(tiny_settings: Settings) -> None:
    values = [c.value for c in suggest.command_names(ctx_for(tiny_settings), REGISTRY.get("help"))]
    assert values == [c.name for c in REGISTRY.visible()] and "answer" not in values
    for value in values:
        assert REGISTRY.typed(str(value)).name == value


# -- verbs --------------------------------------------------------------------------------------------------
def test_each_board_verb_is_the_text_the_console_and_slack_type() -> None:
    board = REGISTRY.get("board")
    typed = {"status": ({}, ""), "join": ({"name": "Ada L."}, "join Ada L."), "leave": ({}, "leave"),
             "on": ({}, "on"), "off": ({}, "off")}
    assert {s.name for s in board.subcommands} == set(typed)
    for verb, (values, text) in typed.items():
        assert board.from_subcommand(verb, values) == {"what": text}
        sub, back = board.as_subcommand(text)  # type: ignore[misc]
        assert (sub.name, back) == (verb, values)
    assert board.as_subcommand("on please") is None and board.as_subcommand("promote Ada") is None
    with pytest.raises(Exception, match="no subcommand"):
        board.from_subcommand("promote", {})


def test_a_command_with_verbs_has_one_main_text_for_them() -> None:
    verb = Subcommand("go", "Go.")
    with pytest.raises(ValueError, match="main text"):
        Command("x", "X.", (Option("a", "A", "text"),), (), _nothing, subcommands=(verb,))
    with pytest.raises(ValueError, match="twice"):
        Command("x", "X.", (Option("a", "A", "text", positional="main"),), (), _nothing, subcommands=(verb, verb))
    Registry([Command("x", "X.", (Option("a", "A", "text", positional="main"),), (), _nothing, subcommands=(verb,))])


# -- /help lists them for the console and Slack ---------------------------------------------------------------
def test_help_lists_choices_suggestions_and_verbs(tiny_engine: Engine) -> None:
    ctx = context_of(tiny_engine)

    def kinds(command: str) -> dict[str, str]:
        return {row[0]: row[1] for row in helpcmd.run_help(ctx, {"command": command}).table.rows}

    assert kinds("attention")["noops"] == "one of hide, show"
    assert kinds("leaderboard")["period"] == "one of week, all"
    assert kinds("quiz")["topic"].startswith("text, up to 32 characters; e.g. tokenizers, ")
    board = helpcmd.run_help(ctx, {"command": "board"}).answer
    assert "`/board join <name>`: Join this group's board" in board and "`/board`: Whether" in board
