"""Delivering an `Outcome` on Slack: where each sort of answer goes, and how.

* A slash command's answer: `chat.postMessage` in the channel (its response_url, in_channel, when
  the bot may not post there); pictures uploaded to the channel.
* A mention's or DM's answer: the mention's thread, or the DM; pictures to the same thread.
* An error, cooldown, busy note or apology: ephemeral to the asker, through the response_url when
  there is one, else `chat.postEphemeral`. A duplicate: nothing.
* A click by the asker, `show="reply"`: the clicked message's text and buttons replaced
  (`chat.update`), the new picture in its thread (Slack cannot swap a file in place).
* A click by anyone else, `show="reply"`: a private copy, an ephemeral message with the text and
  buttons (theirs now), the picture in their DM with the bot.
* Any click, `show="update"`: the clicked message replaced for everyone (a quiz's reveal),
  pictures to its thread.
* `show="private"`: ephemeral to the asker or clicker; pictures to their DM with the bot.

Why the DM for a private picture: an ephemeral message cannot carry a file, and a file shared in
the channel would be public. The DM with the bot is private to the learner and keeps the PNG; the
ephemeral message says where it went and carries the alt text (also the fallback when the DM fails).

Code too long for a message (more than `MAX_SECTIONS_PER_PART` sections: /mydata's JSON of a busy
learner) goes whole as a file named `result.code_file`, as on Discord: beside a public answer, or to
the learner's DM with the bot for a private one; the message says where it went. Only if that upload
fails does the message show the code cut, and say why.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.placement import placement
from bot.slack.blocks import action_blocks
from bot.slack.render import Echo, SlackMessage, code_fits, render_error, render_note, render_result
from core.policy import Outcome
from core.results import Image, Result
from core.text import clean_text

log = logging.getLogger("tutor.slack")

CHANNEL_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action"})
"""chat.postMessage errors after which an answer can still go via its response_url."""
ALT_LIMIT = 1000
TITLE_LIMIT = 250
DM_CACHE = 1024


@dataclass(frozen=True)
class Origin:
    """Where a request came from, and so where its answers go."""

    team: str
    user: str
    """Who asked or clicked: the raw Slack user id (never logged)."""
    channel: str
    via: Literal["slash", "thread", "click"]
    """How it came: a slash command, a message in a thread (a mention or a DM), or a click."""
    thread_ts: str | None = None
    """Mentions and DMs: the thread to answer in. Clicks: the clicked message's thread."""
    response_url: str = ""
    echo: Echo | dict[str, Any] | None = None
    """A slash command's question, or a clicked message's echo block, kept on top of its answer."""
    message_ts: str | None = None
    """Clicks: the clicked message (None when it is ephemeral or unknown)."""
    ephemeral: bool = False
    """Clicks: the clicked message is an ephemeral one (a private copy): only its response_url reaches it."""
    owner: str = ""
    """Clicks: who asked the question the clicked message answers ("" when unknown)."""
    direct: bool = False

    @property
    def key(self) -> str:
        """The learner, as the policy knows them: workspace and user."""
        return f"{self.team}:{self.user}"


@dataclass(frozen=True)
class Posted:
    """The public message an answer ended up in (a timer's later action edits it)."""

    origin: Origin


