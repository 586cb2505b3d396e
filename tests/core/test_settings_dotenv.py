"""`.env` means the same to `tutor` as to `docker compose`: comments, quotes, escapes, `export`, interpolation.

`docker compose` (the client alone renders `config` without an engine) is the reference where it is installed;
everywhere, the cases below are compose's own: each is a rule of Docker's "Syntax for environment files in Docker
Compose" page (docs.docker.com/compose/env-file/) or a case of compose's parser tests (compose-spec/compose-go,
dotenv/godotenv_test.go `TestParsing`), with the value compose gives.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from core.settings import ConfigError, Settings, load_dotenv, read_env_file

ENVIRONMENT = {"OTHER": "from-the-shell", "EMPTY": ""}
"""The shell's variables while the file is read (interpolation looks here first)."""

COMPOSE_CASES: list[tuple[str, str]] = [
    # the issue's: a comment after a value, a quoted value with a comment
    ("TUTOR_PACK=offline # the offline pack", "offline"),
    ('TUTOR_WORKERS="1" # quoted', "1"),
    ("TUTOR_SECRET=s3cr3t-value # rotate it yearly", "s3cr3t-value"),
    # docs: values, quotes and comments
    ("VAL=VAL", "VAL"),
    ('DQ="VAL"', "VAL"),
    ("SQ='VAL'", "VAL"),
    ("C1=VAL # comment", "VAL"),
    ("C2=VAL# not a comment", "VAL# not a comment"),
    ('C3="VAL # not a comment"', "VAL # not a comment"),
    ('C4="VAL" # comment', "VAL"),
    ("LIT1='$OTHER'", "$OTHER"),
    ("LIT2='${OTHER}'", "${OTHER}"),
    ("ESC1='Let\\'s go!'", "Let's go!"),
    ('ESC2="{\\"hello\\": \\"json\\"}"', '{"hello": "json"}'),
    ('ESC3="some\\tvalue"', "some\tvalue"),
    ("ESC4='some\\tvalue'", "some\\tvalue"),
    ("ESC5=some\\tvalue", "some\\tvalue"),
    # docs: interpolation (unquoted and double-quoted values only)
    ("I1=$OTHER", "from-the-shell"),
    ("I2=${OTHER}/x", "from-the-shell/x"),
    ('I3="${UNSET:-default}"', "default"),
    ("I4=${EMPTY:-default}", "default"),
    ("I5=${EMPTY-default}", ""),
    ("I6=${UNSET-default}", "default"),
    ("I7=${OTHER:+replacement}", "replacement"),
    ("I8=${UNSET+replacement}", ""),
    ("I9=${UNSET:-${OTHER}}", "from-the-shell"),
    ("I10=${UNSET}", ""),
    ("I11=price$$5", "price$5"),
    ("I12=$1 stays", "$1 stays"),
    ("I13=${VAL}-${DQ}", "VAL-VAL"),
    # compose-go's parser tests
    ("P1 =bar", "bar"),
    ("P2= bar", "bar"),
    ('P3="escaped\\"bar"', 'escaped"bar'),
    ('P4="\'d\'"', "'d'"),
    ("P5: 1", "1"),
    ("P6=1:B", "1:B"),
    ("export P7=2", "2"),
    ("export P8='\\n'", "\\n"),
    ("exportP9=2", "2"),
    ("\texport P10=2", "2"),
    ('export P11="export A"', "export A"),
    ('P12="bar\\nbaz"', "bar\nbaz"),
    ('P13="Z\\aZ\\bZ\\fZ\\nZ\\rZ\\tZ\\vZ\\\\Z\\0123Z"', "Z\aZ\bZ\fZ\nZ\rZ\tZ\vZ\\ZSZ"),
    ("P14.BAR=foobar", "foobar"),
    ("P15=foobar=", "foobar="),
    ("P16=bar ", "bar"),
    ("P17=bar #this is foo", "bar"),
    ("P18=bar #", "bar"),
    ("P19=123#not-an-inline-comment", "123#not-an-inline-comment"),
    ('P20="bar#baz"#', "bar#baz"),
    ("P21='bar#baz' # comment", "bar#baz"),
    ('P22="bar\\n\\ b\\az"', "bar\n\\ b\az"),
    ('P23="bar\\nbaz\\\\"', "bar\nbaz\\"),
    (" P24 =value", "value"),
    ('P25="\\x07"', "\\x07"),
    ('P26="\\$NOT_A_VARIABLE"', "$NOT_A_VARIABLE"),
    # where python-dotenv alone reads otherwise
    ("D1=a\t# a tab is no comment start", "a\t# a tab is no comment start"),
    ("D2= # a value that starts with a hash", "# a value that starts with a hash"),
    ("D3='a\\\\b'", "a\\\\b"),
    ("D4='${OTHER}' # single quotes: literal", "${OTHER}"),
]


