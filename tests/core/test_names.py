"""One meaning per name: "kind" is a kind of quiz question, nowhere else (docs/architecture.md).

The other things once called a kind have their own names: a request's `Verdict`, a model's `role`,
an option's `type`, a Slack request's `via`. The check reads the source with `ast`, so a comment or a
sentence for the learner may still say "kind"; a keyword argument to another library (NumPy's
`argsort(kind="stable")`) is that library's name, not ours.
"""

from __future__ import annotations

import ast

from tests.support.paths import ROOT

QUESTION_KINDS = ("core/tutor/", "core/store/")
"""Where questions are made, asked and kept: the one place a `kind` is a question's kind."""


def kind_names(source: str) -> list[tuple[int, str]]:
    """Where a module names something `kind`/`Kind` itself: a variable, an argument, an attribute, a class."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in ("kind", "kinds"):
            found.append((node.lineno, f".{node.attr}"))
        elif isinstance(node, ast.arg) and node.arg in ("kind", "kinds"):
            found.append((node.lineno, f"argument {node.arg}"))
        elif isinstance(node, ast.Name) and node.id in ("kind", "kinds", "Kind"):
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.ClassDef) and "Kind" in node.name:
            found.append((node.lineno, f"class {node.name}"))
        elif isinstance(node, ast.alias) and "Kind" in (node.asname or node.name).split(".")[-1]:
            found.append((node.lineno, f"import {node.asname or node.name}"))
    return found


def test_kind_names_a_question_kind_and_nothing_else_in_core_and_bot():
    elsewhere = []
    for path in sorted([*ROOT.glob("core/**/*.py"), *ROOT.glob("bot/**/*.py")]):
        rel = path.relative_to(ROOT).as_posix()
        if not rel.startswith(QUESTION_KINDS):
            elsewhere += [f"{rel}:{line} {what}" for line, what in kind_names(path.read_text())]
    assert not elsewhere, "`kind` means a question's kind only (docs/architecture.md): " + ", ".join(elsewhere)


def test_the_check_finds_a_kind_by_any_of_its_forms():
    planted = ("from core.policy import Kind\nclass OptionKind: ...\n"
               "def f(kind):\n    spec.kind = 1\n    kinds = []\n")
    assert sorted(kind_names(planted)) == [(1, "import Kind"), (2, "class OptionKind"), (3, "argument kind"),
                                           (4, ".kind"), (5, "kinds")]
    assert kind_names('np.argsort(x, kind="stable")  # a kind of sort\n') == []
