"""bolt's listeners: each Slack event becomes a `core.policy.Request`, and its `Outcome` is delivered.

Slash commands, mentions and DMs carry the text grammar (`line`); a click carries the action id
its button or select option holds; a modal's submission carries the id and the typed text. Every
listener acknowledges first (Slack's 3 s), then asks the policy, which de-duplicates Slack's
retries, validates, spends the cooldown and runs the engine.

Payload fields are read defensively: ids are cleaned (a JSON `"\\ud800"` escape is legal, and such an
id cannot be encoded into a reply), and a payload without them is ignored in one log line. The
learner's text goes to the core as they saw it (`render.as_seen`: Slack's link, channel and mention
syntax read back, entities undone), otherwise as it came: the core cleans it and says so.

A click runs only an action its message offers (a button's `action_id`, one of its select's options),
where Slack sends the message; the policy then checks the action's seal for this conversation.
A request is `direct` (the learner alone with the bot, so their own quiz and lesson answer in the
open) only in the learner's DM with the bot: a DM between two people or a group DM, which Slack's
slash commands name `directmessage` too, answers privately, as a channel does.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.blocks import ASK_CALLBACK, MENU_ID, AskSpec, ask_of, modal, owner_of, submitted_text
from bot.slack.deliver import Courier, Origin, Posted, error_code
from bot.slack.people import Admins
from bot.slack.render import ECHO_BLOCK, Echo, as_seen
from bot.timers import InFlight, Timers
from core.policy import FOREIGN, Policy, Request
from core.text import clean_text

log = logging.getLogger("tutor.slack")
METADATA_LIMIT = 3000


class Listeners:
    def __init__(self, policy: Policy, courier: Courier, admins: Admins) -> None:
        self.policy = policy
        self.courier = courier
        self.admins = admins
        self.timers = Timers()
        self.inflight = InFlight()

    def register(self, app: AsyncApp) -> None:
        # Every slash command, known or not: one the manifest still lists after the registry dropped
        # it gets the core's "no command /x, did you mean" instead of Slack's "dispatch_failed".
        app.command(re.compile(r"^/"))(self.on_command)
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)
        app.action(re.compile(r"^tt1:"))(self.on_action)
        app.view(ASK_CALLBACK)(self.on_view)
        app.error(on_bolt_error)

    # ----- typed -----
    async def on_command(self, ack: Any, command: dict[str, Any]) -> None:
        """A slash command: acknowledged at once, then answered in the channel, once per request."""
        with self.inflight.hold():
            await ack()
            ids = clean_ids(command, "command", "channel_id", "user_id")
            if ids is None:
                log.warning("ignored a slash command without command, channel_id or user_id")
                return
            name, channel, user = ids
            line = f"/{name.lstrip('/')} {as_seen(_text(command.get('text')))}".strip()
            direct = command.get("channel_name") == "directmessage" and await self._with_bot(user, channel)
            origin = Origin(_clean(command.get("team_id")), user, channel, "slash",
                            response_url=_clean(command.get("response_url")),
                            echo=Echo(line, _clean(command.get("user_name"))), direct=direct)
            await self.answer(self._request(origin, slash_key(command), line=line), origin)

    async def on_mention(self, body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        """`@Tutor sentiment I love it` in a channel: answered in the mention's thread."""
        with self.inflight.hold():
            ids = clean_ids(event, "user", "channel", "ts")
            if ids is None or _from_a_bot(event):
                return
            user, channel, ts = ids
            origin = Origin(_team(body), user, channel, "thread", thread_ts=_clean(event.get("thread_ts")) or ts,
                            direct=event.get("channel_type") == "im")
            await self._typed(origin, ts, _line_from(_text(event.get("text")), context.bot_user_id))

    async def on_message(self, body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        """A direct message: the same grammar, answered in the DM (or its thread)."""
        if event.get("channel_type") != "im" or _from_a_bot(event) or event.get("user") == context.bot_user_id:
            return
        with self.inflight.hold():
            ids = clean_ids(event, "user", "channel", "ts")
            if ids is None:
                return
            user, channel, ts = ids
            origin = Origin(_team(body), user, channel, "thread", thread_ts=_clean(event.get("thread_ts")) or None,
                            direct=True)
            await self._typed(origin, ts, _line_from(_text(event.get("text")), context.bot_user_id))

    async def _typed(self, origin: Origin, ts: str, line: str) -> None:
        # Keyed on the message, not the event id: a DM that mentions the bot arrives as two events.
        await self.answer(self._request(origin, f"msg:{origin.channel}:{ts}", line=line), origin)

    # ----- clicks and modals -----
    async def on_action(self, ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        """A button or select: acknowledged at once; an `Ask` opens its modal, anything else runs."""
        with self.inflight.hold():
            await ack()
            clicked = read_click(body, action)
            if clicked is None:
                log.warning("ignored a click without user, channel or action id")
                return
            origin, chosen, trigger = clicked
            if not offered(body, chosen):
                log.warning("ignored a click on an action its message does not offer")
                await self.courier.note(origin, FOREIGN)
                return
            if origin.direct:
                origin = dataclasses.replace(origin, direct=await self._with_bot(origin.user, origin.channel))
            ask = ask_of(action.get("value"))
            if ask is not None:
                await self._open(client, origin, chosen, ask, trigger)
                return
            await self.answer(self._request(origin, trigger or _digest(body), action=chosen), origin)

    async def _open(self, client: AsyncWebClient, origin: Origin, chosen: str, ask: AskSpec, trigger: str) -> None:
        try:
            await client.views_open(trigger_id=trigger, view=modal(ask, _metadata(origin, chosen, ask.option)))
        except Exception as exc:  # noqa: BLE001 - SlackApiError, or a connection failure: tell the learner
            reason = error_code(exc) if hasattr(exc, "response") else type(exc).__name__
            log.warning("views.open failed: %s", reason)
            await self.courier.note(origin, f"I couldn't open the form ({reason}). Please click again.")

    async def on_view(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        """A modal's submission: closes it at once, then runs the action with the typed text."""
        with self.inflight.hold():
            await ack()
            user = body.get("user") if isinstance(body.get("user"), dict) else {}
            meta = _read_metadata(view.get("private_metadata"))
            text = submitted_text(view)
            if meta is None or text is None or not isinstance(user.get("id"), str):
                log.warning("ignored a modal submission of an unknown shape")
                return
            origin, chosen, option = meta
            origin = Origin(origin.team, _clean(user["id"]), origin.channel, "click", origin.thread_ts,
                            origin.response_url, origin.echo, origin.message_ts, origin.ephemeral, origin.owner,
                            origin.direct)
            request_id = f"view:{_clean(view.get('id'))}" if view.get("id") else _digest(body)
            await self.answer(self._request(origin, request_id, action=chosen, args={option: text}), origin)

    async def _with_bot(self, user: str, channel: str) -> bool:
        """Is `channel` this learner's DM with the bot (not a DM between people, not a group DM)?"""
        return channel.startswith("D") and channel == await self.courier.dm_channel(user)

    # ----- the policy, the delivery, the timer -----
    def _request(self, origin: Origin, request_id: str, **what: Any) -> Request:
        return Request("slack", origin.key, request_id=request_id, place=origin.channel, group=origin.team,
                       direct=origin.direct, **what)

    async def answer(self, request: Request, origin: Origin) -> None:
        """Policy, delivery, and the answer's timer; never raises (a listener's failure only reaches logs)."""
        try:
            admin = await self.admins.check(origin.user, line=request.line, action=request.action)
            request = dataclasses.replace(request, admin=admin)
            outcome = await self.policy.handle(request)
            posted = await self.courier.deliver(outcome, origin)
            if posted is not None and outcome.result is not None:
                self._time(posted, outcome.result.timer)
        except Exception:  # Slack-side failures: logged, the bot stays up
            log.exception("could not answer on Slack: command=%s", _command_of(request))

    def _time(self, posted: Posted, timer: Any) -> None:
        at = posted.origin
        key = (at.channel, at.message_ts or "")
        self.timers.cancel(key)  # the message was replaced: its old timer belonged to the old content
        if timer is None:
            return

        async def fire() -> None:
            with self.inflight.hold():
                request_id = f"timer:{at.channel}:{at.message_ts}:{timer.action_id}"
                await self.answer(self._request(at, request_id, action=timer.action_id), at)

        self.timers.schedule(key, timer.seconds, fire)


def read_click(body: Any, action: Any) -> tuple[Origin, str, str] | None:
    """Who clicked what, on which message: the origin, the chosen action id and the trigger id."""
    if not isinstance(body, dict) or not isinstance(action, dict):
        return None
    user, container, message = _dict(body.get("user")), _dict(body.get("container")), _dict(body.get("message"))
    channel = _dict(body.get("channel"))
    chosen = _dict(action.get("selected_option")).get("value") if action.get("action_id") == MENU_ID \
        else action.get("action_id")
    ids = [_clean(v) for v in (user.get("id"), channel.get("id") or container.get("channel_id"), chosen)]
    if not all(ids):
        return None
    ephemeral = container.get("is_ephemeral") is True
    echo = next((b for b in message.get("blocks") or [] if isinstance(b, dict) and b.get("block_id") == ECHO_BLOCK),
                None)
    origin = Origin(_clean(_dict(body.get("team")).get("id") or user.get("team_id")), ids[0], ids[1], "click",
                    thread_ts=_clean(message.get("thread_ts") or container.get("thread_ts")) or None,
                    response_url=_clean(body.get("response_url")), echo=echo,
                    message_ts=None if ephemeral else _clean(container.get("message_ts") or message.get("ts")) or None,
                    ephemeral=ephemeral, owner=owner_of(action.get("block_id")),
                    direct=channel.get("name") == "directmessage" or ids[1].startswith("D"))
    return origin, ids[2], _clean(body.get("trigger_id"))


def offered(body: Any, chosen: str) -> bool:
    """The chosen id is one its message offers; True when Slack sent no message (a click on an ephemeral
    message: the policy's seal check stands alone there)."""
    message = _dict(_dict(body).get("message"))
    blocks = message.get("blocks")
    if not isinstance(blocks, list):
        return True
    ids: set[Any] = set()
    for block in map(_dict, blocks):
        elements = block.get("elements") if block.get("type") == "actions" else None
        for element in map(_dict, elements if isinstance(elements, list) else []):
            options = element.get("options")
            ids.add(element.get("action_id"))
            ids.update(_dict(option).get("value") for option in (options if isinstance(options, list) else []))
    return chosen in {_clean(i) for i in ids if isinstance(i, str)}


def _metadata(origin: Origin, chosen: str, option: str) -> str:
    """What the modal's submission needs to answer like the click would have (at most 3000 characters)."""
    data = {"id": chosen, "opt": option, "team": origin.team, "ch": origin.channel, "th": origin.thread_ts,
            "url": origin.response_url, "ts": origin.message_ts, "eph": origin.ephemeral, "own": origin.owner,
            "dm": origin.direct, "echo": origin.echo}
    text = json.dumps(data)
    return text if len(text) <= METADATA_LIMIT else json.dumps({**data, "echo": None})


def _read_metadata(raw: Any) -> tuple[Origin, str, str] | None:
    try:
        data = json.loads(raw)
        origin = Origin(_clean(data["team"]), "", _clean(data["ch"]), "click", _clean(data.get("th")) or None,
                        _clean(data.get("url")), data.get("echo") if isinstance(data.get("echo"), dict) else None,
                        _clean(data.get("ts")) or None, data.get("eph") is True, _clean(data.get("own")),
                        data.get("dm") is True)
        return origin, _clean(data["id"]), _clean(data["opt"])
    except (TypeError, ValueError, KeyError):
        return None


async def on_bolt_error(error: Exception) -> BoltResponse:
    """bolt's handler for what its middleware could not read (a signed body of a shape Slack never sends).

    One line and a 400, instead of bolt's default: a traceback and a 500. Our listeners never
    raise (`answer` catches everything), so this sees bolt's own parsing only.
    """
    log.warning("bolt could not handle a Slack request: %s: %s", type(error).__name__, _clean(str(error))[:200],
                exc_info=log.isEnabledFor(logging.DEBUG))
    return BoltResponse(status=400, body="Bad request")


def slash_key(command: dict[str, Any]) -> str:
    """What makes two slash commands the same request: Slack's trigger_id, else the whole payload.

    Slack never retries a slash command, so a second copy is a replay (HTTP) or a redelivery
    (Socket Mode); each payload has its own response_url, so the hash tells real repeats apart.
    """
    trigger = command.get("trigger_id")
    if isinstance(trigger, str) and trigger:
        return "slash:" + _clean(trigger)
    return "slash:" + _digest(command)


def _digest(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, default=str)  # ASCII: a lone surrogate stays an escape
    return hashlib.sha256(canonical.encode()).hexdigest()


def clean_ids(payload: dict[str, Any], *names: str) -> tuple[str, ...] | None:
    """The named fields as non-empty clean strings, or None if one is missing or not a string."""
    values = [payload.get(name) for name in names]
    if not all(isinstance(v, str) and v for v in values):
        return None
    return tuple(_clean(v) for v in values)


def _clean(value: Any) -> str:
    """A string from a payload, safe to encode (lone surrogates become U+FFFD); "" if not a string."""
    return clean_text(value).text if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    """The learner's text, raw (the core cleans it and says so); "" if absent or not a string."""
    return value if isinstance(value, str) else ""


def _team(body: dict[str, Any]) -> str:
    team = body.get("team_id") or body.get("team") or ""
    return _clean(team)


def _command_of(request: Request) -> str:
    """The command word of a request, for a log line (never the learner's text)."""
    if request.action:
        parts = _clean(request.action).split(":")
        return parts[1][:40] if len(parts) > 2 else "action"
    return _clean(request.line or "").split(" ", 1)[0][:40] or "?"


def _from_a_bot(event: dict[str, Any]) -> bool:
    """Other bots (and edits, joins and other subtypes) are never answered: no bot loops."""
    return bool(event.get("bot_id") or event.get("subtype") or event.get("bot_profile"))


def _line_from(text: str, bot_user_id: str | None) -> str:
    """`<@UBOT> attention The cat` -> `attention The cat`: the bot's mention (and a leading one) removed,
    the rest as the learner saw it (`as_seen`: links, channels, mentions, entities)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", " ", text)
    text = re.sub(r"^\s*<@[A-Z0-9]+(\|[^>]*)?>", " ", text)
    return as_seen(text).strip()
