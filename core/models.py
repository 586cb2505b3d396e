"""Loading models: lazily, once per process, shared by all requests, within a memory budget.

The store keeps loaded models in least-recently-used order and evicts the oldest when the
total size passes `TUTOR_MEMORY_BUDGET_MB`. A Hub model that is not cached and cannot be
downloaded fails fast with a message that says what to do, never a hang.
"""
from __future__ import annotations

import gc
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetensors import SafetensorError

from core.cachelock import build_once
from core.errors import UserError
from core.gguf_reads import reading_each_gguf_once
from core.integrity import damage
from core.packs import ModelSpec
from core.progress import job
from core.settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from core.tiny import TinyModel

log = logging.getLogger("tutor.models")

# Short network time-outs, so a flaky Hub fails in seconds; set before huggingface_hub is imported
# (it reads them once), and only where the user has not chosen their own.
os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "5")
os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "20")

LOAD_ERRORS: tuple[type[BaseException], ...] = (OSError, json.JSONDecodeError, SafetensorError)
"""What `from_pretrained` raises for a missing or unreadable file."""

_MODEL_CLASSES = {
    "classifier": "AutoModelForSequenceClassification",
    "nli": "AutoModelForSequenceClassification",
    "token-classifier": "AutoModelForTokenClassification",
    "extractive-qa": "AutoModelForQuestionAnswering",
    "seq2seq": "AutoModelForSeq2SeqLM",
    "causal-lm": "AutoModelForCausalLM",
    "chat": "AutoModelForCausalLM",
    "masked-lm": "AutoModelForMaskedLM",
    "embedding": "AutoModel",
    "encoder": "AutoModel",
    "decoder": "AutoModelForCausalLM",
}
EAGER = ("encoder", "decoder")
"""Kinds loaded with eager attention: SDPA and the fused kernels cannot return the attention weights."""


@dataclass
class Loaded:
    """A loaded tokenizer and model, and the pipelines built on them (built once)."""

    command: str
    spec: ModelSpec
    role: str
    tokenizer: Any
    model: Any | None
    device: str
    size_bytes: int
    _pipelines: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def pipeline(self, task: str) -> Any:
        with self._lock:
            if task not in self._pipelines:
                from transformers import pipeline

                self._pipelines[task] = pipeline(task, model=self.model, tokenizer=self.tokenizer, device=self.device)
            return self._pipelines[task]


def set_torch_threads(threads: int) -> None:
    """torch threads x workers <= cores, so workers don't fight over the same cores. Set before each model load,
    not when the engine starts: importing torch costs seconds that answers without a model need not pay, and
    every thread that computes has loaded (or waited for) a model first, so each reads this setting before
    its first parallel work."""
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


