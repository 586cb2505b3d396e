"""`tutor discord invite APPLICATION_ID`: the link that adds the bot to a server (docs/discord.md, step 2).

Built here from the application's id, offline, so a self-hoster never assembles an OAuth2 URL by hand: the
scopes the tutor needs (`bot` for its messages, `applications.commands` for its slash commands) and the
bot permissions its answers use (text, embeds, pictures as files), nothing more.
"""
from __future__ import annotations

from urllib.parse import urlencode

from core.settings import ConfigError

AUTHORIZE = "https://discord.com/oauth2/authorize"
SCOPES = ("bot", "applications.commands")
PERMISSIONS = {"Send Messages": 1 << 11, "Embed Links": 1 << 14, "Attach Files": 1 << 15}
"""The bot's permissions in a channel, by the names the developer portal shows (Discord's permission bits)."""
USER_INSTALL_SCOPES = ("applications.commands",)


def permission_bits() -> int:
    return sum(PERMISSIONS.values())


def application_id_checked(value: str) -> str:
    """A snowflake, as the developer portal's General Information > Application ID shows it."""
    value = value.strip()
    if not (value.isascii() and value.isdigit() and 1 <= int(value) < 2**64):
        raise ConfigError(f"{value!r} is not an Application ID: copy the number on the developer portal's General "
                          "Information page (https://discord.com/developers/applications), e.g. "
                          "`tutor discord invite 123456789012345678`.")
    return value


def invite_url(application_id: str) -> str:
    """The link that adds the bot, with its slash commands, to a server its opener manages."""
    query = {"client_id": application_id_checked(application_id), "scope": " ".join(SCOPES),
             "permissions": str(permission_bits())}
    return f"{AUTHORIZE}?{urlencode(query)}"


def user_install_url(application_id: str) -> str:
    """The link for a user install: the commands follow the user into any DM or server; no bot joins."""
    query = {"client_id": application_id_checked(application_id), "integration_type": "1",
             "scope": " ".join(USER_INSTALL_SCOPES)}
    return f"{AUTHORIZE}?{urlencode(query)}"


def invite_text(application_id: str) -> str:
    """What `tutor discord invite` prints: the server link first, alone on its line (a script can take line 1)."""
    names = " + ".join(f"{name} ({bit})" for name, bit in PERMISSIONS.items())
    return (f"{invite_url(application_id)}\n\n"
            f"Open it, pick your server and press Authorize (you need Manage Server there). Scopes: "
            f"{' and '.join(SCOPES)}; bot permissions: {names} = {permission_bits()}.\n"
            f"For a user install instead (the commands follow a person; no bot joins a server):\n"
            f"{user_install_url(application_id)}")
