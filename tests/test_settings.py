"""Configuration: .env.example tells the truth about the defaults, and bad values are one clear error."""
import re
from pathlib import Path

import pytest

from core.settings import _ENV_NAMES, ConfigError, Settings

ROOT = Path(__file__).resolve().parent.parent


def example_values() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {m.group(1): m.group(2) for m in (re.match(r"^([A-Z_0-9]+)=(.*)$", line) for line in lines) if m}


def test_env_example_values_are_the_defaults():
    defaults, example = Settings(), Settings.from_env(example_values())
    different = [var for name, var in _ENV_NAMES.items()
                 if var in example_values() and str(getattr(defaults, name)) != str(getattr(example, name))]
    assert different == []


@pytest.mark.parametrize("env, message", [
    ({"TUTOR_PACK": "huge"}, "TUTOR_PACK must be one of hub, offline, tiny"),
    ({"TUTOR_MAX_BATCH": "0"}, "TUTOR_MAX_BATCH must be at least 1"),
    ({"TUTOR_BATCH_WAIT_MS": "soon"}, "TUTOR_BATCH_WAIT_MS must be a number"),
    ({"TUTOR_DEVICE": "tpu"}, "TUTOR_DEVICE must be one of auto, cpu, cuda"),
])
def test_bad_values_name_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)