def env_file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / ".env"
    path.write_text("# a .env as a self-hoster writes it\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def expected() -> dict[str, str]:
    return {re.match(r"\s*(?:export\s+)?([^=:\s]+)", line).group(1): value for line, value in COMPOSE_CASES}


def test_the_tutor_reads_each_line_as_compose_does(tmp_path: Path) -> None:
    got = read_env_file(env_file(tmp_path, [line for line, _ in COMPOSE_CASES]), ENVIRONMENT)
    assert got == expected()


@pytest.mark.skipif(subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0
                    if shutil.which("docker") else True,
                    reason="the `docker compose` client is not installed here (docker's CLI without the compose "
                           "plugin, or no docker): the table of compose's documented cases stands in for it")
def test_docker_compose_reads_the_same_file_the_same(tmp_path: Path) -> None:
    """`docker compose config` renders a service's env_file without an engine: the same values as ours."""
    path = env_file(tmp_path, [line for line, _ in COMPOSE_CASES])
    (tmp_path / "compose.yaml").write_text("services:\n  tutor:\n    image: scratch\n    env_file: .env\n")
    done = subprocess.run(["docker", "compose", "--project-directory", str(tmp_path), "config", "--format", "json"],
                          capture_output=True, text=True, env=ENVIRONMENT | {"PATH": "/usr/bin:/bin"}, timeout=60)
    assert done.returncode == 0, done.stderr
    compose = json.loads(done.stdout)["services"]["tutor"]["environment"]
    assert {k: v for k, v in compose.items() if k in expected()} == read_env_file(path, ENVIRONMENT)


def test_the_shell_wins_over_the_file_and_a_bare_key_is_taken_from_the_shell(tmp_path: Path) -> None:
    path = env_file(tmp_path, ["TUTOR_PACK=offline # the offline pack", "TUTOR_WORKERS=2", "OTHER", "NOT_SET"])
    merged = load_dotenv(path, {"TUTOR_WORKERS": "3", "OTHER": "x"})
    assert (merged["TUTOR_PACK"], merged["TUTOR_WORKERS"], merged["OTHER"]) == ("offline", "3", "x")
    assert "NOT_SET" not in merged
    settings = Settings.from_env(merged)
    assert (settings.pack, settings.workers) == ("offline", 3)


def test_a_free_text_value_keeps_no_comment_and_a_quoted_one_keeps_its_hash(tmp_path: Path) -> None:
    """TUTOR_SECRET and TUTOR_MODEL_* are free text: before, their comment became part of the value."""
    path = env_file(tmp_path, ["TUTOR_SECRET=correct-horse-battery # generated 2026-01",
                               'TUTOR_MODEL_SENTIMENT="org/model#v2" # a quoted hash stays',
                               "TUTOR_DATABASE_URL='postgresql+psycopg://tutor:pa$word@db/tutor'"])
    settings = Settings.from_env(load_dotenv(path, {}))
    assert settings.secret == "correct-horse-battery"
    assert settings.model_overrides == {"sentiment": "org/model#v2"}
    assert settings.database_url == "postgresql+psycopg://tutor:pa$word@db/tutor"


@pytest.mark.parametrize("line, message", [
    ("TUTOR_PACK offline", r"line 3 is not KEY=VALUE: `TUTOR_PACK offline`\."),
    ('TUTOR_SECRET="never closed', r"line 3 is not KEY=VALUE"),
    ("TUTOR_SECRET=${NOT_SET:?set TUTOR_SECRET in .env}", r"line 3 \(TUTOR_SECRET\): NOT_SET must be set: set "
                                                          r"TUTOR_SECRET in \.env$"),
    ("TUTOR_SECRET=${not a name}", r"line 3 \(TUTOR_SECRET\): `\$\{not a name\}` is not a variable"),
    ("TUTOR_SECRET=${OTHER", r"line 3 \(TUTOR_SECRET\): `\$\{OTHER` has a `\$\{` without its `\}`"),
])
def test_a_line_compose_would_refuse_is_one_error_naming_the_file_and_line(tmp_path: Path, line: str,
                                                                          message: str) -> None:
    path = env_file(tmp_path, [line])
    with pytest.raises(ConfigError, match=rf"^{path} {message}"):
        read_env_file(path, ENVIRONMENT)


@pytest.mark.parametrize("damaged, message", [
    (b"TUTOR_PACK=tiny\nTUTOR_SECRET=caf\xe9 latin-1\n", r"line 2 is not UTF-8 text \(byte 0xe9\): save the file as "
                                                         r"UTF-8\.$"),
    (b"TUTOR_PACK=tiny\n\xff\xfe\n", r"line 2 is not UTF-8 text \(byte 0xff\)"),
    (b"TUTOR_PACK=tiny\nTUTOR_COOLDOWN_S=1\x00\n", r"line 2 \(TUTOR_COOLDOWN_S\) holds a NUL character"),
    (b'TUTOR_PACK=tiny\nTUTOR_SECRET="a\\0000b"\n', r"line 2 \(TUTOR_SECRET\) holds a NUL character"),
])
def test_a_damaged_file_is_one_error_naming_the_line(tmp_path: Path, damaged: bytes, message: str) -> None:
    """Bytes that are not UTF-8 (a file saved as Latin-1) once stopped `tutor` with a UnicodeDecodeError
    traceback, and a NUL byte with "ValueError: embedded null byte" when the values became the environment."""
    path = tmp_path / ".env"
    path.write_bytes(damaged)
    with pytest.raises(ConfigError, match=rf"^{path} {message}"):
        load_dotenv(path, {})


def test_the_env_example_means_the_same_to_every_reader_set_or_uncommented(tmp_path: Path) -> None:
    """.env.example is the file people copy: no line of it, as it stands or with its `# ` removed, depends on
    a rule where a plain KEY=VALUE reading and compose's differ (a ` #` note, quotes, a `$`)."""
    root = Path(__file__).resolve().parents[2]
    lines = (root / ".env.example").read_text().splitlines()
    uncommented = [line.removeprefix("# ") for line in lines if re.fullmatch(r"(# )?[A-Z][A-Z0-9_]*=.*", line)]
    plain = dict(line.split("=", 1) for line in uncommented)
    assert len(plain) > 40
    assert read_env_file(env_file(tmp_path, uncommented), {}) == plain
