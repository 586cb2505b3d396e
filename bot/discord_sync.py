"""Publish the slash commands when the ones Discord has differ from ours.

At start the bot reads the commands Discord reports for this application (global, or one server's
with DISCORD_GUILD_ID: one GET), puts both lists in one normal form, and uploads ours (one PUT,
`CommandTree.sync`) on any difference: a command missing or extra, a changed description,
option, choice, autocomplete flag, context, install type or default permission. So a list
changed or deleted on Discord's side (another deployment of the same application, the developer
portal) is restored at the next start, and an unchanged one is not uploaded again, which
discord.py's examples/advanced_startup.py asks for (Discord rate-limits uploads and counts
command creations per day).

The normal form drops what Discord adds (ids, versions, the application and server ids, the
deprecated `dm_permission`, localised names it returns only on request) and fills the fields it
leaves out when they hold their default (`required: false`, no choices, no autocomplete). If the
GET fails, the bot uploads anyway and says so; if the upload fails, it serves with the list
Discord has and says so. Neither stops the bot.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import discord
from discord import app_commands

log = logging.getLogger("tutor.discord")

SAME_FIELDS = ("name", "type", "description", "options", "default_member_permissions", "nsfw", "contexts",
               "integration_types")
"""What defines a command, for the comparison."""
OPTION_LIMITS = ("min_value", "max_value", "min_length", "max_length")


def command_payload(tree: app_commands.CommandTree, guild: discord.abc.Snowflake | None) -> list[dict[str, Any]]:
    """The JSON that `tree.sync(guild=guild)` uploads (no translator is set, so it is `to_dict`)."""
    return [command.to_dict(tree) for command in tree.get_commands(guild=guild)]


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def normal_option(option: Mapping[str, Any]) -> dict[str, Any]:
    """One option (or subcommand) with Discord's defaults filled in and its additions dropped."""
    return {
        "type": option.get("type"),
        "name": option.get("name"),
        "description": option.get("description") or "",
        "required": bool(option.get("required")),
        "choices": [{"name": c.get("name"), "value": _number(c.get("value"))} for c in option.get("choices") or []],
        "autocomplete": bool(option.get("autocomplete")),
        **{key: _number(option.get(key)) for key in OPTION_LIMITS},
        "channel_types": sorted(option.get("channel_types") or []),
        "options": [normal_option(o) for o in option.get("options") or []],
    }


def normal_command(command: Mapping[str, Any]) -> dict[str, Any]:
    """A command as both sides describe it: ours as uploaded, Discord's as reported."""
    permissions = command.get("default_member_permissions")
    contexts, installs = command.get("contexts"), command.get("integration_types")
    return {
        "name": command.get("name"),
        "type": command.get("type") or 1,
        "description": command.get("description") or "",
        "options": [normal_option(o) for o in command.get("options") or []],
        "default_member_permissions": None if permissions is None else str(permissions),
        "nsfw": bool(command.get("nsfw")),
        "contexts": None if contexts is None else sorted(contexts),
        "integration_types": None if installs is None else sorted(installs),
    }


def differences(ours: Sequence[Mapping[str, Any]], theirs: Sequence[Mapping[str, Any]]) -> list[str]:
    """What differs, in words for the log (empty when Discord has exactly our commands)."""
    mine = {c.get("name"): normal_command(c) for c in ours}
    reported = {c.get("name"): normal_command(c) for c in theirs}
    found = [f"/{name} missing on Discord" for name in mine if name not in reported]
    found += [f"/{name} only on Discord" for name in reported if name not in mine]
    for name in (n for n in mine if n in reported):
        fields = [key for key in SAME_FIELDS if mine[name][key] != reported[name][key]]
        if fields:
            found.append(f"/{name} differs in {', '.join(fields)}")
    return found


async def reported_commands(client: discord.Client, guild_id: int | None) -> list[dict[str, Any]]:
    """The commands Discord has for this application: GET /applications/{id}[/guilds/{id}]/commands."""
    application_id = client.application_id
    if application_id is None:
        raise discord.ClientException("the application id is not known yet")
    if guild_id:
        return list(await client.http.get_guild_commands(application_id, guild_id))
    return list(await client.http.get_global_commands(application_id))


async def sync_if_different(tree: app_commands.CommandTree, guild_id: int | None) -> bool:
    """Upload the commands for `guild_id` (None: global) unless Discord has the same; True if uploaded."""
    guild = discord.Object(id=guild_id) if guild_id else None
    where = f"guild {guild_id}" if guild_id else "global"
    ours = command_payload(tree, guild)
    try:
        theirs = await reported_commands(tree.client, guild_id)
    except (discord.DiscordException, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("could not read the slash commands Discord has (%s): %s; uploading ours to be sure",
                    where, _said(exc))
    else:
        changed = differences(ours, theirs)
        if not changed:
            log.info("slash commands (%s) are the same as Discord's; not uploading them", where)
            return False
        shown = "; ".join(changed[:5]) + (f"; and {len(changed) - 5} more" if len(changed) > 5 else "")
        log.info("slash commands (%s) differ from Discord's (%s); uploading them", where, shown)
    try:
        synced = await tree.sync(guild=guild)
    except (discord.DiscordException, aiohttp.ClientError, TimeoutError) as exc:
        log.error("could not upload the slash commands (%s): %s; serving with the list Discord has", where,
                  _said(exc))
        return False
    note = "" if guild_id else " (Discord may take a while to show them)"
    log.info("synced %d slash commands (%s)%s", len(synced), where, note)
    return True


def _said(exc: BaseException) -> str:
    """An error in one line: HTTP status and Discord's code and words, or the exception's own words."""
    if isinstance(exc, discord.HTTPException):
        return f"HTTP {exc.status} (code {exc.code}) {exc.text}".strip()
    return f"{type(exc).__name__}: {exc}"
