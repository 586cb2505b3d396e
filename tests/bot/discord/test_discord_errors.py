"""The words for each kind of error discord.py raises around a slash command (pure, no network)."""
from __future__ import annotations

import logging

import discord
import pytest
from discord import app_commands

from bot.discord.commands import app_command_error_message, log_app_command_error
from bot.discord.render import error_text
from core.policy import APOLOGY
from tests.support.fake_discord import read_markdown


class Digits(app_commands.Transformer):
    async def transform(self, interaction: discord.Interaction, value: str) -> int:  # pragma: no cover
        return int(value)


async def _echo(interaction: discord.Interaction, text: str) -> None:  # pragma: no cover
    return None


ECHO = app_commands.Command(name="echo", description="Repeat a text back.", callback=_echo)


@pytest.mark.parametrize("error, start", [
    (app_commands.CommandNotFound("translate", []), "`/translate` is not a command I know here."),
    (app_commands.CommandNotFound("add", ["notes"]), "`/notes add` is not a command I know here."),
    (app_commands.CommandSignatureMismatch(ECHO), "Discord sent `/echo` with options that do not match"),
    (app_commands.TransformerError("x", discord.AppCommandOptionType.integer, Digits()),
     "Discord sent `/echo` an option value of the wrong kind (expected integer)"),
    (app_commands.CheckFailure("no"), "`/echo` cannot be used here."),
])
def test_each_app_command_error_gets_its_own_words(error: app_commands.AppCommandError, start: str) -> None:
    message = app_command_error_message(error, current="echo")
    assert message.startswith(start), message
    assert message != APOLOGY and "try again" not in message


def test_a_failure_inside_our_own_callback_is_an_apology_with_a_traceback_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    error = app_commands.CommandInvokeError(ECHO, RuntimeError("internal detail"))
    assert app_command_error_message(error) == APOLOGY
    with caplog.at_level(logging.INFO, logger="tutor.discord"):
        log_app_command_error(error)
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is not None


def test_an_unknown_name_is_logged_escaped_and_shown_as_safe_code(caplog: pytest.LogCaptureFixture) -> None:
    error = app_commands.CommandNotFound("a`b\ud800", [])
    with caplog.at_level(logging.INFO, logger="tutor.discord"):
        log_app_command_error(error)
    assert "'a`b\\ud800'" in caplog.records[0].getMessage(), "repr: no lone surrogate reaches a log handler"
    message = app_command_error_message(error)
    assert message.startswith("`/ab` is not a command I know here."), message
    assert read_markdown(error_text(message))[0] == ("code", "/ab")
