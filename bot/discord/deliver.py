"""Putting a rendered answer on Discord: a reply, a private copy, a replacement, or a new message.

An interaction's token answers for 15 minutes (follow-ups and edits go through its webhook).
A click has a token of its own, so replacing the clicked message works however old the
message is; a token runs out only when an answer takes longer than that (a long queue) or a
timer fires after it. Then the answer goes out as a new message in the channel, with the
bot's own token. A private answer cannot (Discord has no private channel message), so it is
logged and dropped.

Every message is sent with `AllowedMentions.none()`: a learner's `@everyone` is shown, never
pinged.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import discord

from bot.discord.render import Reply, error_text

if TYPE_CHECKING:  # pragma: no cover
    from core.actions import Ask

log = logging.getLogger("tutor.discord")

NO_MENTIONS = discord.AllowedMentions.none()
TOKEN_GONE = {10015, 50027}
"""Unknown Webhook, Invalid Webhook Token: the interaction's 15 minutes are over."""
T = TypeVar("T")


class TokenGone(Exception):
    """The interaction's token no longer answers."""


@dataclass(frozen=True)
class Placed:
    """A message the tutor put on Discord, and the way to change it again."""

    channel_id: int | None
    message_id: int | None
    interaction: discord.Interaction | None
    """Whose token can edit it; None for a message sent with the bot's own token."""
    original: bool = False
    """The interaction's own message (`@original`): a clicked message, or a direct reply."""
    ephemeral: bool = False

    @property
    def key(self) -> str:
        return str(self.message_id) if self.message_id else f"interaction-{self.interaction and self.interaction.id}"


def clicked(interaction: discord.Interaction) -> Placed:
    """The message a button or select was used on (the click's `@original`)."""
    message = interaction.message
    return Placed(interaction.channel_id, message.id if message else None, interaction, original=True,
                  ephemeral=bool(message and message.flags.ephemeral))


async def _live(interaction: discord.Interaction, call: Callable[[], Awaitable[T]]) -> T:
    """`call()` through the interaction's webhook; `TokenGone` once its token has run out."""
    if interaction.is_expired():
        raise TokenGone
    try:
        return await call()
    except discord.HTTPException as exc:
        if exc.code in TOKEN_GONE:
            raise TokenGone from exc
        raise


def _thinking(interaction: discord.Interaction) -> bool:
    return interaction.response.type is discord.InteractionResponseType.deferred_channel_message


async def send_text(interaction: discord.Interaction, message: str) -> None:
    """A private note (an error, a cooldown) to whoever the interaction came from.

    After a public deferral ("thinking…") the first follow-up would fill that message and keep
    it public, so the deferral is deleted first and the note follows privately."""
    text = error_text(message)
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        if _thinking(interaction):
            with contextlib.suppress(discord.HTTPException):
                await _live(interaction, interaction.delete_original_response)
        await _live(interaction, lambda: interaction.followup.send(text, ephemeral=True,
                                                                   allowed_mentions=NO_MENTIONS))
    except TokenGone:
        log.warning("a private note could not be sent: the interaction's token has run out")
    except discord.HTTPException as exc:
        log.warning("could not send a private note: %s", exc)


def _message(reply: Reply, asks: dict[str, Ask]) -> dict[str, Any]:
    return {"embed": reply.embed, "files": reply.files(), "view": reply.view(asks) or discord.utils.MISSING,
            "allowed_mentions": NO_MENTIONS}


async def send_reply(client: discord.Client, interaction: discord.Interaction, reply: Reply, *, ephemeral: bool,
                     asks: dict[str, Ask]) -> Placed | None:
    """A new message answering the interaction (public, or for its user alone); None if it failed."""
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(ephemeral=ephemeral, **_message(reply, asks))
            return Placed(interaction.channel_id, None, interaction, original=True, ephemeral=ephemeral)
        if ephemeral and _thinking(interaction):
            await _live(interaction, interaction.delete_original_response)
        sent = await _live(interaction, lambda: interaction.followup.send(ephemeral=ephemeral, wait=True,
                                                                          **_message(reply, asks)))
        return Placed(interaction.channel_id, sent.id, interaction, ephemeral=ephemeral)
    except TokenGone:
        if ephemeral:
            log.warning("a private answer could not be sent: the interaction's token has run out")
            return None
        return await post_new(client, interaction.channel_id, reply, asks)
    except discord.HTTPException:
        log.exception("could not send an answer")
        return None


async def replace(client: discord.Client, placed: Placed, reply: Reply, asks: dict[str, Ask]) -> Placed | None:
    """Swap a message's embed, pictures and buttons for the new answer's; a new message when the token
    that could edit it has run out. None if it failed."""
    edit: dict[str, Any] = {"embed": reply.embed, "attachments": reply.files(),  # the new pictures, no old one
                            "view": reply.view(asks), "allowed_mentions": NO_MENTIONS}  # a view of None clears
    interaction = placed.interaction
    try:
        if interaction is None:
            channel = client.get_partial_messageable(placed.channel_id or 0)
            await channel.get_partial_message(placed.message_id or 0).edit(**edit)
        elif placed.original:
            await _live(interaction, lambda: interaction.edit_original_response(**edit))
        else:
            await _live(interaction, lambda: interaction.followup.edit_message(placed.message_id or 0, **edit))
        return placed
    except TokenGone:
        if placed.ephemeral:
            log.warning("a private message could not be changed: the interaction's token has run out")
            return None
        return await post_new(client, placed.channel_id, reply, asks)
    except discord.HTTPException:
        log.exception("could not replace a message")
        return None


async def post_new(client: discord.Client, channel_id: int | None, reply: Reply,
                   asks: dict[str, Ask]) -> Placed | None:
    """The answer as a new message in the channel, with the bot's own token."""
    if channel_id is None:
        return None
    try:
        sent = await client.get_partial_messageable(channel_id).send(**_message(reply, asks))
    except discord.HTTPException as exc:
        log.warning("could not post an answer as a new message in channel %s: %s", channel_id, exc)
        return None
    return Placed(channel_id, sent.id, None)
