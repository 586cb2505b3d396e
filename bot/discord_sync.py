"""Publish the slash commands only when they changed since the last publish.

discord.py's examples/advanced_startup.py advises against syncing on every start: Discord
rate-limits command uploads (and counts command creations per day), and a global upload can
take a while to reach clients. So we keep a hash of exactly what `CommandTree.sync` would
upload, one file per application and target (a server, or global), in the tutor's cache
folder, and upload only when the hash differs. Deleting the file forces the next upload.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

log = logging.getLogger("tutor.discord")


def command_payload(tree: app_commands.CommandTree, guild: discord.abc.Snowflake | None) -> list[dict[str, Any]]:
    """The JSON that `tree.sync(guild=guild)` uploads (no translator is set, so it is `to_dict`)."""
    return [command.to_dict(tree) for command in tree.get_commands(guild=guild)]


def payload_hash(payload: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def marker_path(cache_dir: Path, application_id: int, guild_id: int | None) -> Path:
    """Where the hash of the last upload for this application and target is kept."""
    target = f"guild-{guild_id}" if guild_id else "global"
    return Path(cache_dir) / "discord" / f"commands-{application_id}-{target}.sha256"


def read_marker(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None  # none yet, or unreadable: sync, which is always safe


def write_marker(path: Path, digest: str) -> None:
    """Record an upload; a cache folder we cannot write only costs an upload on the next start."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_text(digest + "\n", encoding="ascii")
        os.replace(partial, path)
    except OSError as exc:
        log.warning("could not record the synced command list in %s (%s); the next start syncs again", path, exc)


async def sync_if_changed(tree: app_commands.CommandTree, guild_id: int | None, cache_dir: Path) -> bool:
    """Upload the commands for `guild_id` (None: global) unless the last upload was the same; True if uploaded."""
    guild = discord.Object(id=guild_id) if guild_id else None
    where = f"guild {guild_id}" if guild_id else "global"
    digest = payload_hash(command_payload(tree, guild))
    application_id = tree.client.application_id
    marker = marker_path(cache_dir, application_id or 0, guild_id)
    if application_id is not None and read_marker(marker) == digest:
        log.info("slash commands (%s) unchanged since the last sync; not uploading them again", where)
        return False
    synced = await tree.sync(guild=guild)
    write_marker(marker, digest)
    note = "" if guild_id else " (Discord may take a while to show them)"
    log.info("synced %d slash commands (%s)%s", len(synced), where, note)
    return True
