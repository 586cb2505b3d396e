"""Every kind of bad input gets a clear, specific answer, and the engine keeps serving."""
import pytest

from core.engine import Engine
from core.errors import UserError


async def refused(engine: Engine, line: str) -> str:
    with pytest.raises(UserError) as info:
        await engine.run_text(line)
    return info.value.message


async def test_empty_text_is_refused_with_an_example(tiny_engine):
    assert "needs `text`" in await refused(tiny_engine, "/sentiment    ")


async def test_missing_mask_and_doubled_mask_are_explained(tiny_engine):
    assert "exactly one `[MASK]`" in await refused(tiny_engine, "/fillmask Paris is the capital of France.")
    assert "has 2 masks" in await refused(tiny_engine, "/fillmask [MASK] is the <mask> of France.")


async def test_both_mask_spellings_are_accepted(tiny_engine):
    for text in ("Paris is the [MASK] of France.", "Paris is the <mask> of France.", "Paris is the [mask] of it."):
        result = await tiny_engine.run_text(f"/fillmask {text} top_k=2")
        assert len(result.table.rows) == 2


async def test_label_count_outside_one_to_ten_is_refused(tiny_engine):
    assert "Give 1 to 10" in await refused(tiny_engine, "/zeroshot I love pizza | , ,")
    eleven = ", ".join(f"label{i}" for i in range(11))
    assert "11 labels; /zeroshot takes at most 10" in await refused(tiny_engine, f"/zeroshot pizza | {eleven}")


async def test_duplicate_labels_count_once(tiny_engine):
    result = await tiny_engine.run_text("/zeroshot I love pizza | food, Food, sports")
    assert sorted(r[0] for r in result.table.rows) == ["food", "sports"]


async def test_layer_and_head_out_of_range_name_the_valid_range(tiny_engine):
    assert "2 layers: `layer` must be between 0 and 1; you gave 5" in await refused(
        tiny_engine, "/attention The cat sat. layer=5 head=0")
    assert "4 heads per layer: `head` must be between 0 and 3" in await refused(
        tiny_engine, "/attention The cat sat. layer=0 head=7")


async def test_a_layer_head_or_position_past_any_model_names_this_models_range(tiny_engine):
    """Past the registry's cap (47 layers, 63 heads, 511 tokens), not the cap but this model's own range."""
    for line, said in [("/attention The cat sat. layer=99", "This model has 2 layers: `layer` must be between 0 and 1"),
                       ("/causal The cat sat. head=99", "4 heads per layer: `head` must be between 0 and 3"),
                       ("/qkv The cat sat. token=600", "Your text has 4 tokens: `token` must be between 0 and 3"),
                       ("/attention The cat sat. mask=600", "Your text has 6 tokens (positions 0 to 5)"),
                       ("/fillmask Paris is the [MASK] of France. word=250", "has 6 words (0 to 5)"),
                       ("/fillmask [MASK] word=0", "has no word to mask.")]:  # was "0 words (0 to -1)"
        message = await refused(tiny_engine, line)
        assert said in message and " 47" not in message and " 63" not in message and " 511" not in message, line


async def test_a_text_too_short_to_summarize_is_refused_with_its_word_count(tiny_engine):
    """`/summarize .` once got a made-up story about a new employee from the offline pack's chat model."""
    for line, words in (("/summarize .", "0 words"), ("/summarize a", "1 word:"),
                        ("/summarize Hi there friend", "3 words")):
        assert f"A summary shortens a text, and yours has {words}" in await refused(tiny_engine, line), line
    assert (await tiny_engine.run_text("/summarize Cats sleep all day.")).answer


async def test_question_without_context_is_refused(tiny_engine):
    assert "needs `context`" in await refused(tiny_engine, "/qa Where do I live?")


async def test_unknown_command_suggests_the_closest_one(tiny_engine):
    assert "Did you mean `/attention`" in await refused(tiny_engine, "/atention The cat")


async def test_text_longer_than_the_model_is_truncated_with_a_notice(tiny_engine):
    long_text = "猫" * 900  # one token per character: past the 512-token limit within the character limit
    result = await tiny_engine.run_text(f"/sentiment {long_text}")
    assert result.notices and "reads at most 512" in result.notices[0]
    assert len(result.table.rows) == 2


