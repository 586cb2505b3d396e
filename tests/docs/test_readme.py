"""The README is a front door that works as written: its command lines parse with the real CLI, its command
table is the registry's, and a self-hoster who follows "Your Discord server in five steps" in order gets the
bot into a server (tests/support/fake_discord.py stands in for Discord)."""
from __future__ import annotations

import asyncio
import contextlib
import io
import re
import shlex
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.discord.app import DiscordAdapter
from bot.discord.invite import PERMISSIONS
from bot.ops.cli import _parser, main
from bot.ops.run import plan
from core.commands import build_registry
from core.engine import Engine
from core.policy import Policy
from core.settings import Settings, load_dotenv
from docs.command_table import END, START, command_table
from tests.support.fake_discord import APP_ID, discord_session
from tests.support.paths import ROOT
from tests.support.toy_registry import TOY_REGISTRY

README = (ROOT / "README.md").read_text(encoding="utf-8")
TUTOR = re.compile(r"(?:^|[\s;&|(])(?:\.venv/bin/)?tutor(?=\s)(.*)")
"""A `tutor` (or `.venv/bin/tutor`) invocation inside a shell line, and what follows it."""


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else len(README)]


def blocks(text: str, *languages: str) -> list[str]:
    found = re.findall(r"^ *```(\w*)\n(.*?)^ *```", text, flags=re.S | re.M)
    return [body for language, body in found if language in languages]


def tutor_args(shell: str) -> list[list[str]]:
    """The arguments of each `tutor ...` in a shell line: up to its next `&&`, `;`, `|` or redirection."""
    found = []
    for match in TUTOR.finditer(shell):
        rest = re.split(r"&&|;|\||>", match.group(1))[0]
        found.append(shlex.split(rest))
    return found


def readme_tutor_lines() -> list[list[str]]:
    """Every `tutor` command the README shows: in its shell blocks and in its inline code."""
    shell = [line for block in blocks(README, "bash", "sh") for line in block.splitlines()]
    inline = [code for code in re.findall(r"`([^`\n]+)`", README) if TUTOR.search(" " + code)]
    return [args for line in shell + inline for args in tutor_args(" " + line)]


def invite(args: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(args) == 0
    return out.getvalue()


def test_the_readme_is_a_front_door_of_at_most_15_kb() -> None:
    assert len(README.encode()) <= 15_500, len(README.encode())


def test_the_command_table_is_generated_from_the_registry() -> None:
    table = README.split(START, 1)[1].split(END, 1)[0].strip()
    assert table == command_table(build_registry()), "run: python docs/command_table.py"
    for command in build_registry():
        assert (f"| /{command.name} |" in table) != command.hidden, command.name


def test_a_new_command_is_listed_without_a_hand_edit() -> None:
    table = command_table(TOY_REGISTRY)
    visible = [c.name for c in TOY_REGISTRY if not c.hidden]
    assert visible and all(f"| /{name} |" in table for name in visible)
    assert len(table.splitlines()) == 2 + len(visible)


def test_every_tutor_command_line_in_the_readme_parses_with_the_real_cli_parser() -> None:
    lines = readme_tutor_lines()
    wanted = {("tour",), ("chat",), ("ask",), ("discord", "invite"), ("slack", "manifest")}
    seen = {tuple(a for a in args if not a.startswith("-") and a != "offline")[:2] for args in lines}
    assert {w for w in wanted if any(s[:len(w)] == w for s in seen)} == wanted, seen
    for args in lines:
        parsed = _parser().parse_args(args)  # argparse exits (SystemExit) on a line it cannot read
        assert parsed.cmd, args


def test_a_line_the_cli_cannot_read_is_caught() -> None:
    with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
        _parser().parse_args(tutor_args(" .venv/bin/tutor discord invite 1 2")[0])


def test_the_invite_command_prints_a_valid_oauth2_url() -> None:
    (args,) = tutor_args(" " + blocks(section("Your Discord server in five steps"), "bash")[0])
    printed = invite(args)
    url = urlsplit(printed.splitlines()[0])
    query = parse_qs(url.query, strict_parsing=True)
    assert (url.scheme, url.netloc, url.path) == ("https", "discord.com", "/oauth2/authorize")
    assert query["client_id"] == [args[-1]]
    assert set(query["scope"][0].split()) == {"bot", "applications.commands"}
    bits = int(query["permissions"][0])
    assert bits == sum(PERMISSIONS.values()) == 2048 + 16384 + 32768, "Send Messages, Embed Links, Attach Files"
    assert "integration_type=1" in printed, "and the user-install link"


def test_the_invite_command_refuses_what_is_not_an_application_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discord", "invite", "my-bot"]) == 2
    assert "is not an Application ID" in capsys.readouterr().err


def test_following_the_five_discord_steps_gets_the_bot_into_a_server(tmp_path: Path) -> None:
    steps = section("Your Discord server in five steps")
    assert re.findall(r"^(\d)\. \*\*", steps, flags=re.M) == list("12345")
    shell = blocks(steps, "bash")
    assert [tutor_args(" " + b) != [] for b in shell] == [True, False, False]
    # 3. the invite link, printed for this application (the fake Discord's)
    (args,) = tutor_args(" " + shell[0])
    link = urlsplit(invite([*args[:-1], APP_ID]).splitlines()[0])
    assert parse_qs(link.query)["client_id"] == [APP_ID]
    # 4. `.env`: the example copied as the README says, then the README's lines set in it
    assert shell[1].strip() == "cp .env.example .env"
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    env_file = tmp_path / ".env"
    settings_lines = [line for block in blocks(steps, "dotenv") for line in block.splitlines() if "=" in line]
    assert [line.split("=", 1)[0].strip() for line in settings_lines] == ["DISCORD_TOKEN"]
    text = env_file.read_text()
    for line in settings_lines:
        key = line.split("=", 1)[0].strip()
        value = "test-token" if key == "DISCORD_TOKEN" else line.split("=", 1)[1]
        text, n = re.subn(rf"^{key}=.*$", f"{key}={value}", text, flags=re.M)
        assert n == 1, f"{key} is in .env.example, ready to fill in"
    env_file.write_text(text)
    env = load_dotenv(env_file, environ={})
    # 5. `docker compose up`: the image runs `tutor run`, which starts what the environment configures
    assert shell[2].strip().startswith("docker compose up")
    assert 'CMD ["tutor", "run"]' in (ROOT / "Dockerfile").read_text()
    assert plan(env) == [DiscordAdapter]
    engine = Engine(Settings(pack="tiny", cache_dir=tmp_path / "cache", cooldown_s=0.0, request_timeout_s=30.0))
    try:
        asyncio.run(asyncio.wait_for(_online(DiscordAdapter(Policy(engine), env), env["DISCORD_TOKEN"]), 45))
    finally:
        engine.close()


async def _online(adapter: DiscordAdapter, token: str) -> None:
    async with discord_session(lambda: adapter.client, token=token) as (fake, _):
        (path, payload), = fake.synced
        assert path == f"/applications/{APP_ID}/commands"
        assert {c["name"] for c in payload} >= {"help", "quiz", "attention"}
        interaction = await fake.send_command("help", guild=True)
        reply = await fake.reply_to(interaction)
        assert "/attention" in reply.text(), "typed in a server channel, /help answers there"
