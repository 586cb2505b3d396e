"""Every registered platform adapter keeps the protocol: named, documented, checked, redacted."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.adapter import (
    ADAPTERS,
    Adapter,
    adapter_class,
    adapter_variables,
    all_secrets,
    nothing_configured,
    wanted_adapters,
)
from core.settings import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_each_adapter_is_a_registered_adapter_under_its_own_name(name: str) -> None:
    cls = adapter_class(name)
    assert issubclass(cls, Adapter) and cls.name == name
    assert any(v.secret for v in cls.variables), "a platform is switched on by a secret (its token)"
    assert cls.network and cls.display_name()


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_each_adapters_light_settings_are_the_variables_it_reads(name: str) -> None:
    assert adapter_variables(name) is adapter_class(name).variables


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_every_variable_an_adapter_reads_is_documented_in_env_example(name: str) -> None:
    example = (ROOT / ".env.example").read_text()
    missing = [v.env for v in adapter_class(name).variables if v.env not in example]
    assert not missing, f"document {missing} in .env.example"


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_a_platform_with_nothing_set_is_not_started_and_says_how_to_start_it(name: str) -> None:
    cls = adapter_class(name)
    assert not cls.wanted({})
    with pytest.raises(ConfigError, match="Set "):
        wanted_adapters({}, only=name)
    assert cls.how_to_enable() in nothing_configured()


def test_secrets_of_every_platform_are_redacted_and_nothing_else() -> None:
    env = {v.env: f"value-of-{v.env}" for name in ADAPTERS for v in adapter_class(name).variables}
    secret = {f"value-of-{v.env}" for name in ADAPTERS for v in adapter_class(name).variables if v.secret}
    assert set(all_secrets(env)) == secret
