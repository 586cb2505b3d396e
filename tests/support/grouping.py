"""How the suite deals its tests to pytest-xdist's workers (`--dist loadgroup`), kept light enough to load in a
test's own small pytest run (tests/test_conftest.py).

A module's tests stay on one worker where they share a module-scoped fixture (a Ray cluster, a fake server, a
fresh virtual environment, the offline lesson walk): built once, not once per worker. Other tests are dealt one
by one to whichever worker is free, so one long module does not keep one worker busy while the other idles.
A parametrized module fixture (one per pack) makes a group per parameter, named `file/param` without brackets:
pytest-xdist reads a group name that ends in `]` as a test's parameters and deals each such test alone.

Two conditions, each of which once made the grouping silently vanish (every test dealt alone):
- the marks must be added before pytest-xdist's own collection hook reads them (`tryfirst` in conftest.py);
- pytest below 9.2 (pyproject.toml), which pytest-xdist 3.8 can still tell a test's group through."""
from __future__ import annotations

import pytest


def mark_groups(items: list[pytest.Item]) -> None:
    """Mark each test that shares a module-, class- or package-scoped fixture with its group."""
    for item in items:
        definitions = getattr(item, "_fixtureinfo", None)
        if definitions is None:
            continue
        shared = sorted(name for name, defs in definitions.name2fixturedefs.items()
                        if defs and defs[-1].scope in ("module", "class", "package"))
        if not shared:
            continue
        params = getattr(getattr(item, "callspec", None), "params", {})
        item.add_marker(pytest.mark.xdist_group(group_name(item.nodeid, [params[n] for n in shared if n in params])))


def group_name(nodeid: str, params: list[object]) -> str:
    """The module's path, then each parameter of its shared fixtures: `tests/x.py/offline` (no `]` or `@`)."""
    group = nodeid.split("::")[0] + "".join(f"/{param}" for param in params)
    return group.replace("]", ")").replace("@", "-")
