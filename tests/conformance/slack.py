"""The conformance driver for Slack: the real adapter and slack-bolt against tests/support/fake_slack.py.

`ask` sends a slash command over the fake's Socket Mode; `choose` clicks a button or a select
option. What a learner saw is read back from the Web API calls the bot made: channel messages,
ephemerals for that learner (chat.postEphemeral or a response_url), edits (chat.update), and the
files shared in the channel or in their DM with the bot. Slack's own limits are checked on every
message on the way (3,000 characters a section, 50 blocks, 25 elements an actions block, the
lengths of ids, values and button texts), and `pings` says whether anything posted holds a raw
Slack mention (`<!channel>`, `<!here>`, `<@U...>`), which would notify someone.
"""
from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from bot.slack.app import SlackAdapter
from bot.slack.render import BLOCK_LIMIT, SECTION_LIMIT, unescape
from core.policy import Policy
from tests.conformance.scenarios import Seen
from tests.support.fake_slack import Call, FakeSlack, running, slack_env

CHANNEL = "C1"
MENTION = re.compile(r"<[!@]")
"""What Slack turns into a notification in mrkdwn or a message's text: `<!channel>`, `<@U123>`..."""


class SlackDriver:
    name = "slack"
    limit = SECTION_LIMIT
    shared = True
    replaces = True
    restarts = True

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.adapter: SlackAdapter
        self.serving = AsyncExitStack()

    async def start(self, policy: Policy) -> None:
        """The adapter serving `policy` over the fake's Socket Mode."""
        self.adapter = SlackAdapter(policy, slack_env(self.fake))
        await self.serving.enter_async_context(running(self.adapter, self.fake))

    async def stop(self) -> None:
        await self.serving.aclose()

    async def restart(self, policy: Policy) -> None:
        await self.stop()
        await self.start(policy)

    async def ask(self, user: str, line: str, *, admin: bool = False) -> Seen:
        """`admin`: `users.info` says the learner is a workspace admin (Slack carries no such flag itself)."""
        if admin:
            self.fake.admins.add(user)
        command, _, text = line.partition(" ")
        mark = len(self.fake.calls)
        await self.fake.wait_ack(await self.fake.slash(command, text, user=user, channel=CHANNEL))
        await self.adapter.idle()
        return self.seen(user, mark)

    async def choose(self, user: str, seen: Seen, label: str) -> Seen:
        chosen = seen.actions[label]
        ts = next(ts for ts, m in reversed(self.fake.posted.items())
                  if m.user in (None, user) and chosen in ids_of(m.blocks))
        mark = len(self.fake.calls)
        await self.fake.wait_ack(await self.fake.click(ts, label, user=user))
        await self.adapter.idle()
        return self.seen(user, mark, on=ts)

    async def fill(self, user: str, seen: Seen, label: str, text: str) -> Seen:
        """Click the button, then submit the modal the bot opened (`views.open`) with `text` typed in."""
        chosen = seen.actions[label]
        ts = next(ts for ts, m in reversed(self.fake.posted.items())
                  if m.user in (None, user) and chosen in ids_of(m.blocks))
        views = set(self.fake.views)
        await self.fake.wait_ack(await self.fake.click(ts, label, user=user))
        await self.adapter.idle()
        opened = [view_id for view_id in self.fake.views if view_id not in views]
        assert len(opened) == 1, "the bot opened no modal for an action that asks for a text"
        mark = len(self.fake.calls)
        await self.fake.wait_ack(await self.fake.submit(opened[0], text, user=user))
        await self.adapter.idle()
        return self.seen(user, mark, on=ts)

    async def after(self, user: str, seconds: float) -> Seen:
        mark = len(self.fake.calls)
        assert self.adapter.listeners is not None
        await asyncio.gather(*self.adapter.listeners.timers.skip(seconds))
        await self.adapter.idle()
        return self.seen(user, mark)

    def seen(self, user: str, mark: int, on: str | None = None) -> Seen:
        """What `user` saw of the calls since `mark`, each message checked against Slack's limits; `on`: the
        message (its ts) whose action was chosen, `replaced` when a call changed it."""
        seen, private = Seen(), []
        for call in self.fake.calls[mark:]:
            shown = self._shown(call, user)
            if shown is not None:
                seen.replaced = seen.replaced or (on is not None and self._changes(call) == on)
                check_limits(call.params)
                seen.texts.extend(texts_of(call.params))
                seen.actions.update(actions_of(call.params.get("blocks") or []))
                seen.pings = seen.pings or bool(MENTION.search(json.dumps(call.params, ensure_ascii=False)))
                private.append(shown)
            if call.method == "files.completeUploadExternal" and call.params.get("channel_id") in (CHANNEL, f"D{user}"):
                for shared in call.params["files"]:
                    file = self.fake.files[shared["id"]]
                    if not file.filename.lower().endswith(".png"):
                        seen.files[file.filename] = self.fake.uploads[shared["id"]]
                        continue
                    seen.images.append(self.fake.uploads[shared["id"]])
                    seen.alts.append(file.alt)
        seen.private = bool(private) and all(private)
        return seen

    def _changes(self, call: Call) -> str | None:
        """The ts of the message a call changes in place (chat.update, a response_url replacing the original)."""
        if call.method == "chat.update":
            return str(call.params.get("ts"))
        if call.method == "response_url" and call.params.get("replace_original"):
            return self.fake.targets[call.path.rsplit("/", 1)[-1]].ts
        return None

    def _shown(self, call: Call, user: str) -> bool | None:
        """None when `user` did not see this call's message; else whether it was shown to them alone."""
        if call.method in ("chat.postMessage", "chat.update"):
            return False
        if call.method == "chat.postEphemeral":
            return True if call.params.get("user") == user else None
        if call.method != "response_url":
            return None
        target = self.fake.targets[call.path.rsplit("/", 1)[-1]]
        if call.params.get("response_type") == "in_channel":
            return False
        if call.params.get("replace_original") and target.ts and not self.fake.posted[target.ts].ephemeral:
            return False
        return True if target.user == user else None


