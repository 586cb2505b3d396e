"""The text grammar: `/command main | second key=value`, only declared options read as options."""
import pytest

from core.commands import build_registry
from core.errors import UserError
from core.grammar import parse_line, read_line

REGISTRY = build_registry()


def parse(line: str) -> tuple[str, dict]:
    command, raw = parse_line(REGISTRY, line)
    return command.name, command.validate(raw)


def test_second_part_after_pipe_goes_to_second_option():
    name, args = parse("/qa Where do I live? | My name is Ada and I live in London.")
    assert name == "qa"
    assert args == {"question": "Where do I live?", "context": "My name is Ada and I live in London."}


def test_declared_options_are_read_and_typed():
    _, args = parse("/attention The cat sat on the mat. layer=2 head=all")
    assert args == {"text": "The cat sat on the mat.", "layer": 2, "head": "all", "noops": None, "mask": None}
    assert parse("/attention Hi there head=3")[1]["head"] == 3


def test_an_option_given_twice_with_two_values_is_refused_not_guessed():
    """`layer=1 ... layer=9` once took the last value silently: the learner meant one of them."""
    with pytest.raises(UserError) as info:
        parse("/attention The cat sat. layer=1 head=0 LAYER=`9`")
    assert info.value.message == "`layer=` is given twice, as `1` and as `'9'`: give it once."
    assert parse("/attention The cat sat. layer=1 layer=1")[1]["layer"] == 1, "the same value twice says one thing"


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
    with pytest.raises(UserError, match=r"max_new_tokens.*between 1 and 100"):
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
    with pytest.raises(UserError, match=r"needs `text`.*Example: `/sentiment I love this`"):
        parse("/sentiment")


def test_question_without_context_is_refused():
    with pytest.raises(UserError, match="needs `context`"):
        parse("/qa Where do I live?")


def test_text_over_the_limit_is_refused_with_the_limit():
    with pytest.raises(UserError, match="1001 characters long; the limit is 1000"):
        parse("/sentiment " + "a" * 1001)


def test_typed_options_from_platforms_are_checked_too():
    command = REGISTRY.get("generate")
    with pytest.raises(UserError, match="has no option `top_p`"):
        command.validate({"prompt": "Hi", "top_p": 2})
    assert command.validate({"prompt": "Hi", "max_new_tokens": 7})["max_new_tokens"] == 7


def test_the_command_name_ends_at_a_new_line_or_a_tab():
    assert parse("/sentiment\nI love this") == ("sentiment", {"text": "I love this", "why": False})
    assert parse("/sentiment\tI love this")[1]["text"] == "I love this"


def test_an_unknown_command_with_a_surrogate_is_refused_in_a_message_that_can_be_sent():
    with pytest.raises(UserError) as info:
        parse("/sentiment\ud800 I love it")
    info.value.message.encode("utf-8")


def test_a_control_character_in_the_command_name_is_dropped_before_the_name_is_read():
    assert parse("/senti\x00ment I love this")[0] == "sentiment"


def test_a_huge_unknown_command_is_quoted_back_short():
    with pytest.raises(UserError) as info:
        parse("/" + "x" * 5000 + " hi")
    assert len(info.value.message) < 200 and "xxx…`" in info.value.message


def test_a_value_quoted_back_cannot_break_out_of_its_code_span():
    with pytest.raises(UserError) as info:
        parse("/attention The cat layer=`2`,\u202eowt")
    message = info.value.message
    assert message.count("`") % 2 == 0 and "\u202e" not in message
    assert "not `'2',owt`" in message


def test_a_number_past_any_range_is_out_of_range_not_not_a_number():
    assert parse("/attention The cat layer=" + "9" * 5000)[1]["layer"] > 47, "a number, past any model's layers"
    with pytest.raises(UserError, match="between 1 and 100"):
        REGISTRY.get("generate").validate({"prompt": "Hi", "max_new_tokens": 10**5000})


def test_the_line_is_cleaned_once_as_it_is_read_and_says_what_changed():
    parsed = read_line(REGISTRY, "/qa Who\ud800? | Ada\x00 lives here")
    assert parsed.raw == {"question": "Who\ufffd?", "context": "Ada lives here"}
    assert parsed.notice is not None and "1 character" in parsed.notice and "1 invisible" in parsed.notice
    assert read_line(REGISTRY, "/qa Who? | Ada").notice is None


