"""Configuration from the environment (and `.env`), validated once at start.

Every variable here is documented in `.env.example`. Invalid configuration raises
`ConfigError` with one clear message; the CLI prints it and exits non-zero.

`.env` is read with Docker Compose's rules (`read_env_file`). Validation stays this small table, not
pydantic-settings: a pydantic-settings twin of `Settings` took about 240 ms to import and validate against
about 22 ms here (same run, fresh processes; pydantic is otherwise not imported by `tutor ask`), and its
errors are several lines that name the field, not the variable and its allowed range.
"""
from __future__ import annotations

import io
import ipaddress
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import unquote

PACKS = ("hub", "offline", "tiny")
DEVICES = ("auto", "cpu", "cuda")
BACKENDS = ("local", "ray")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class ConfigError(Exception):
    """Configuration that cannot work, with a message that says how to fix it."""


@dataclass(frozen=True)
class Settings:
    pack: str = "hub"
    model_overrides: Mapping[str, str] = field(default_factory=dict)
    cache_dir: Path = Path.home() / ".cache" / "transformers-tutor"
    memory_budget_mb: int = 4096
    workers: int = 1
    torch_threads: int = 0
    """0 means: cores divided by workers."""
    device: str = "auto"
    backend: str = "local"
    """Where models run: local (worker threads here) or ray (a Ray Serve deployment per model, core/backends)."""
    ray_address: str = ""
    """The Ray cluster of TUTOR_BACKEND=ray and `tutor serve-models`; empty = `auto` (the one on this machine)."""
    request_timeout_s: float = 120.0
    max_queue: int = 64
    max_batch: int = 32
    """Requests for the same command run together, up to this many; 1 turns batching off."""
    max_batch_tokens: int = 4096
    batch_wait_ms: float = 2.0
    """Under a crowd, how long a batch waits for more requests; a lone request never waits."""
    cooldown_s: float = 3.0
    warmup: str = ""
    """Comma-separated commands whose models load in the background at start, e.g. `generate,attention`."""
    log_level: str = "INFO"
    debug_libraries: bool = False
    """Let slack_sdk, slack_bolt, discord, aiohttp... log at DEBUG too (their bodies hold raw text and ids)."""
    health_port: int = 0
    """`tutor run` serves /healthz and /metrics here; 0 = off (the container sets 8080)."""
    health_host: str = "127.0.0.1"
    metrics: bool = True
    database_url: str = ""
    """The tutor's store (progress, quiz rounds, runs behind buttons); empty = SQLite in the cache dir."""
    secret: str = ""
    """Keys learners' records (an HMAC of platform and user id); empty = generated into the cache dir."""
    retention_days: float = 180.0
    """Learners inactive this long are deleted with everything kept about them."""
    quiz_seconds: float = 20.0
    """How long a channel's quiz question stays open before its answer is revealed."""

    def secrets(self) -> tuple[str, ...]:
        """The core's own secrets, for log redaction beside each platform adapter's (bot/adapter.py
        `all_secrets`): the learner-keying secret and a password inside TUTOR_DATABASE_URL, of any length,
        as written and percent-decoded (longest first). How a short one is matched: bot/ops/cli.py `redact`."""
        password = _password(self.database_url)
        values = {self.secret.strip(), password, unquote(password)}
        return tuple(sorted((v for v in values if v), key=len, reverse=True))

    def effective_threads(self) -> int:
        if self.torch_threads > 0:
            return self.torch_threads
        return max(1, (os.cpu_count() or 1) // max(1, self.workers))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read the core's `TUTOR_*` variables (each platform adapter reads its own); `overrides` win."""
        env = dict(os.environ if env is None else env)
        values = {name: reader(env) for name, reader in _READERS.items() if _present(env, name)}
        values["model_overrides"] = {
            k[len("TUTOR_MODEL_"):].lower(): v for k, v in env.items() if k.startswith("TUTOR_MODEL_") and v
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        if self.pack not in PACKS:
            raise ConfigError(f"TUTOR_PACK must be one of {', '.join(PACKS)}; got `{self.pack}`.")
        if self.device not in DEVICES:
            raise ConfigError(f"TUTOR_DEVICE must be one of {', '.join(DEVICES)}; got `{self.device}`.")
        for name, (low, high, why) in _RANGES.items():
            _check_range(name, getattr(self, name), low, high, why)
        if self.backend not in BACKENDS:
            raise ConfigError(f"TUTOR_BACKEND must be one of {', '.join(BACKENDS)}; got `{self.backend}`.")
        if not 0 <= self.health_port <= 65535:
            raise ConfigError(f"TUTOR_HEALTH_PORT must be a port number 0-65535; got {self.health_port}.")
        if not valid_host(self.health_host):
            raise ConfigError(f"TUTOR_HEALTH_HOST must be an IP address or a host name (e.g. 127.0.0.1, 0.0.0.0, "
                              f"localhost); got `{self.health_host}`.")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError(f"TUTOR_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR; got `{self.log_level}`.")


_RANGES: dict[str, tuple[float, float | None, str]] = {
    "memory_budget_mb": (1, None, ""),
    "workers": (1, 256, " (more threads than that only fight over the cores)"),
    "torch_threads": (0, 1024, " (0 = cores divided by workers)"),
    "request_timeout_s": (0.1, 86_400, " seconds"),
    "max_queue": (1, None, ""),
    "max_batch": (1, None, ""),
    "max_batch_tokens": (1, None, ""),
    "batch_wait_ms": (0, 1000, " milliseconds (2 is the default, and a lone request never waits)"),
    "cooldown_s": (0, 86_400, " seconds"),
    "retention_days": (0.001, 36_500, " days"),
    "quiz_seconds": (5, 600, " seconds"),
}
"""Numeric settings: (lowest, highest or None, what the unit or range means). Every bound is one
that a value past it breaks: a timer of `inf` or `nan` never fires or overflows, a negative wait
or thread count fails deep inside asyncio or torch."""


def _check_range(name: str, value: float | None, low: float, high: float | None, why: str) -> None:
    if value is None:
        return
    variable = _ENV_NAMES[name]
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{variable} must be a finite number; got `{value}`.")
    if value < low or (high is not None and value > high):
        bounds = f"between {_show(low)} and {_show(high)}{why}" if high is not None else f"at least {_show(low)}"
        raise ConfigError(f"{variable} must be {bounds}; got {_show(value)}.")


def _show(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def valid_host(host: str) -> bool:
    """An IP address (v4 or v6) or a DNS host name: what a server can be asked to listen on."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.removesuffix(".").split(".")
    return 0 < len(host) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


_ENV_NAMES = {
    "pack": "TUTOR_PACK",
    "cache_dir": "TUTOR_CACHE_DIR",
    "memory_budget_mb": "TUTOR_MEMORY_BUDGET_MB",
    "workers": "TUTOR_WORKERS",
    "torch_threads": "TUTOR_TORCH_THREADS",
    "device": "TUTOR_DEVICE",
    "backend": "TUTOR_BACKEND",
    "ray_address": "RAY_ADDRESS",
    "request_timeout_s": "TUTOR_REQUEST_TIMEOUT_S",
    "max_queue": "TUTOR_MAX_QUEUE",
    "max_batch": "TUTOR_MAX_BATCH",
    "max_batch_tokens": "TUTOR_MAX_BATCH_TOKENS",
    "batch_wait_ms": "TUTOR_BATCH_WAIT_MS",
    "cooldown_s": "TUTOR_COOLDOWN_S",
    "warmup": "TUTOR_WARMUP",
    "log_level": "TUTOR_LOG_LEVEL",
    "debug_libraries": "TUTOR_DEBUG_LIBRARIES",
    "health_port": "TUTOR_HEALTH_PORT",
    "health_host": "TUTOR_HEALTH_HOST",
    "metrics": "TUTOR_METRICS",
    "database_url": "TUTOR_DATABASE_URL",
    "secret": "TUTOR_SECRET",
    "retention_days": "TUTOR_RETENTION_DAYS",
    "quiz_seconds": "TUTOR_QUIZ_SECONDS",
}


def _credentials(url: str) -> tuple[str, str, str, str]:
    """A URL cut as (scheme and `://`, user, password, `@` and the rest), read loosely enough for a URL that
    does not parse: everything before the last `@` is credentials, the first `:` in them ends the user."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    credentials, at, host = rest.rpartition("@")
    if not at:
        return scheme + sep, "", "", rest
    user, _, password = credentials.partition(":")
    return scheme + sep, user, password, at + host


def _password(url: str) -> str:
    """The password in a database URL (`postgresql://user:PASSWORD@host/db`), so logs can redact it."""
    return _credentials(url.strip())[2]


def shown_url(url: str) -> str:
    """A database URL as the tutor may show it: the password as `***`, also where the URL is malformed."""
    head, user, password, tail = _credentials(url.strip())
    return f"{head}{user}{':***' if password else ''}{tail}"


def _present(env: Mapping[str, str], name: str) -> bool:
    return bool(env.get(_ENV_NAMES[name], "").strip())


def _typed(name: str, cast: type):
    def read(env: Mapping[str, str]) -> object:
        raw = env[_ENV_NAMES[name]].strip()
        try:
            value = cast(raw)
        except ValueError:
            what = {int: "a whole number", float: "a number", _bool: "true or false"}.get(cast, "a path")
            raise ConfigError(f"{_ENV_NAMES[name]} must be {what}; got `{raw}`.") from None
        if isinstance(value, float) and not math.isfinite(value):  # float() reads nan, inf and 1e999
            raise ConfigError(f"{_ENV_NAMES[name]} must be a finite number; got `{raw}`.")
        return value

    return read


def _path(raw: str) -> Path:
    return Path(raw).expanduser()


def _bool(raw: str) -> bool:
    if raw.lower() in _TRUE + _FALSE:
        return raw.lower() in _TRUE
    raise ValueError(raw)


_TYPES = {f.name: f.type for f in fields(Settings)}
_PARSERS = {"int": int, "float": float, "Path": _path, "int | None": int, "bool": _bool}
_READERS = {name: _typed(name, _PARSERS.get(_TYPES[name], str)) for name in _ENV_NAMES}


def load_dotenv(path: Path = Path(".env"), environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment the tutor reads: `.env`'s values as docker compose reads the same file
    (`read_env_file`), with the real environment over them (as compose lets the shell's win)."""
    environ = dict(os.environ if environ is None else environ)
    if not path.is_file():
        return environ
    return {**read_env_file(path, environ), **environ}


def read_env_file(path: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """A `.env` file's values with Docker Compose's semantics, so one file means the same to `tutor` and to
    `docker compose` (its `env_file:` and its own `.env`). python-dotenv cuts the file into statements (`#`
    lines, blank lines, `export `, quoted values over several lines); each value is then read the way compose's
    parser (compose-spec/compose-go, dotenv/parser.go) reads it, where python-dotenv differs:

    - unquoted: ends at the line's end or at ` #` (a space, then `#`: `a#b` stays, `a # note` is `a`), trailing
      blanks dropped; `$VAR`, `${VAR}`, `${VAR:-default}`... interpolated;
    - double quotes: escapes (`\\n`, `\\t`, `\\"`, `\\\\`, `\\$`...) then interpolation; anything after the closing
      quote must be a `# comment`;
    - single quotes: literal (no interpolation; `\\'` is a quote);
    - `KEY` alone: the environment's KEY, if set.

    Interpolation looks in the real environment first, then in the file's earlier lines; an unset variable is
    empty, `$$` is `$`. A line that is no statement, or `${VAR:?why}` with VAR unset, is a `ConfigError`
    naming the file and line (compose refuses such a file too)."""
    from dotenv.parser import parse_stream

    values: dict[str, str] = {}

    def lookup(name: str) -> str | None:
        return environ[name] if name in environ else values.get(name)

    for binding in parse_stream(io.StringIO(_env_text(path))):
        text = binding.original.string
        line = binding.original.line + len(text) - len(text.lstrip("\r\n"))
        key, raw = binding.key, None
        if binding.error:  # compose also takes `KEY: value` on one line
            yaml = _YAML_STYLE.fullmatch(text.strip("\r\n"))
            if yaml is None:
                raise ConfigError(f"{path} line {line} is not KEY=VALUE: `{text.strip()[:80]}`.")
            key, raw = yaml.group(1), yaml.group(2)
        if key is None:
            continue
        if raw is None and binding.value is None:  # `KEY` alone
            if key in environ:
                values[key] = environ[key]
            continue
        try:
            values[key] = _compose_value(_raw_value(text) if raw is None else raw, lookup)
        except ValueError as exc:
            raise ConfigError(f"{path} line {line} ({key}): {exc}") from None
        if "\0" in key + values[key]:
            raise ConfigError(f"{path} line {line} ({key}) holds a NUL character, which no environment variable "
                              "can hold (a damaged file?). Remove it.")
    return values


def _env_text(path: Path) -> str:
    """The file's text; `ConfigError` naming the line where it is not UTF-8 (a file saved in another
    encoding, or damaged). A BOM some editors write is skipped, as compose skips it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path} line {line} is not UTF-8 text (byte {data[exc.start]:#04x}): save the file as "
                          "UTF-8.") from None


_ASSIGNMENT = re.compile(r"\s*(?:export[^\S\r\n]+)?(?:'[^']+'|[^=#\s]+)[^\S\r\n]*=[^\S\r\n]*", re.DOTALL)
_YAML_STYLE = re.compile(r"\s*(?:export\s+)?([A-Za-z0-9_.\-\[\]]+)[^\S\n]*:[^\S\n]*(.*)")
_ESCAPE = re.compile(r"\\(?:[abcfnrtv$\"\\]|0[0-7]{0,3})")
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", '"': '"', "\\": "\\",
            "$": "$$"}
"""compose's escapes in double quotes; `\\$` becomes `$$`, which interpolation reads as a literal `$`."""
_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_BRACED = re.compile(r"([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?[-+?])(.*))?", re.DOTALL)


def _raw_value(statement: str) -> str:
    """What follows `KEY=` in one statement python-dotenv cut out (up to the end of its line or quote)."""
    return statement[_ASSIGNMENT.match(statement).end():]  # type: ignore[union-attr] - python-dotenv matched it


def _compose_value(raw: str, lookup) -> str:
    quote = raw[:1]
    if quote not in ("'", '"'):
        value = raw.split("\n", 1)[0].split(" #", 1)[0].rstrip()
        return _interpolate(value, lookup)
    chars, escaped = [], False
    for char in raw[1:]:
        if escaped:
            chars.append(char if char == quote else "\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == quote:
            break
        else:
            chars.append(char)
    value = "".join(chars)
    return value if quote == "'" else _interpolate(_ESCAPE.sub(_unescape, value), lookup)


def _unescape(match: re.Match[str]) -> str:
    code = match.group()[1:]
    if code[0] == "0":  # octal, as \\0ddd (exactly three digits, at most 0377), else left as written
        digits = code[1:]
        return chr(int(digits, 8)) if len(digits) == 3 and int(digits, 8) < 256 else match.group()
    return _ESCAPES.get(code, match.group())


def _interpolate(text: str, lookup) -> str:
    """compose's `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+other}`, `${VAR+other}`,
    `${VAR:?why}`, `${VAR?why}` (nested), and `$$` for `$`; a `$` before anything else stays. Raises ValueError."""
    out, i = [], 0
    while i < len(text):
        j = text.find("$", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        following = text[j + 1:j + 2]
        if following == "$":
            out.append("$")
            i = j + 2
        elif following == "{":
            end = _closing_brace(text, j + 1)
            if end < 0:
                raise ValueError(f"`{text}` has a `${{` without its `}}`")
            out.append(_braced(text[j + 2:end], lookup))
            i = end + 1
        elif (name := _NAME.match(text, j + 1)) is not None:
            out.append(lookup(name.group()) or "")
            i = name.end()
        else:
            out.append("$")
            i = j + 1
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    depth, i = 0, start
    while i < len(text):
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        elif text[i] == "{":
            depth += 1
            i += 1  # as compose counts: the character after `{` is not looked at
        i += 1
    return -1


def _braced(inside: str, lookup) -> str:
    found = _BRACED.fullmatch(inside)
    if found is None:
        raise ValueError(f"`${{{inside}}}` is not a variable (a name: letters, digits and _)")
    name, operator, word = found.groups()
    value = lookup(name)
    empty = not value
    if operator is None:
        return value or ""
    if operator in (":-", "-"):
        return _interpolate(word, lookup) if (value is None or (operator == ":-" and empty)) else value
    if operator in (":+", "+"):
        return _interpolate(word, lookup) if (value is not None and not (operator == ":+" and empty)) else ""
    if value is None or (operator == ":?" and empty):
        why = _interpolate(word, lookup)
        raise ValueError(f"{name} must be set{': ' + why if why else ''}")
    return value