class ModelStore:
    def __init__(self, settings: Settings, twins: Mapping[str, TinyModel] | None = None) -> None:
        """`twins`: the tiny pack's models by command (`Pack.twins()`), built together on first use; a tiny
        model outside them is built alone."""
        self.settings = settings
        self.twins: Mapping[str, TinyModel] = twins or {}
        self.budget_bytes = settings.memory_budget_mb * 1024 * 1024
        self._loaded: OrderedDict[tuple[str, str], Loaded] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._hub_ok_until = 0.0
        self.loads = 0

    def get(self, command: str, spec: ModelSpec) -> Loaded:
        key = (spec.source, spec.role)
        with self._lock:
            if key in self._loaded:
                self._loaded.move_to_end(key)
                return self._loaded[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # one load per model even when several requests arrive together
            with self._lock:
                if key in self._loaded:
                    return self._loaded[key]
            loaded = self._load(command, spec)
            with self._lock:
                self._loaded[key] = loaded
                self._evict(keep=key)
            return loaded

    def loaded(self) -> list[Loaded]:
        with self._lock:
            return list(self._loaded.values())

    def clear(self) -> None:
        with self._lock:
            self._loaded.clear()

    def _evict(self, keep: tuple[str, str]) -> None:
        total = sum(m.size_bytes for m in self._loaded.values())
        for key in list(self._loaded):
            if total <= self.budget_bytes:
                break
            if key != keep:
                total -= self._loaded.pop(key).size_bytes
                log.info("evicted model=%s to stay within %d MB", key[0], self.settings.memory_budget_mb)

    def _load(self, command: str, spec: ModelSpec) -> Loaded:
        import transformers

        set_torch_threads(self.settings.effective_threads())
        transformers.utils.logging.disable_progress_bar()  # its "Loading weights" bar, on every load
        _hub_bars_as_configured()

        started = time.perf_counter()
        self._check_reachable(spec)
        device = self.device()
        source, extra = self._source(spec, weights=not spec.tokenizer_only)
        role = spec.role if spec.role != "auto" else resolve_role(spec.roles, source)
        try:
            with _downloading(spec):
                tokenizer, model = _from_pretrained(role, source, extra, device)
        except MemoryError:
            raise
        except Exception as exc:  # a copy we made is rebuilt once whatever broke it; others re-raise
            if not (spec.is_tiny or spec.gguf_file):
                if isinstance(exc, LOAD_ERRORS):
                    raise UserError(f"The model in {source} for /{command} could not be loaded: "
                                    f"{_first_line(exc)} Restore or re-download that folder.") from exc
                raise
            log.warning("could not load the cached copy in %s (%s); rebuilding it once", source, _first_line(exc))
            self._rebuild(spec)
            tokenizer, model = _from_pretrained(role, source, extra, device)
        size = sum(p.numel() * p.element_size() for p in model.parameters()) if model is not None else 0
        self.loads += 1
        log.info("loaded model=%s role=%s device=%s mb=%.0f seconds=%.1f",
                 spec.hub_id, role, device, size / 2**20, time.perf_counter() - started)
        return Loaded(command, spec, role, tokenizer, model, device, size)

    def device(self) -> str:
        import torch

        wanted = self.settings.device
        if wanted == "cuda" and not torch.cuda.is_available():
            raise UserError("TUTOR_DEVICE=cuda but no CUDA GPU is visible. Use TUTOR_DEVICE=auto or cpu.")
        return "cuda" if wanted in ("cuda", "auto") and torch.cuda.is_available() else "cpu"

    def _source(self, spec: ModelSpec, weights: bool) -> tuple[str, dict[str, Any]]:
        """The folder (or Hub id) to load, checked first: a damaged cached copy (the tiny pack, a
        de-quantised GGUF) is rebuilt once; damage anywhere else is a UserError naming the file.
        `weights`: the command loads the model, not only its tokenizer."""
        if spec.is_tiny:
            from core.tiny import ensure_tiny, rebuild_model

            folder = Path(spec.source)
            ensure_tiny(folder.parent, self.twins or {folder.name: self._twin(spec)})
            if _report_damage(folder) is not None:
                rebuild_model(folder.parent, folder.name, self._twin(spec),
                              still_needed=lambda: damage(folder) is not None)
            return spec.source, {}
        if spec.gguf_file:
            return str(ensure_dequantised(self.settings, spec)), {}
        if spec.is_local:
            _refuse_damage(Path(spec.source), complete=weights and _has_config(spec.source))
        else:
            snapshot = _hub_snapshot(spec.source, spec.revision)
            if snapshot is not None:
                _refuse_damage(snapshot, complete=False)
        return spec.source, {"revision": spec.revision} if spec.revision else {}

    def _twin(self, spec: ModelSpec) -> TinyModel:
        """How to build a tiny model: its spec's own twin, or the pack's for its folder (a spec made by a
        task, as /compare's, names only the folder)."""
        twin = spec.tiny or self.twins.get(Path(spec.source).name)
        if twin is None:
            raise UserError(f"No tiny model is declared for {spec.hub_id}: the tiny pack cannot build it.")
        return twin

    def _rebuild(self, spec: ModelSpec) -> None:
        """Rebuild a cached copy that passed the checks but still failed to load (once, by the caller)."""
        if spec.is_tiny:
            from core.tiny import rebuild_model

            folder = Path(spec.source)
            rebuild_model(folder.parent, folder.name, self._twin(spec), still_needed=lambda: True)
        else:
            ensure_dequantised(self.settings, spec, force=True)

    def _check_reachable(self, spec: ModelSpec) -> None:
        if spec.is_tiny or spec.is_local or spec.gguf_file or time.monotonic() < self._hub_ok_until:
            return
        from huggingface_hub import try_to_load_from_cache

        if isinstance(try_to_load_from_cache(spec.source, "config.json", revision=spec.revision), str):
            return
        if spec.role == "tokenizer" and isinstance(
                try_to_load_from_cache(spec.source, "tokenizer_config.json", revision=spec.revision), str):
            return
        if hub_reachable():
            self._hub_ok_until = time.monotonic() + 60
            return
        raise UserError(
            f"This tutor uses {spec.hub_id} from the Hugging Face Hub, which is not in the local cache, "
            "and the Hub cannot be reached from this machine. Switch to the offline pack "
            "(`--pack offline` or TUTOR_PACK=offline), or pre-fetch the models with `tutor models pull` "
            "on a machine with network and share its Hugging Face cache."
        )


def _hub_bars_as_configured() -> None:
    """transformers' switch for its own bars turns the Hub's download bars off as well: turn those back on
    unless HF_HUB_DISABLE_PROGRESS_BARS says otherwise (`tutor` sets it where stderr is no terminal)."""
    from huggingface_hub import constants
    from huggingface_hub.utils import enable_progress_bars

    if constants.HF_HUB_DISABLE_PROGRESS_BARS is None:
        enable_progress_bars()


def _downloading(spec: ModelSpec) -> AbstractContextManager[object]:
    """A progress job around a load that downloads a Hub model (one not in the Hugging Face cache yet)."""
    if spec.is_tiny or spec.is_local or spec.gguf_file or _hub_snapshot(spec.source, spec.revision) is not None:
        return nullcontext()
    return job(f"Downloading {spec.hub_id} from the Hugging Face Hub", note="first use")


def hub_offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) as huggingface_hub itself reads it (1, true, yes or on, in any
    case), once, when it is first imported: the one reading of it in the tutor, so it means here what it
    means to every download. (`tutor` exports `.env` into the environment before that import: bot/ops/cli.py.)"""
    from huggingface_hub import constants

    return constants.HF_HUB_OFFLINE


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the Hub (HF_ENDPOINT) answers, asked through huggingface_hub's own HTTP session: its proxies
    (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), certificates and headers, as a download would go; a short time-out,
    so a missing network fails in seconds. Any HTTP answer counts: the Hub is there."""
    if hub_offline():
        return False
    from huggingface_hub import constants
    from huggingface_hub.utils import get_session

    try:
        get_session().head(constants.ENDPOINT, timeout=timeout_s)
    except Exception as exc:  # noqa: BLE001 - any failure (DNS, refused, proxy, TLS, time-out) means unreachable
        log.debug("the Hub at %s does not answer: %s", constants.ENDPOINT, exc)
        return False
    return True


