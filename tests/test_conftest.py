"""The suite's own scaffolding (tests/conftest.py): what pytest-xdist makes of the groups it names."""
from __future__ import annotations

from xdist.scheduler.loadgroup import LoadGroupScheduling

from tests.conftest import group_name


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