@pytest.mark.parametrize(("line", "missing"), [
    ("/qa | My name is Ada.", "question"),
    ("/qa Where do I live? |", "context"),
    ("/qa |", "question"),
    ("/zeroshot | food, sports", "text"),
    ("/zeroshot   |   food, sports multi_label=true", "text"),
    ("/zeroshot I love pizza |", "labels"),
])
def test_an_empty_part_beside_the_pipe_is_the_part_named_missing(line, missing):
    with pytest.raises(UserError, match=f"needs `{missing}`"):
        parse(line)


def test_a_pipe_that_starts_a_word_stays_in_the_text():
    assert parse("/tokenize |pipe| is a token | and this the pair")[1]["text"] == "|pipe| is a token"
    assert parse("/qa |x| means absolute value? | It does.")[1]["question"] == "|x| means absolute value?"


@pytest.mark.parametrize("blank", ["\u200b\u200b", "\u2060\ufeff", "\u200e\u200f", "\u3164", "\u2800 \u2800",
                                   "\u00a0\u3000"])
def test_a_text_that_shows_nothing_is_refused_as_missing_and_says_why(blank):
    with pytest.raises(UserError, match=r"needs `text`.*show nothing") if blank.strip() else pytest.raises(
            UserError, match=r"needs `text`"):
        parse("/sentiment " + blank)


def test_invisible_characters_beside_visible_ones_stay_in_the_text():
    assert parse("/tokenize a\u200bb")[1]["text"] == "a\u200bb"
    assert parse("/sentiment \u200bok")[1]["text"] == "\u200bok"
    assert parse("/tokenize \U0001face")[1]["text"] == "\U0001face", "an emoji newer than Python's tables still shows"


@pytest.mark.parametrize("line, example", [
    ("/attention The cat sat on the mat. layer=", "`layer=0`"),
    ("/attention The cat sat. layer= 2", "`layer=0`"),
    ("/generate Once upon a time max_new_tokens=", "`max_new_tokens=20`"),
    ("/sentiment I love this why=", "`why=true`"),
    ("/attention The cat sat. noops=", "`noops=hide`"),
])
def test_an_option_with_no_value_is_refused_with_an_example(line, example):
    """`layer=` once became part of the text, and the answer was about other words than the learner's."""
    with pytest.raises(UserError) as info:
        parse(line)
    assert info.value.message.startswith(f"`{line.split('=')[0].split()[-1]}=` has no value")
    assert info.value.message.endswith(f"as in {example}.")


def test_a_key_with_no_value_that_is_no_option_stays_in_the_text():
    assert parse("/sentiment I think x= is fine")[1]["text"] == "I think x= is fine"


@pytest.mark.parametrize("name", [c.name for c in REGISTRY.visible() if c.positional("main") is None])
def test_a_command_that_takes_no_text_refuses_text_instead_of_dropping_it(name):
    with pytest.raises(UserError) as info:
        parse(f"/{name} junk here")
    assert info.value.message.startswith(f"/{name} takes no text, and yours has `junk here`.")


@pytest.mark.parametrize("line", ["/zeroshot I love pizza|food,sports", "/qa Where do I live?|My name is Ada"])
def test_a_pipe_with_no_spaces_is_named_in_the_missing_part_message(line):
    with pytest.raises(UserError) as info:
        parse(line)
    assert "Put a space on each side of `|`" in info.value.message
    with pytest.raises(UserError) as plain_missing:
        parse(line.split("|")[0])
    assert "`|`" not in plain_missing.value.message.split("Example")[0], "no pipe, no hint"


def test_an_option_with_choices_given_a_long_value_lists_the_choices():
    with pytest.raises(UserError) as info:
        parse("/leaderboard period=week")
    assert info.value.message == "`period` is one of `week`, `all`; you gave `period=week`."


@pytest.mark.parametrize("command, option", [(c.name, o.name) for c in REGISTRY for o in c.options if o.per_model])
def test_a_per_model_option_below_zero_says_it_counts_from_zero_and_past_its_cap_reaches_the_task(command, option):
    """Its cap (47 layers, 63 heads, 511 tokens) is no model's range: "must be between 0 and 47" was false of
    every model here, so the task's own check says what this model has (tests/core/test_bad_input.py)."""
    cap = REGISTRY.get(command).option(option).max_value
    with pytest.raises(UserError) as info:
        REGISTRY.get(command).option(option).coerce("-1")
    assert info.value.message == f"`{option}` counts from 0; you gave `-1`."
    assert REGISTRY.get(command).option(option).coerce(str(cap + 1)) == cap + 1
