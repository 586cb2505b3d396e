"""TEMPORARY: today's Discord and Slack adapters behind the `Adapter` protocol, until they are rebuilt on
the policy (issue 11). Removed when bot/discord_app.py and bot/slack_app.py define the classes."""
from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Mapping

from bot.adapter import Adapter, Variable
from core.policy import Policy
from core.settings import ConfigError


def discord_token_problem(token: str) -> str | None:
    """Discord bot tokens: three base64url parts joined by dots, the first the bot's numeric id."""
    parts = token.split(".")
    if len(parts) != 3 or not all(re.fullmatch(r"[A-Za-z0-9_-]{4,}", p) for p in parts):
        return "expected three base64url parts separated by dots (Bot > Reset Token in the developer portal)"
    try:
        first = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        first = ""
    return None if first.isdigit() else "the first part should encode the bot's numeric id; is this a bot token?"


class DiscordAdapter(Adapter):
    name = "discord"
    title = "Discord"
    network = "outbound HTTPS to discord.com and gateway.discord.gg"
    variables = (
        Variable("DISCORD_TOKEN", "The bot token (Bot > Reset Token in the developer portal)", secret=True,
                 check=discord_token_problem),
        Variable("DISCORD_GUILD_ID", "A server id to sync commands to instantly; empty = global commands"),
    )

    def __init__(self, policy: Policy, env: Mapping[str, str]) -> None:
        from bot.discord_app import build_bot

        super().__init__(policy, env)
        guild = env.get("DISCORD_GUILD_ID", "").strip()
        self.settings = dataclasses.replace(policy.engine.settings, discord_token=env.get("DISCORD_TOKEN", "").strip(),
                                            discord_guild_id=int(guild) if guild else None)
        self.bot = build_bot(policy.engine, self.settings)

    @classmethod
    def check(cls, env: Mapping[str, str]) -> None:
        guild = env.get("DISCORD_GUILD_ID", "").strip()
        if guild and not (guild.isdigit() and int(guild) >= 1):
            raise ConfigError(f"DISCORD_GUILD_ID must be a server id (a whole number); got `{guild[:40]}`.")

    async def serve(self) -> None:
        from bot.discord_app import serve

        await serve(self.policy.engine, self.settings, self.bot)

    async def stop(self) -> None:
        await self.bot.close()


SLACK_FORMATS = {
    "SLACK_BOT_TOKEN": lambda t: None if re.fullmatch(r"xoxb-[A-Za-z0-9-]{10,}", t) else "expected xoxb-…",
    "SLACK_APP_TOKEN": lambda t: None if re.fullmatch(r"xapp-[A-Za-z0-9-]{10,}", t) else "expected xapp-…",
    "SLACK_SIGNING_SECRET": lambda t: None if re.fullmatch(r"[0-9a-f]{32}", t) else "expected 32 hex characters",
}


def _slack_http(env: Mapping[str, str]) -> bool:
    mode = env.get("SLACK_MODE", "").strip() or "auto"
    return mode == "http" or (mode == "auto" and not env.get("SLACK_APP_TOKEN", "").strip()
                              and bool(env.get("SLACK_SIGNING_SECRET", "").strip()))


class SlackAdapter(Adapter):
    name = "slack"
    title = "Slack"
    network = "outbound HTTPS to slack.com (Socket Mode also wss-primary.slack.com), or SLACK_API_URL"
    variables = (
        Variable("SLACK_BOT_TOKEN", "Bot token (xoxb-...)", secret=True, check=SLACK_FORMATS["SLACK_BOT_TOKEN"]),
        Variable("SLACK_APP_TOKEN", "App-level token (xapp-...): Socket Mode", secret=True,
                 check=SLACK_FORMATS["SLACK_APP_TOKEN"]),
        Variable("SLACK_SIGNING_SECRET", "Verifies HTTP requests from Slack", secret=True,
                 check=SLACK_FORMATS["SLACK_SIGNING_SECRET"]),
        Variable("SLACK_API_URL", "Web API base URL (tests point it at a fake)"),
        Variable("SLACK_MODE", "auto, socket or http"),
        Variable("SLACK_PORT", "The Events API's port in HTTP mode"),
        Variable("SLACK_HOST", "The Events API's address in HTTP mode"),
    )

    def __init__(self, policy: Policy, env: Mapping[str, str]) -> None:
        super().__init__(policy, env)
        port = env.get("SLACK_PORT", "").strip()
        self.http = _slack_http(env)
        self.settings = dataclasses.replace(
            policy.engine.settings, slack_bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
            slack_app_token=env.get("SLACK_APP_TOKEN", "").strip(),
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip(),
            slack_api_url=env.get("SLACK_API_URL", "").strip(), slack_port=int(port) if port else 3000,
            slack_host=env.get("SLACK_HOST", "").strip() or "127.0.0.1")

    @classmethod
    def check(cls, env: Mapping[str, str]) -> None:
        from bot.slack_app import check_settings

        mode = env.get("SLACK_MODE", "").strip() or "auto"
        if mode not in ("auto", "socket", "http"):
            raise ConfigError(f"SLACK_MODE must be one of auto, socket, http; got `{mode[:40]}`.")
        probe = _probe_settings(env)
        try:
            check_settings(probe, http=_slack_http(env))
        except ConfigError as exc:
            raise ConfigError(f"{exc} (`tutor run` picks HTTP when only SLACK_SIGNING_SECRET is set, "
                              "or set SLACK_MODE=http; SLACK_PORT is its port.)") from None

    @classmethod
    def addresses(cls, env: Mapping[str, str]) -> list[tuple[str, int, str]]:
        if not _slack_http(env):
            return []
        port = int(env.get("SLACK_PORT", "").strip() or 3000)
        return [(env.get("SLACK_HOST", "").strip() or "127.0.0.1", port, f"SLACK_PORT {port} (Slack's Events API)")]

    @classmethod
    def summary(cls, env: Mapping[str, str]) -> str:
        return f"slack ({'HTTP Events API' if _slack_http(env) else 'Socket Mode'})"

    async def serve(self) -> None:
        from bot.slack_app import serve_slack

        await serve_slack(self.policy.engine, self.settings, http=self.http)

    async def stop(self) -> None:
        """Socket Mode and the HTTP listener end when their task is cancelled (the runner does)."""


def _probe_settings(env: Mapping[str, str]):
    from core.settings import Settings

    return dataclasses.replace(Settings(), slack_bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
                               slack_app_token=env.get("SLACK_APP_TOKEN", "").strip(),
                               slack_signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip())