@dataclass
class Courier:
    """Posts, updates and uploads for the listeners; every failure is logged, and told to the learner."""

    client: AsyncWebClient
    retry_handlers: list[Any] = field(default_factory=list)
    _dms: dict[str, str] = field(default_factory=dict)

    async def deliver(self, outcome: Outcome, origin: Origin) -> Posted | None:
        """Deliver one outcome; the public message it went to, when there is one."""
        if outcome.silent:
            return None
        if outcome.result is None:
            await self.note(origin, outcome.message)
            return None
        try:
            if origin.via == "click":
                return await self._clicked(outcome.result, origin)
            return await self._typed(outcome.result, origin)
        except SlackApiError as exc:
            log.warning("could not answer on Slack: command=%s error=%s", outcome.command, error_code(exc))
            await self.note(origin, f"I couldn't post the answer here ({error_code(exc)}). Please try again.")
            return None

    async def note(self, origin: Origin, text: str) -> None:
        """An error, cooldown or apology: to the asker alone."""
        await self._ephemeral(origin, render_error(text))

    # ----- typed commands -----
    async def _typed(self, result: Result, origin: Origin) -> Posted | None:
        if placement(result.show, clicked=False) == "private" and not _bot_dm(origin):
            await self._private(result, origin)
            return None
        as_file = not code_fits(result)
        message = render_result(result, echo=origin.echo, actions=action_blocks(result.actions, origin.user),
                                code_note=_attached(result) if as_file else None)
        ts = await self._post(origin, message)
        await self._upload(origin, result.images, origin.channel, origin.thread_ts)
        if as_file:
            await self._upload_code(origin, result, origin.channel, origin.thread_ts)
        if ts is None:
            return None
        return Posted(replace(origin, via="click", message_ts=ts, owner=origin.user, response_url="",
                              echo=message.blocks[0] if origin.echo else None))

    async def _post(self, origin: Origin, message: SlackMessage) -> str | None:
        """chat.postMessage; a slash command in a channel the bot may not post in goes via its response_url."""
        try:
            response = await self.client.chat_postMessage(channel=origin.channel, thread_ts=origin.thread_ts,
                                                          **message.as_kwargs())
        except SlackApiError as exc:
            if error_code(exc) not in CHANNEL_ERRORS or not origin.response_url:
                raise
            log.info("chat.postMessage failed (%s); answering via response_url", error_code(exc))
            await self._respond(origin.response_url, message, response_type="in_channel")
            return None
        return _string(response.get("ts"))

    # ----- clicks -----
    async def _clicked(self, result: Result, origin: Origin) -> Posted | None:
        mine = origin.user == origin.owner
        if placement(result.show, clicked=True, mine=mine) == "private":
            await self._private(result, origin)
            return None
        owner = origin.owner or origin.user
        message = render_result(result, echo=origin.echo, actions=action_blocks(result.actions, owner))
        if origin.ephemeral:  # the asker's own private copy: only its response_url can replace it
            await self._respond(origin.response_url, message, replace_original=True)
            await self._to_dm(origin, result.images)
            return None
        if origin.message_ts is None:
            return await self._typed(result, replace(origin, via="thread", echo=None))
        await self._update(origin, message)
        await self._upload(origin, result.images, origin.channel, origin.thread_ts or origin.message_ts)
        if not code_fits(result):  # shown cut in the updated message; whole in its thread
            await self._upload_code(origin, result, origin.channel, origin.thread_ts or origin.message_ts)
        return Posted(replace(origin, user=owner, owner=owner, response_url=""))

    async def _update(self, origin: Origin, message: SlackMessage) -> None:
        """chat.update for everyone; the click's response_url when the bot may not edit there."""
        try:
            await self.client.chat_update(channel=origin.channel, ts=origin.message_ts, **message.as_kwargs())
        except SlackApiError as exc:
            if not origin.response_url:
                raise
            log.info("chat.update failed (%s); replacing via response_url", error_code(exc))
            await self._respond(origin.response_url, message, replace_original=True)

    # ----- private answers -----
    async def _private(self, result: Result, origin: Origin) -> None:
        """The answer to this learner alone; its pictures in their DM with the bot."""
        notes = []
        if result.images:
            problem = await self._to_dm(origin, result.images)
            alts = " ".join(clean_text(i.alt).text for i in result.images)
            where = f"I couldn't send you the picture privately ({problem})." if problem else \
                "The picture is in your direct messages with me."
            notes.append(render_note(f"{where} It shows: {alts}"))
        code_note = None
        if not code_fits(result):
            problem = await self._code_to_dm(origin, result)
            if problem:
                notes.append(render_note(f"It is too long for one message and I couldn't send it to you as "
                                         f"{result.code_file} privately ({problem}), so it is cut below."))
            else:
                code_note = _attached(result, " in your direct messages with me")
        message = render_result(result, actions=action_blocks(result.actions, origin.user), extra=notes,
                                code_note=code_note)
        await self._ephemeral(origin, message)

    async def _code_to_dm(self, origin: Origin, result: Result) -> str | None:
        """Upload the code as a file to the learner's DM with the bot; what went wrong, or None."""
        channel = origin.channel if _bot_dm(origin) else await self.dm_channel(origin.user)
        if channel is None:
            return "no direct message channel"
        return await upload_text(self.client, result.code, result.code_file, channel, None)

    async def _upload_code(self, origin: Origin, result: Result, channel: str, thread_ts: str | None) -> None:
        problem = await upload_text(self.client, result.code, result.code_file, channel, thread_ts)
        if problem:
            await self.note(origin, f"The answer is above, but I couldn't attach {result.code_file} ({problem}). "
                                    "Please try again in a moment.")

    async def _to_dm(self, origin: Origin, images: tuple[Image, ...]) -> str | None:
        """Upload pictures to the learner's DM with the bot; what went wrong, or None."""
        if not images:
            return None
        channel = origin.channel if _bot_dm(origin) else await self.dm_channel(origin.user)
        if channel is None:
            return "no direct message channel"
        return await upload_images(self.client, images, channel, None)

    async def dm_channel(self, user: str) -> str | None:
        """The learner's DM with the bot (conversations.open, remembered); None when Slack says no."""
        if user not in self._dms:
            try:
                response = await self.client.conversations_open(users=user)
            except SlackApiError as exc:
                log.warning("could not open a DM for a private picture: %s", error_code(exc))
                return None
            channel = response.get("channel")
            if not isinstance(channel, dict) or not _string(channel.get("id")):
                return None
            if len(self._dms) >= DM_CACHE:
                self._dms.pop(next(iter(self._dms)))
            self._dms[user] = _string(channel["id"]) or ""
        return self._dms[user]

    async def _ephemeral(self, origin: Origin, message: SlackMessage) -> None:
        """To one learner: the response_url when there is one (it works in any channel), else chat.postEphemeral."""
        if origin.response_url:
            await self._respond(origin.response_url, message, response_type="ephemeral")
            return
        try:
            await self.client.chat_postEphemeral(channel=origin.channel, user=origin.user,
                                                 thread_ts=origin.thread_ts, **message.as_kwargs())
        except SlackApiError as exc:
            log.warning("could not send an ephemeral message: %s", error_code(exc))

    async def _respond(self, url: str, message: SlackMessage, *, response_type: str | None = None,
                       replace_original: bool = False) -> None:
        """Post through a response_url; a refusal (used up, expired) or no answer is logged, not raised."""
        webhook = AsyncWebhookClient(url, retry_handlers=self.retry_handlers)
        extra = {"response_type": response_type} if response_type else {}
        try:
            response = await webhook.send(replace_original=replace_original, **extra, **message.as_kwargs())
        except (ClientError, OSError, TimeoutError, ValueError) as exc:  # ValueError: not a URL at all
            log.warning("could not reach the response_url: %s", type(exc).__name__)
            return
        if response.status_code != 200:
            log.warning("response_url answered %s: %s", response.status_code, str(response.body)[:200])

    async def _upload(self, origin: Origin, images: tuple[Image, ...], channel: str, thread_ts: str | None) -> None:
        problem = await upload_images(self.client, images, channel, thread_ts)
        if problem:
            await self.note(origin, _upload_problem(problem))


