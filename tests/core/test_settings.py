"""Configuration: .env.example tells the truth about the defaults, and bad values are one clear error."""
import re
from pathlib import Path

import pytest

from core.settings import _ENV_NAMES, ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]


def example_values(*, commented: bool = False) -> dict[str, str]:
    """`VAR=value` lines of .env.example; with `commented`, the `# VAR=value` lines that show a default too."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    pattern = r"^(?:#\s*)?([A-Z_0-9]+)=(.*)$" if commented else r"^([A-Z_0-9]+)=(.*)$"
    found = (re.match(pattern, line) for line in lines)
    return {m.group(1): m.group(2) for m in found if m and m.group(1) in _ENV_NAMES.values()}


def test_env_example_values_are_the_defaults():
    """Set or commented out, every value .env.example shows for a setting is the code's default."""
    values = example_values(commented=True)
    defaults, example = Settings(), Settings.from_env(values)
    different = [var for name, var in _ENV_NAMES.items()
                 if var in values and str(getattr(defaults, name)) != str(getattr(example, name))]
    assert different == []
    assert len(values) >= len(_ENV_NAMES)  # every setting shows its default


def test_env_example_leaves_the_settings_the_docker_image_sets_commented_out():
    """Set in .env, they would replace the image's values (docs/docker.md: `cp .env.example .env`)."""
    assert not {"TUTOR_HEALTH_PORT", "TUTOR_HEALTH_HOST", "TUTOR_CACHE_DIR"} & set(example_values())


@pytest.mark.parametrize("env, message", [
    ({"TUTOR_PACK": "huge"}, "TUTOR_PACK must be one of hub, offline, tiny"),
    ({"TUTOR_MAX_BATCH": "0"}, "TUTOR_MAX_BATCH must be at least 1"),
    ({"TUTOR_BATCH_WAIT_MS": "soon"}, "TUTOR_BATCH_WAIT_MS must be a number"),
    ({"TUTOR_DEVICE": "tpu"}, "TUTOR_DEVICE must be one of auto, cpu, cuda"),
])
def test_bad_values_name_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


@pytest.mark.parametrize("variable, value", [
    ("TUTOR_REQUEST_TIMEOUT_S", "nan"), ("TUTOR_REQUEST_TIMEOUT_S", "inf"), ("TUTOR_REQUEST_TIMEOUT_S", "1e999"),
    ("TUTOR_COOLDOWN_S", "inf"), ("TUTOR_COOLDOWN_S", "nan"), ("TUTOR_COOLDOWN_S", "-inf"),
    ("TUTOR_BATCH_WAIT_MS", "nan"), ("TUTOR_BATCH_WAIT_MS", "Infinity"),
])
def test_non_finite_numbers_are_refused(variable, value):
    with pytest.raises(ConfigError, match=rf"^{variable} must be a finite number; got `{value}`\.$"):
        Settings.from_env({variable: value})


@pytest.mark.parametrize("variable, value, bounds", [
    ("TUTOR_BATCH_WAIT_MS", "-1", "between 0 and 1000"),
    ("TUTOR_BATCH_WAIT_MS", "5000", "between 0 and 1000"),
    ("TUTOR_TORCH_THREADS", "-2", "between 0 and 1024"),
    ("TUTOR_REQUEST_TIMEOUT_S", "0", "between 0.1 and 86400"),
    ("TUTOR_REQUEST_TIMEOUT_S", "-5", "between 0.1 and 86400"),
    ("TUTOR_REQUEST_TIMEOUT_S", "100000", "between 0.1 and 86400"),
    ("TUTOR_COOLDOWN_S", "-1", "between 0 and 86400"),
    ("TUTOR_COOLDOWN_S", "100000", "between 0 and 86400"),
    ("TUTOR_WORKERS", "0", "between 1 and 256"),
    ("TUTOR_WORKERS", "100000", "between 1 and 256"),
    ("TUTOR_MEMORY_BUDGET_MB", "-4096", "at least 1"),
    ("TUTOR_MAX_QUEUE", "-1", "at least 1"),
    ("TUTOR_MAX_BATCH_TOKENS", "0", "at least 1"),
])
def test_out_of_range_numbers_name_the_variable_and_the_range(variable, value, bounds):
    with pytest.raises(ConfigError, match=rf"^{variable} must be {bounds}[^;]*; got {value}\.$"):
        Settings.from_env({variable: value})


@pytest.mark.parametrize("value", ["0.5", "86400", "0.1"])
def test_in_range_timeouts_are_accepted(value):
    assert Settings.from_env({"TUTOR_REQUEST_TIMEOUT_S": value}).request_timeout_s == float(value)


@pytest.mark.parametrize("host", ["not a host", "exa mple.com", "-bad.example", "http://x", "1.2.3.4:80", "a" * 300])
def test_an_invalid_health_host_is_refused(host):
    with pytest.raises(ConfigError, match=r"^TUTOR_HEALTH_HOST must be an IP address or a host name"):
        Settings.from_env({"TUTOR_HEALTH_HOST": host})


@pytest.mark.parametrize("host", ["0.0.0.0", "127.0.0.1", "::", "::1", "localhost", "tutor-health.internal"])
def test_valid_health_hosts_are_accepted(host):
    assert Settings.from_env({"TUTOR_HEALTH_HOST": host}).health_host == host


