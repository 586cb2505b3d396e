"""Configuration from the environment (and `.env`), validated once at start.

Every variable here is documented in `.env.example`. Invalid configuration raises
`ConfigError` with one clear message; the CLI prints it and exits non-zero.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Mapping

PACKS = ("hub", "offline", "tiny")
DEVICES = ("auto", "cpu", "cuda")
MODES_OF_SLACK = ("auto", "socket", "http")
BACKENDS = ("local", "ray")
DTYPES = ("auto", "float32", "bfloat16")
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
    dtype: str = "auto"
    """Weights of the decoders (/generate and the chat models): auto = bfloat16 on a CPU that computes it
    natively and on CUDA, float32 elsewhere; float32 or bfloat16 force one (core/models.py)."""
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
    discord_token: str = ""
    discord_guild_id: int | None = None
    slack_bot_token: str = ""
    slack_app_token: str = ""
    slack_signing_secret: str = ""
    slack_api_url: str = ""
    slack_mode: str = "auto"
    """`tutor run`: auto = Socket Mode when SLACK_APP_TOKEN is set, else HTTP with the signing secret."""
    slack_port: int = 3000
    slack_host: str = "127.0.0.1"
    """HTTP mode's listening address: loopback behind a reverse proxy on the same host (Slack needs HTTPS,
    so something terminates TLS in front); the Docker image sets 0.0.0.0."""
    health_port: int = 0
    """`tutor run` serves /healthz and /metrics here; 0 = off (the container sets 8080)."""
    health_host: str = "127.0.0.1"
    metrics: bool = True

    def secrets(self) -> tuple[str, ...]:
        """Every configured secret, so logs can redact them (longest first: no partial leaks)."""
        values = {self.discord_token, self.slack_bot_token, self.slack_app_token, self.slack_signing_secret}
        return tuple(sorted((v.strip() for v in values if len(v.strip()) >= 8), key=len, reverse=True))

    def effective_threads(self) -> int:
        if self.torch_threads > 0:
            return self.torch_threads
        return max(1, (os.cpu_count() or 1) // max(1, self.workers))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> "Settings":
        """Read `TUTOR_*`, `DISCORD_*` and `SLACK_*` variables; `overrides` win (CLI flags)."""
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
        for name in ("memory_budget_mb", "workers", "max_queue", "max_batch", "max_batch_tokens"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{_ENV_NAMES[name]} must be at least 1; got {getattr(self, name)}.")
        if self.request_timeout_s <= 0 or self.cooldown_s < 0:
            raise ConfigError("TUTOR_REQUEST_TIMEOUT_S must be > 0 and TUTOR_COOLDOWN_S >= 0.")
        if self.backend not in BACKENDS:
            raise ConfigError(f"TUTOR_BACKEND must be one of {', '.join(BACKENDS)}; got `{self.backend}`.")
        if self.dtype not in DTYPES:
            raise ConfigError(f"TUTOR_DTYPE must be one of {', '.join(DTYPES)}; got `{self.dtype}`.")
        if self.slack_mode not in MODES_OF_SLACK:
            raise ConfigError(f"SLACK_MODE must be one of {', '.join(MODES_OF_SLACK)}; got `{self.slack_mode}`.")
        for name in ("health_port", "slack_port"):
            if not 0 <= getattr(self, name) <= 65535:
                raise ConfigError(f"{_ENV_NAMES[name]} must be a port number 0-65535; got {getattr(self, name)}.")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError(f"TUTOR_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR; got `{self.log_level}`.")


_ENV_NAMES = {
    "pack": "TUTOR_PACK",
    "cache_dir": "TUTOR_CACHE_DIR",
    "memory_budget_mb": "TUTOR_MEMORY_BUDGET_MB",
    "workers": "TUTOR_WORKERS",
    "torch_threads": "TUTOR_TORCH_THREADS",
    "device": "TUTOR_DEVICE",
    "dtype": "TUTOR_DTYPE",
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
    "discord_token": "DISCORD_TOKEN",
    "discord_guild_id": "DISCORD_GUILD_ID",
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_api_url": "SLACK_API_URL",
    "slack_mode": "SLACK_MODE",
    "slack_port": "SLACK_PORT",
    "slack_host": "SLACK_HOST",
    "health_port": "TUTOR_HEALTH_PORT",
    "health_host": "TUTOR_HEALTH_HOST",
    "metrics": "TUTOR_METRICS",
}


def _present(env: Mapping[str, str], name: str) -> bool:
    return bool(env.get(_ENV_NAMES[name], "").strip())


def _typed(name: str, kind: type):
    def read(env: Mapping[str, str]) -> object:
        raw = env[_ENV_NAMES[name]].strip()
        try:
            return kind(raw)
        except ValueError:
            what = {int: "a whole number", float: "a number", _bool: "true or false"}.get(kind, "a path")
            raise ConfigError(f"{_ENV_NAMES[name]} must be {what}; got `{raw}`.") from None

    return read


def _path(raw: str) -> Path:
    return Path(raw).expanduser()


def _bool(raw: str) -> bool:
    if raw.lower() in _TRUE + _FALSE:
        return raw.lower() in _TRUE
    raise ValueError(raw)


_KINDS = {f.name: f.type for f in fields(Settings)}
_PARSERS = {"int": int, "float": float, "Path": _path, "int | None": int, "bool": _bool}
_READERS = {name: _typed(name, _PARSERS.get(_KINDS[name], str)) for name in _ENV_NAMES}


def load_dotenv(path: Path = Path(".env")) -> dict[str, str]:
    """Values from a `.env` file (KEY=VALUE lines, `#` comments); the real environment wins."""
    if not path.is_file():
        return dict(os.environ)
    merged: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            merged[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    merged.update(os.environ)
    return merged
