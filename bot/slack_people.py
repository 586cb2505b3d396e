"""Whether a Slack user is a workspace admin or owner, for the personal commands that ask.

No Slack payload says so (slash commands, events and clicks carry only the user id), so this costs a
`users.info` call (scope `users:read`). It is made only for commands that receive the caller
(`Command.personal`, e.g. turning the study-group board on), and cached for a few minutes. Without
the scope, when Slack refuses, or when anything else goes wrong (a proxy's error page instead of JSON,
which slack_sdk fails to read with an AttributeError; a dropped connection; a time-out), the answer is
"not an admin" (one warning in the log): nobody gains rights by a failure, and the command is answered.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from core.actions import decode
from core.errors import UserError
from core.registry import Registry

log = logging.getLogger("tutor.slack")
TTL_S = 300.0
CAPACITY = 4096


class Admins:
    def __init__(self, client: AsyncWebClient, registry: Registry, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.registry = registry
        self._clock = clock
        self._known: dict[str, tuple[float, bool]] = {}
        self._warned = False

    async def check(self, user: str, *, command: str | None = None, line: str | None = None,
                    action: str | None = None) -> bool:
        """True when `user` is an admin or owner and the command asked for needs to know."""
        if not self._personal(_name(command, line, action)):
            return False
        now = self._clock()
        cached = self._known.get(user)
        if cached is not None and now - cached[0] < TTL_S:
            return cached[1]
        admin = await self._lookup(user)
        if len(self._known) >= CAPACITY:
            self._known.pop(next(iter(self._known)))
        self._known[user] = (now, admin)
        return admin

    def _personal(self, name: str | None) -> bool:
        try:
            return bool(name) and self.registry.get(name or "").personal
        except UserError:
            return False

    async def _lookup(self, user: str) -> bool:
        try:
            response = await self.client.users_info(user=user)
            profile = response.get("user")
        except Exception as exc:  # noqa: BLE001 - logged once below; any failure means "not an admin"
            self._failed(exc)
            return False
        if not isinstance(profile, dict):
            return False
        return any(profile.get(flag) is True for flag in ("is_admin", "is_owner", "is_primary_owner"))

    def _failed(self, exc: Exception) -> None:
        if self._warned:
            return
        self._warned = True
        if isinstance(exc, SlackApiError):
            data = exc.response.data
            why = str(data.get("error")) if isinstance(data, dict) and data.get("error") else \
                f"http_{exc.response.status_code}"
        else:
            why = type(exc).__name__
        log.warning("users.info failed (%s): Slack learners count as non-admins; add the users:read scope from "
                    "`tutor slack manifest`, or check what answers for Slack's API", why)


def _name(command: str | None, line: str | None, action: str | None) -> str | None:
    """The command a request names, cheaply: no parsing of its options."""
    if command:
        return command
    if line:
        return line.strip().split(" ", 1)[0] or None
    if action:
        try:
            return decode(action)[0]
        except UserError:
            return None
    return None
