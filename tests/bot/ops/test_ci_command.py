"""The README's test command is exactly what CI runs (.ci/run), so a learner's green run means CI's."""
from __future__ import annotations

import re

from tests.support.paths import ROOT


def _ci_command() -> str:
    lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
             if line.strip() and not line.startswith("#") and not line.startswith(("set ", "cd "))]
    assert len(lines) == 1, f".ci/run should hold one command after its setup lines; found {lines}"
    return lines[0].strip()


def test_the_readme_test_command_is_exactly_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", readme, re.S)
    commands = {line.strip() for block in blocks for line in block.splitlines()}
    assert _ci_command() in commands, "README.md must show .ci/run's command verbatim"


def test_ci_tries_to_provide_postgresql_and_never_fails_on_it() -> None:
    script = (ROOT / "scripts" / "postgres-for-tests.sh").read_text()
    assert _ci_command().startswith("sh scripts/postgres-for-tests.sh; ")
    assert script.rstrip().endswith("exit 0") and "apt-get install" in script