async def test_odd_unicode_and_mention_syntax_are_answered_as_text(tiny_engine):
    for text in ("@everyone <@123> <!channel> 🤗🤗", "Zalgo t̸̢e̵x̶t", "\u200b\u202eRTL"):
        result = await tiny_engine.run_text(f"/tokenize {text}")
        assert result.table.rows[0][1] == "[CLS]" and result.table.rows[-1][1] == "[SEP]"


async def test_engine_keeps_serving_after_bad_input(tiny_engine):
    await refused(tiny_engine, "/fillmask no mask here")
    result = await tiny_engine.run_text("/tokenize I'm learning")
    assert result.table.rows[1][2] == "1045"


async def test_a_lone_surrogate_is_replaced_and_the_answer_says_so(tiny_engine):
    result = await tiny_engine.run_text("/sentiment a\ud800b")
    assert "1 character that was not valid Unicode (often a broken copy-paste) became \ufffd" in result.notices[0]
    result.as_text().encode("utf-8")  # every adapter and the log can write it


async def test_a_nul_character_is_removed_before_tokenizing_and_the_answer_says_so(tiny_engine):
    result = await tiny_engine.run_text("/tokenize I'm\x00 learning")
    assert "1 invisible control character was removed" in result.notices[0]
    assert [row[2] for row in result.table.rows][1:-1] == ["1045", "1005", "1049", "4083"]  # i ' m learning


async def test_typed_text_from_a_platform_is_cleaned_and_the_answer_says_so(tiny_engine):
    result = await tiny_engine.run("tokenize", {"text": "caf\udce9 \x1b[31mok", "pair": "\x07x"})
    assert result.notices[0] == ("In your text, 1 character that was not valid Unicode (often a broken copy-paste) "
                                 "became \ufffd and 2 invisible control characters were removed.")


async def test_an_option_value_with_a_surrogate_is_refused_in_a_message_that_can_be_sent(tiny_engine):
    for refusal in (await refused(tiny_engine, "/attention The cat sat. layer=\ud800"),
                    await refused(tiny_engine, "/zeroshot pizza | food multi_label=y\udcff")):
        refusal.encode("utf-8")
        assert "\ufffd" in refusal
    with pytest.raises(UserError) as info:
        await tiny_engine.run("generate", {"prompt": "Hi", "max_new_tokens": "\udc80"})
    info.value.message.encode("utf-8")


async def test_a_control_character_alone_counts_as_no_text(tiny_engine):
    assert "needs `text`" in await refused(tiny_engine, "/sentiment \x00\x1b")
    with pytest.raises(UserError, match="needs `text`"):
        await tiny_engine.run("sentiment", {"text": "\x00"})


async def test_the_cleaning_notice_comes_first_and_the_task_notices_stay(tiny_engine):
    result = await tiny_engine.run_text("/sentiment " + "猫" * 900 + "\x00")
    assert "1 invisible control character was removed" in result.notices[0]
    assert "reads at most 512" in result.notices[1]


def shortest_lines() -> list[str]:
    """Every model command of the registry on the shortest text there is: one word (one token in every pack's
    tokenizer), in each text part; /fillmask's beside its mask."""
    from core.commands import build_registry

    lines = []
    for command in build_registry():
        if command.needs_model and not command.personal:
            second = " | Hi" if command.positional("second") else ""
            short = " max_new_tokens=1" if any(o.name == "max_new_tokens" for o in command.options) else ""
            lines.append(f"/{command.name} Hi{' [MASK]' if command.name == 'fillmask' else ''}{second}{short}")
    return lines


@pytest.mark.parametrize("engine_name", ["tiny_engine", "offline_engine"])
async def test_a_one_token_text_gets_an_answer_from_every_model_command(request, engine_name):
    """A row, a head or a prediction picked from a one-token text stays inside it (/qkv picked token 1 of 1)."""
    engine = request.getfixturevalue(engine_name)
    for line in shortest_lines():
        try:
            result = await engine.run_text(line)
        except UserError as exc:  # a clear refusal is an answer too; a crash is not
            assert exc.message, line
        else:
            assert result.answer.strip(), line


async def test_one_token_is_counted_in_the_singular(tiny_engine):
    result = await tiny_engine.run_text("/tokenize Hi special=false")
    assert result.answer.startswith("**1 token**: `hi`"), result.answer