_ROLE_SIGNS: dict[str, Callable[[Any], bool]] = {
    "nli": lambda config: any("entail" in str(v).lower() for v in (getattr(config, "id2label", None) or {}).values()),
    "extractive-qa": lambda config: any("QuestionAnswering" in a for a in config.architectures or []),
    "seq2seq": lambda config: bool(getattr(config, "is_encoder_decoder", False)),
}
"""What in a model's config shows it can play a role that a command gives only to a model made for it;
any other role fits any model."""


def resolve_role(roles: tuple[str, ...], source: str) -> str:
    """The role of a model given by TUTOR_MODEL_<COMMAND>: the first of the command's `roles` that its
    config shows (an NLI head for /zeroshot, a question-answering head for /qa, an encoder-decoder for
    /summarize), else the last. The config is read only when the first role needs a sign."""
    if not roles:
        raise ValueError("a model declared `auto` needs the roles its command accepts")
    config = None
    for role in roles[:-1]:
        sign = _ROLE_SIGNS.get(role)
        if sign is None:
            return role
        if config is None:
            from transformers import AutoConfig

            config = AutoConfig.from_pretrained(source)
        if sign(config):
            return role
    return roles[-1]


def dequantised_dir(settings: Settings, spec: ModelSpec) -> Path:
    """Where a GGUF model's de-quantised safetensors copy is cached."""
    return Path(settings.cache_dir).expanduser() / "dequantised" / Path(spec.gguf_file or "").stem


