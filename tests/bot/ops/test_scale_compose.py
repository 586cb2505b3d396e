"""The compose profile `scale` (docs/scale.md): a Ray head, the job that deploys the models, N bots and
PostgreSQL. Without a Docker engine, each service's environment is built the way compose builds it
(the image's ENV, then `env_file`, then `environment:`, with `${VAR}` taken from .env) and read by the
tutor's own `Settings`, so a setting the profile needs cannot drift from what the code reads."""
from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import Settings
from core.store.database import database_url
from tests.support.paths import ROOT

SCALE = ("ray-head", "serve-models", "bot", "postgres")
DOTENV = {"RAY_AUTH_TOKEN": "a-long-random-token-for-the-cluster", "POSTGRES_PASSWORD": "s3cret-pw",
          "DISCORD_TOKEN": "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123"}


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def interpolate(value: str, env: dict[str, str]) -> str:
    """compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}` (the error raised when VAR is unset)."""
    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2) or "", match.group(3) or ""
        if env.get(name):
            return env[name]
        if op == ":?":
            raise LookupError(arg)
        return arg

    return re.sub(r"\$\{(\w+)(:-|:\?)?([^}]*)\}", one, value)


def image_env() -> dict[str, str]:
    """Every ENV of the Dockerfile (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(pair.partition("=")[::2] for pair in shlex.split(line[4:]))
    return env


def service_env(name: str, dotenv: dict[str, str]) -> dict[str, str]:
    """What the service's container sees, with `dotenv` as both .env and the env_file."""
    service = compose()["services"][name]
    env = dict(image_env()) if "build" in service else {}
    if service.get("env_file"):
        env.update(dotenv)
    env.update({k: interpolate(str(v), dotenv) for k, v in (service.get("environment") or {}).items()})
    return env


def test_the_scale_services_are_all_behind_the_profile_and_the_default_service_is_not() -> None:
    services = compose()["services"]
    for name in SCALE:
        assert services[name]["profiles"] == ["scale"], name
    assert "profiles" not in services["tutor"], "`docker compose up` keeps starting the one-process tutor"
    assert "tutor-postgres" in compose()["volumes"]


def test_bots_reach_the_ray_head_and_postgres_as_the_tutor_reads_them() -> None:
    services = compose()["services"]
    head_port = next(int(a.split("=")[1]) for a in services["ray-head"]["command"] if a.startswith("--port="))
    bot = service_env("bot", DOTENV)
    settings = Settings.from_env(bot)
    assert settings.backend == "ray"
    host, _, port = settings.ray_address.rpartition(":")
    assert (host, int(port)) == ("ray-head", head_port)
    assert service_env("serve-models", DOTENV)["RAY_ADDRESS"] == settings.ray_address

    import sqlalchemy as sa

    url = sa.make_url(database_url(settings.cache_dir, bot["TUTOR_DATABASE_URL"]))
    postgres = service_env("postgres", DOTENV)
    assert url.get_backend_name() == "postgresql" and url.host == "postgres"
    assert (url.username, url.password, url.database) == (
        postgres["POSTGRES_USER"], DOTENV["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"])
    assert settings.cache_dir == Path("/data/tutor"), "the models stay on the shared volume"


def test_every_ray_process_shares_one_auth_token_and_the_image_has_the_extras() -> None:
    services = compose()["services"]
    for name in ("ray-head", "serve-models", "bot"):
        env = service_env(name, DOTENV)
        assert (env["RAY_AUTH_MODE"], env["RAY_AUTH_TOKEN"]) == ("token", DOTENV["RAY_AUTH_TOKEN"]), name
        assert services[name]["image"] == "transformers-tutor:ray"
    extras = services["ray-head"]["build"]["args"]["TUTOR_EXTRAS"].split(",")
    optional = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(extras) <= set(optional) and any(d.startswith("ray[serve]") for d in optional["ray"])
    assert any(d.startswith("psycopg") for d in optional["postgres"])


@pytest.mark.parametrize("missing", ["RAY_AUTH_TOKEN", "POSTGRES_PASSWORD"])
def test_the_profile_refuses_to_start_without_its_secrets(missing: str) -> None:
    dotenv = {k: v for k, v in DOTENV.items() if k != missing}
    with pytest.raises(LookupError, match=f"set {missing} in .env for the scale profile"):
        for name in SCALE:
            service_env(name, dotenv)


def test_bots_start_after_the_models_are_deployed_and_the_database_is_ready() -> None:
    services = compose()["services"]
    assert services["bot"]["depends_on"] == {"serve-models": {"condition": "service_completed_successfully"},
                                             "postgres": {"condition": "service_healthy"}}
    assert services["serve-models"]["depends_on"] == {"ray-head": {"condition": "service_healthy"}}
    assert services["serve-models"]["command"][:2] == ["tutor", "serve-models"]
    assert services["bot"]["command"] == ["tutor", "run"]


def test_every_variable_compose_reads_is_documented_in_env_example() -> None:
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "docker-compose.yml").read_text()))
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    assert used, "docker-compose.yml reads no variable: the pattern is wrong"
    assert sorted(used - documented) == [], "add these to .env.example (commented, with their defaults)"
