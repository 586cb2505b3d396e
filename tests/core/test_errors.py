"""The error tree is written down once, in core/errors.py, and stays complete."""
from __future__ import annotations

import ast

import core.errors
from core.settings import ConfigError
from tests.support.paths import ROOT


def _exception_classes() -> set[str]:
    """Every class in core/ and bot/ that derives from an exception (by the base's name)."""
    found: set[str] = set()
    for path in [*ROOT.joinpath("core").rglob("*.py"), *ROOT.joinpath("bot").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and (b.id.endswith(("Error", "Exception"))) for b in node.bases
            ):
                found.add(node.name)
    return found


def test_every_exception_class_of_the_tutor_is_in_the_error_tree():
    classes = _exception_classes()
    assert {"UserError", "ConfigError"} <= classes
    missing = sorted(c for c in classes if c not in core.errors.__doc__)
    assert not missing, f"add {missing} to the tree in core/errors.py, with how each reaches the learner"


def test_config_error_is_one_class_wherever_it_is_imported_from():
    assert core.errors.ConfigError is ConfigError