def ensure_dequantised(settings: Settings, spec: ModelSpec, force: bool = False) -> Path:
    """The de-quantised copy of a GGUF model: made once, under a lock shared by every process using
    this cache (core/cachelock.py), and made again (once) when a file in it is damaged. The making is a
    progress job (core/progress.py): it takes about 10 s (core/gguf_reads.py), and a first `tutor ask`
    would otherwise show nothing."""
    cached = dequantised_dir(settings, spec)

    def make(staging: Path) -> None:  # holding the lock
        found = damage(cached)
        if found is not None and cached.exists():
            log.warning("damaged cache file %s (%s); de-quantising %s again", found[0], found[1], spec.gguf_file)
        why = ("first use" if not cached.exists() else "its cached copy is damaged" if found
               else "its cached copy failed to load")
        name = spec.hub_id.rsplit("/", 1)[-1]
        with job(f"De-quantising {name}", note=f"{why}, about 10 s", steps=3) as making:  # core/progress.py
            dequantise_gguf(Path(spec.source), spec.gguf_file or "", staging, step=making.step)

    build_once(cached, is_built=lambda: not force and damage(cached) is None, build=make)
    return cached


def dequantise_gguf(folder: Path, gguf_file: str, target: Path, step: Callable[[str], None] = lambda _: None) -> None:
    """Save a float32 safetensors copy of a GGUF model into `target`, then collect the cycles the GGUF loader
    left. `step` is told each of the three steps as it begins (reading the tokenizer, the weights, saving).

    The explicit collection matters because `tutor` pauses the cyclic collector while it starts
    (bot/ops/cli.py): without it, the discarded float32 copy (hundreds of MB) would stay until exit."""
    try:
        with reading_each_gguf_once():  # core/gguf_reads.py: half the time, the same bytes
            _write_dequantised(folder, gguf_file, target, step)
    finally:
        gc.collect()


def _write_dequantised(folder: Path, gguf_file: str, target: Path, step: Callable[[str], None]) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    step("reading the tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)
    step("de-quantising the weights")
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file)
    model.hf_quantizer = None  # the weights are plain float32 now: save them as such
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    step("saving")
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)


def _from_pretrained(role: str, source: str, extra: dict[str, Any], device: str) -> tuple[Any, Any | None]:
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(source, **extra)
    if role == "tokenizer":
        return tokenizer, None
    cls = getattr(transformers, _MODEL_CLASSES[role])
    attn = {"attn_implementation": "eager"} if role in EAGER else {}
    return tokenizer, cls.from_pretrained(source, **extra, **attn).to(device).eval()


def _report_damage(folder: Path) -> tuple[Path, str] | None:
    """Damage in a cached copy we can rebuild: one log line, and the caller rebuilds."""
    found = damage(folder)
    if found is not None:
        log.warning("damaged cache file %s (%s); rebuilding %s", found[0], found[1], folder)
    return found


def _refuse_damage(folder: Path, complete: bool) -> None:
    """Damage in a folder we did not make (TUTOR_MODEL_<COMMAND>, the Hugging Face cache): say which file."""
    found = damage(folder, complete=complete)
    if found is not None:
        raise UserError(f"The model file {found[0]} cannot be loaded: {found[1]}. Restore or re-download it "
                        "(a Hub model: delete that file and run `tutor models pull`).")


def _has_config(source: str) -> bool:
    """A folder with only tokenizer files is fine for /tokenize; one with a config needs its weights."""
    return (Path(source) / "config.json").exists()


def _hub_snapshot(repo_id: str, revision: str | None = None) -> Path | None:
    """The Hugging Face cache folder of a Hub model (at `revision`, `main` by default), when its config is cached."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    return Path(found).parent if isinstance(found, str) else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
