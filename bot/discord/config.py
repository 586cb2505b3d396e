"""The Discord adapter's settings: its environment variables, their format checks, and sharding.

The adapter owns these (the core holds no platform token). They live apart from `bot.discord.app`, so
that `tutor doctor`, log redaction and the console read them without importing discord.py (which cost
about 0.3-0.6 s of every `tutor ask`).
"""
from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.adapter import Variable
from core.settings import ConfigError

MISSING_TOKEN = (
    "DISCORD_TOKEN is not set. Put the bot token from the Discord developer portal in the "
    "environment or in .env (see docs/discord.md)."
)
BAD_TOKEN = (
    "Discord rejected DISCORD_TOKEN (invalid or reset token). Copy a fresh token from the "
    "developer portal (Bot > Reset Token) into DISCORD_TOKEN; see docs/discord.md."
)
MAX_SHARDS = 10_000
_SHARD_LIST = re.compile(r"\d+(-\d+)?(,\d+(-\d+)?)*")


# ----- settings: each variable's format, then how they fit together -----
def token_problem(token: str) -> str | None:
    """Discord bot tokens: three base64url parts joined by dots, the first the bot's numeric id."""
    parts = token.split(".")
    if len(parts) != 3 or not all(re.fullmatch(r"[A-Za-z0-9_-]{4,}", p) for p in parts):
        return "expected three base64url parts separated by dots (Bot > Reset Token in the developer portal)"
    try:
        first = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        first = ""
    return None if first.isdigit() else "the first part should encode the bot's numeric id; is this a bot token?"


def guild_problem(value: str) -> str | None:
    """A snowflake: a positive 64-bit number (what Discord's API accepts as a guild id)."""
    ok = value.isascii() and value.isdigit() and 1 <= int(value) < 2**64
    return None if ok else "expected the server's numeric id (Copy Server ID), a number from 1 to 2^64 - 1"


def count_problem(value: str) -> str | None:
    ok = value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_SHARDS
    return None if ok else f"expected a whole number of shards from 1 to {MAX_SHARDS}"


def ids_problem(value: str) -> str | None:
    compact = value.replace(" ", "")
    if not value.isascii() or not _SHARD_LIST.fullmatch(compact):
        return "expected shard numbers such as `0,1` or `0-3`"
    return None if parse_shard_ids(compact) else "a range such as `3-1` runs backwards"


def parse_shard_ids(value: str) -> tuple[int, ...]:
    """`0,2-4` -> (0, 2, 3, 4): sorted, each once; empty for a backwards range."""
    ids: set[int] = set()
    for part in value.replace(" ", "").split(","):
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if last < first:
            return ()
        ids.update(range(first, min(last, MAX_SHARDS) + 1))
    return tuple(sorted(ids))


VARIABLES = (
    Variable("DISCORD_TOKEN", "The bot token (developer portal: Bot > Reset Token).", secret=True,
             check=token_problem),
    Variable("DISCORD_GUILD_ID", "A server id to publish the slash commands to at once; empty: global.",
             check=guild_problem),
    Variable("DISCORD_SHARD_COUNT", "How many shards (gateway connections) the bot's servers are split over.",
             check=count_problem),
    Variable("DISCORD_SHARD_IDS", "Which of those shards this process runs (`0,1` or `0-3`); empty: all of them.",
             check=ids_problem),
)


@dataclass(frozen=True)
class Sharding:
    count: int
    ids: tuple[int, ...] | None
    """None: every shard in this process."""

    @property
    def publishes(self) -> bool:
        """Only the process that runs shard 0 uploads the command list (one upload, not one per process)."""
        return self.ids is None or 0 in self.ids

    def describe(self) -> str:
        shown = ",".join(map(str, self.ids)) if self.ids is not None else f"0-{self.count - 1}"
        return f"shards {shown} of {self.count}"


@dataclass(frozen=True)
class DiscordConfig:
    token: str
    guild_id: int | None
    sharding: Sharding | None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DiscordConfig:
        """The settings, checked; `ConfigError` names the first problem."""
        value = {v.env: env.get(v.env, "").strip() for v in VARIABLES}
        for variable in VARIABLES[1:]:
            problem = variable.check(value[variable.env]) if value[variable.env] and variable.check else None
            if problem:
                raise ConfigError(f"{variable.env}: {problem}.")
        guild = value["DISCORD_GUILD_ID"]
        return cls(value["DISCORD_TOKEN"], int(guild) if guild else None,
                   _sharding(value["DISCORD_SHARD_COUNT"], value["DISCORD_SHARD_IDS"]))


def _sharding(count: str, ids: str) -> Sharding | None:
    if not count:
        if ids:
            raise ConfigError("DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT: how many shards there are in all.")
        return None
    total = int(count)
    chosen = parse_shard_ids(ids) if ids else None
    if chosen and chosen[-1] >= total:
        raise ConfigError(f"DISCORD_SHARD_IDS names shard {chosen[-1]}, but DISCORD_SHARD_COUNT={total} "
                          f"numbers them 0 to {total - 1}.")
    return Sharding(total, chosen)
