"""No import circle among the modules of core/ and bot/, counting the imports inside functions (they run too)
and leaving out those under `if TYPE_CHECKING:` (they never run); and the core imports no chat platform."""
from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLATFORMS = ("bot", "discord", "slack_bolt", "slack_sdk")


def modules(root: Path, packages: tuple[str, ...] = ("core", "bot")) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _typing_only(tree: ast.AST) -> set[int]:
    """The nodes under `if TYPE_CHECKING:`."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(sub) for sub in ast.walk(node))
    return skipped


def imported(name: str, path: Path, known: Mapping[str, Path] | None = None) -> list[str]:
    """Every module name `path` imports (absolute or relative), at any depth, TYPE_CHECKING left out.
    `from package import submodule` names the submodule alone (a package whose `__init__` stays light
    is not part of a circle through it); `from module import name` names the module."""
    tree = ast.parse(path.read_text())
    skipped, package = _typing_only(tree), name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: list[str] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                names.append(submodule if known is None or submodule in known else base)
    return names


def graph(root: Path) -> dict[str, set[str]]:
    known = modules(root)

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = {resolve(target) for target in imported(name, path, known)}
        edges[name] = {t for t in targets if t and t != name}
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(edges.get(target, ())))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_import_circle_among_the_modules_of_core_and_bot() -> None:
    edges = graph(ROOT)
    assert len(edges) > 100, "the graph found the modules"
    found = circles(edges)
    assert not found, "\n".join(
        " -> ".join(group) + "\n  edges: " + "; ".join(f"{m} -> {sorted(edges[m] & set(group))}" for m in group)
        for group in found)


def test_the_circle_finder_finds_a_circle_made_by_an_import_inside_a_function(tmp_path: Path) -> None:
    (tmp_path / "core").mkdir()
    (tmp_path / "bot").mkdir()
    (tmp_path / "core" / "__init__.py").write_text("")
    (tmp_path / "bot" / "__init__.py").write_text("")
    (tmp_path / "core" / "a.py").write_text("from core import b\n")
    (tmp_path / "core" / "b.py").write_text("def late():\n    from core.c import x\n")
    (tmp_path / "core" / "c.py").write_text("from typing import TYPE_CHECKING\nfrom . import a\n")
    (tmp_path / "core" / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import core.a\n")
    (tmp_path / "core" / "e.py").write_text("import core.d\n")
    assert circles(graph(tmp_path)) == [["core.a", "core.b", "core.c"]]


def test_the_core_imports_no_chat_platform_and_nothing_of_bot() -> None:
    found = {name: sorted({t for t in imported(name, path) if t.split(".")[0] in PLATFORMS})
             for name, path in modules(ROOT, ("core",)).items()}
    assert not {name: targets for name, targets in found.items() if targets}
