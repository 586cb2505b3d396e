"""The text grammar: `/command main | second key=value`, only declared options read as options."""
import pytest

from core.commands import build_registry
from core.errors import UserError
from core.grammar import parse_line

REGISTRY = build_registry()


def parse(line: str) -> tuple[str, dict]:
    command, raw = parse_line(REGISTRY, line)
    return command.name, command.validate(raw)


def test_second_part_after_pipe_goes_to_second_option():
    name, args = parse("/qa Where do I live? | My name is Ada and I live in London.")
    assert name == "qa"
    assert args == {"question": "Where do I live?", "context": "My name is Ada and I live in London."}


def test_declared_options_are_read_and_typed():
    name, args = parse("/attention The cat sat on the mat. layer=2 head=all")
    assert args == {"text": "The cat sat on the mat.", "layer": 2, "head": "all"}
    assert parse("/attention Hi there head=3")[1]["head"] == 3


def test_undeclared_key_value_stays_in_the_text():
    _, args = parse("/sentiment I think x=3 is fine")
    assert args["text"] == "I think x=3 is fine"


def test_slash_is_optional_and_case_insensitive():
    assert parse("SENTIMENT I love this")[0] == "sentiment"


def test_pipe_without_second_option_stays_in_text():
    _, args = parse("/sentiment good | bad")
    assert args["text"] == "good | bad"


def test_bool_option_parses_words():
    _, args = parse("/zeroshot I love pizza | food, sports multi_label=yes")
    assert args["multi_label"] is True and args["labels"] == "food, sports"


def test_wrong_option_value_names_the_option():
    with pytest.raises(UserError, match="max_new_tokens.*between 1 and 100"):
        parse("/generate Hello max_new_tokens=500")
    with pytest.raises(UserError, match="`layer` must be a whole number"):
        parse("/attention Hello layer=two")
    with pytest.raises(UserError, match="true or false"):
        parse("/zeroshot a | b multi_label=maybe")


def test_unknown_command_suggests_the_closest():
    with pytest.raises(UserError, match="Did you mean `/sentiment`"):
        parse("/sentimnt I love it")


def test_empty_line_explains_what_to_type():
    with pytest.raises(UserError, match="Type a command"):
        parse("   ")


def test_missing_main_text_shows_an_example():
    with pytest.raises(UserError, match="needs `text`.*Example: `/sentiment I love this`"):
        parse("/sentiment")


def test_question_without_context_is_refused():
    with pytest.raises(UserError, match="needs `context`"):
        parse("/qa Where do I live?")


def test_text_over_the_limit_is_refused_with_the_limit():
    with pytest.raises(UserError, match="1001 characters long; the limit is 1000"):
        parse("/sentiment " + "a" * 1001)


def test_typed_options_from_platforms_are_checked_too():
    command = REGISTRY.get("generate")
    with pytest.raises(UserError, match="has no option `temperature`"):
        command.validate({"prompt": "Hi", "temperature": 2})
    assert command.validate({"prompt": "Hi", "max_new_tokens": 7})["max_new_tokens"] == 7