async def upload_images(client: AsyncWebClient, images: tuple[Image, ...], channel: str,
                        thread_ts: str | None) -> str | None:
    """Upload pictures (files.upload v2); Slack's reason when it failed, or None."""
    if not images:
        return None
    uploads = [{"file": i.png, "filename": clean_text(i.filename).text, "title": clean_text(i.alt).text[:TITLE_LIMIT],
                "alt_txt": clean_text(i.alt).text[:ALT_LIMIT]} for i in images]
    try:
        await client.files_upload_v2(file_uploads=uploads, channel=channel, thread_ts=thread_ts)
    except SlackApiError as exc:
        log.warning("image upload failed: %s", error_code(exc))
        return error_code(exc)
    except (TimeoutError, SlackClientError, OSError) as exc:
        log.warning("image upload failed: %s", type(exc).__name__)
        return "upload_failed"
    return None


async def upload_text(client: AsyncWebClient, text: str, filename: str, channel: str,
                      thread_ts: str | None) -> str | None:
    """Upload text as a file (files.upload v2); Slack's reason when it failed, or None."""
    name = clean_text(filename).text
    try:
        await client.files_upload_v2(content=text, filename=name, title=name, channel=channel, thread_ts=thread_ts)
    except SlackApiError as exc:
        log.warning("file upload failed: %s", error_code(exc))
        return error_code(exc)
    except (TimeoutError, SlackClientError, OSError) as exc:
        log.warning("file upload failed: %s", type(exc).__name__)
        return "upload_failed"
    return None


def _attached(result: Result, where: str = " below") -> str:
    return f"It is too long for one message, so it is attached whole as {result.code_file}{where}."


def error_code(exc: SlackApiError) -> str:
    """Slack's `error` field; an HTTP error page (a 500) has none, so fall back to the status."""
    data = exc.response.data
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"http_{exc.response.status_code}"


def _upload_problem(reason: str) -> str:
    hint = {
        "not_in_channel": " Invite me with `/invite @Tutor`, or ask me in a DM.",
        "channel_not_found": " Invite me with `/invite @Tutor`, or ask me in a DM.",
        "file_uploads_disabled": " File uploads are disabled in this workspace.",
    }.get(reason, " Please try again in a moment.")
    return f"The answer is above, but I couldn't attach the picture ({reason}).{hint}"


def _bot_dm(origin: Origin) -> bool:
    """A DM event reached the bot: the conversation is the learner's with the bot, private already.
    (A slash command's DM may be one between two people, where only ephemeral messages are private.)"""
    return origin.via == "thread" and origin.direct


def _string(value: Any) -> str | None:
    return clean_text(value).text if isinstance(value, str) and value else None
