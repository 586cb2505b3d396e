"""The suite's own scaffolding (tests/conftest.py, tests/support/grouping.py): what pytest-xdist makes of the
groups it names, read by xdist's own code and seen in a small pytest run on two workers; and the terminal
runner (tests/support/terminal.py) on a child that fills its piped stderr."""
from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from xdist.scheduler.loadgroup import LoadGroupScheduling

from tests.support.grouping import group_name
from tests.support.paths import ROOT
from tests.support.terminal import on_terminal


def scope_of(nodeid: str, group: str) -> str:
    """The work unit pytest-xdist deals a test in: the test's node id, then `@` and its group (xdist's own
    reading of it, `--dist loadgroup`)."""
    return LoadGroupScheduling._split_scope(None, f"{nodeid}@{group}")  # type: ignore[arg-type]


def test_the_tests_of_a_parametrized_module_fixture_are_dealt_together() -> None:
    """One walk of the offline pack serves every test of tests/core/tutor/test_lesson_walks.py: they must reach
    one worker as one unit (a group named `...py[offline]` was read as a test's parameters, one unit per test)."""
    module = "tests/core/tutor/test_lesson_walks.py"
    group = group_name(f"{module}::test_no_step_is_a_dead_end[offline]", ["offline"])
    scopes = {scope_of(f"{module}::{test}[offline]", group) for test in ("test_no_step_is_a_dead_end",
                                                                          "test_the_path_ends_counting_every_lesson")}
    assert scopes == {group}
    assert scope_of(f"{module}::test_no_step_is_a_dead_end[tiny]", group_name(module, ["tiny"])) != group


def test_a_parameter_with_brackets_or_an_at_sign_still_names_one_group() -> None:
    group = group_name("tests/x.py::test_a[p]", ["a]@b"])
    assert scope_of("tests/x.py::test_a[a]@b]", group) == scope_of("tests/x.py::test_b[a]@b]", group) == group


CONFTEST = """
import pytest
from tests.support.grouping import mark_groups

@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    mark_groups(items)
"""

SHARED = """
import os, pytest

@pytest.fixture(scope="module", params=["tiny", "offline"])
def walk(request):
    with open("builds.txt", "a") as out:
        out.write(f"{request.param} {os.environ['PYTEST_XDIST_WORKER']}\\n")
    return request.param

@pytest.mark.parametrize("step", range(6))
def test_step(walk, step):
    with open("ran.txt", "a") as out:
        out.write(f"{walk} {os.environ['PYTEST_XDIST_WORKER']}\\n")

@pytest.mark.parametrize("alone", range(6))
def test_alone(alone):
    with open("ran.txt", "a") as out:
        out.write(f"alone {os.environ['PYTEST_XDIST_WORKER']}\\n")
"""


def test_a_module_fixtures_tests_run_on_one_worker_that_builds_it_once(tmp_path: Path) -> None:
    """The grouping as it runs: on two workers, each parameter of a shared module fixture is built once, on one
    worker, which runs all its tests. It failed with the marks added
    after pytest-xdist's hook had read them, and with pytest 9.2 (pyproject.toml says why)."""
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_shared.py").write_text(SHARED)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadgroup", "-p",
                           "no:cacheprovider", "-p", "no:randomly"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    builds = sorted((tmp_path / "builds.txt").read_text().split("\n")[:-1])
    assert [line.split()[0] for line in builds] == ["offline", "tiny"], builds
    workers: dict[str, set[str]] = defaultdict(set)
    for line in (tmp_path / "ran.txt").read_text().splitlines():
        what, worker = line.split()
        workers[what].add(worker)
    for line in builds:
        param, worker = line.split()
        assert workers[param] == {worker}, f"the {param} tests ran on {workers[param]}, built on {worker}"


def test_a_terminal_run_reads_a_piped_stderr_while_the_child_writes(tmp_path: Path) -> None:
    """A child that writes more to a piped stderr than a pipe holds (64 KB) before its last line must not stall:
    the helper reads both streams as they come, so the line reaches the terminal long before the deadline."""
    noisy = "import sys; sys.stderr.write('x' * 300_000); sys.stderr.flush(); print('done')"
    run = on_terminal(cwd=tmp_path, stderr_to_terminal=False, timeout=30, program=("-c", noisy))
    assert (run.code, run.plain.strip(), len(run.stderr)) == (0, "done", 300_000)