def texts_of(params: dict[str, Any]) -> list[str]:
    """The visible text of a message, one entry per block (or its `text` when it has no blocks), unescaped."""
    blocks = params.get("blocks") or []
    if not blocks:
        return [unescape(str(params.get("text") or ""))]
    out = []
    for block in blocks:
        if block["type"] == "section":
            out.append(unescape(block["text"]["text"]))
        elif block["type"] == "context":
            out.extend(unescape(e["text"]) for e in block["elements"])
    return out


def actions_of(blocks: list[dict[str, Any]]) -> dict[str, str]:
    """Label -> the id Slack carries back: a button's action_id, a select option's value."""
    found = {}
    for block in blocks:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if element["type"] == "button":
                found[element["text"]["text"]] = element["action_id"]
            for option in element.get("options", []):
                found[option["text"]["text"]] = option["value"]
    return found


def ids_of(blocks: list[dict[str, Any]]) -> set[str]:
    return set(actions_of(blocks).values())


def check_limits(params: dict[str, Any]) -> None:
    """Slack refuses a message that breaks any of these (docs.slack.dev, Block Kit reference)."""
    blocks = params.get("blocks") or []
    assert len(blocks) <= BLOCK_LIMIT, f"{len(blocks)} blocks"
    assert len(str(params.get("text") or "")) <= 40_000
    for block in blocks:
        assert len(block.get("block_id", "")) <= 255
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= SECTION_LIMIT, len(block["text"]["text"])
        if block["type"] == "actions":
            assert 0 < len(block["elements"]) <= 25
            for element in block["elements"]:
                assert len(element["action_id"]) <= 255 and len(element.get("value", "")) <= 2000
                assert 0 < len(element.get("text", {"text": "x"})["text"]) <= 75
                for option in element.get("options", []):
                    assert len(option["value"]) <= 150 and 0 < len(option["text"]["text"]) <= 75


@asynccontextmanager
async def slack_driver(policy: Policy) -> AsyncIterator[SlackDriver]:
    fake = await FakeSlack().start()
    driver = SlackDriver(fake)
    try:
        await driver.start(policy)
        try:
            yield driver
        finally:
            await driver.stop()
    finally:
        await fake.stop()
