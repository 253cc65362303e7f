"""The import graph of the initcli package: no cycles, and backends reached only through the registry.

The graph is read from the source (the AST of every module), not from a running
interpreter, so it holds every import a module can make: the ones at module level
and the ones inside functions and methods (deferred imports, which keep start-up
cheap).  A deferred import that exists only to dodge a cycle still is the cycle:
it shows as an edge here.  Edges name the module an import loads: ``from .a import
b`` is an edge to ``a.b`` when that is a module, else to ``a``; imports under
``if TYPE_CHECKING:`` never run and are not edges.  The parents a dotted import
initialises implicitly (``initcli.backends`` for ``initcli.backends.buffers``) are
not edges either: every module depends on its package that way.

Backends: a module of the package that is not in ``initcli.backends`` never imports
a backend's stream module (the ones :data:`initcli.backends._MODULES` names, and
any other module there with the three stream functions): it asks
``initcli.backends.streams(name)``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import initcli
from initcli import backends

PACKAGE = Path(initcli.__file__).parent
STREAM_FUNCTIONS = {"uniform_chunks", "normal_chunks", "truncated_normal_chunks"}

KNOWN_CYCLES: dict[frozenset[str], str] = {
    frozenset(
        {
            "initcli.model.catalog",
            "initcli.model.layers",
            "initcli.model.layers.listing",
            "initcli.model.layers.recurrent",
            "initcli.model.layers.wrappers",
        }
    ): "the layer rules' table (model.layers.RULES) is read, through deferred imports, by rules that nest "
    "other layers (wrappers), by the near-miss class hints (catalog) and by the listing; not broken yet",
}
"""Cycles left to break, each with why it is there.  Any other cycle fails; so does an entry here that is
gone (delete it then)."""


def modules(package: Path) -> dict[str, tuple[Path, bool]]:
    """Every module under ``package``: dotted name -> (file, is a package ``__init__``)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        found[".".join(parts)] = (path, is_package)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _edges(tree: ast.Module, here: list[str], known: dict[str, tuple[Path, bool]], top: str) -> set[tuple[str, bool]]:
    """The imports of one module's ``tree`` within package ``top``; ``here`` is the module's own package."""
    edges: set[tuple[str, bool]] = set()

    def visit(node: ast.AST, module_level: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child, module_level)
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            module_level = False
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == top or alias.name.startswith(top + "."):
                    edges.add((alias.name, module_level))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target == top or target.startswith(top + "."):
                for alias in node.names:
                    child = f"{target}.{alias.name}"
                    edges.add((child if child in known else target, module_level))
        for child in ast.iter_child_nodes(node):
            visit(child, module_level)

    visit(tree, True)
    return edges


def imports(package: Path) -> dict[str, set[tuple[str, bool]]]:
    """The import graph of ``package``: module -> {(imported module, at module level)}, within the package."""
    known = modules(package)
    graph: dict[str, set[tuple[str, bool]]] = {}
    for name, (path, is_package) in known.items():
        here = name.split(".") if is_package else name.split(".")[:-1]
        edges = _edges(ast.parse(path.read_text(encoding="utf-8")), here, known, package.name)
        graph[name] = {(target, level) for target, level in edges if target != name}
    return graph


def cycles(graph: dict[str, set[tuple[str, bool]]], module_level_only: bool = False) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    edges = {m: sorted({t for t, level in out if level or not module_level_only}) for m, out in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def stream_modules(package: Path) -> set[str]:
    """The backend stream modules: those the registry names and any other in the backends package
    that defines the three stream functions."""
    named = set(backends._MODULES.values())
    for name, (path, _) in modules(package).items():
        if name.startswith(f"{package.name}.backends."):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
            if defined >= STREAM_FUNCTIONS:
                named.add(name)
    return named


def _describe(component: frozenset[str], graph: dict[str, set[tuple[str, bool]]]) -> str:
    edges = [
        f"{m} -> {t}{'' if level else ' (in a function)'}"
        for m in sorted(component)
        for t, level in sorted(graph[m])
        if t in component
    ]
    return "; ".join(edges)


def test_the_package_has_no_import_cycle():
    graph = imports(PACKAGE)
    found = set(cycles(graph))
    new = [c for c in found if c not in KNOWN_CYCLES]
    assert not new, "import cycles: " + " | ".join(_describe(c, graph) for c in new)
    gone = [sorted(c) for c in KNOWN_CYCLES if c not in found]
    assert not gone, f"these cycles are broken now; remove them from KNOWN_CYCLES: {gone}"


def test_module_level_imports_have_no_cycle_at_all():
    graph = imports(PACKAGE)
    found = cycles(graph, module_level_only=True)
    assert not found, " | ".join(_describe(c, graph) for c in found)


def test_only_the_backends_package_imports_a_stream_module():
    streams = stream_modules(PACKAGE)
    assert {"initcli.backends.numpy_streams", "initcli.backends.torch_streams"} <= streams
    graph = imports(PACKAGE)
    outside = [
        f"{m} imports {t}"
        for m, out in sorted(graph.items())
        if not (m == "initcli.backends" or m.startswith("initcli.backends."))
        for t, _ in sorted(out)
        if t in streams
    ]
    assert not outside, f"use initcli.backends.streams(name) instead: {outside}"
    named = [
        f"{m} names {node.value!r}"
        for m, (path, _) in sorted(modules(PACKAGE).items())
        if not (m == "initcli.backends" or m.startswith("initcli.backends."))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and node.value in streams
    ]
    assert not named, f"use initcli.backends.streams(name) instead: {named}"


@pytest.mark.parametrize("backend", backends.BACKENDS)
def test_the_registry_names_one_stream_module_per_backend(backend):
    """Each backend's module lives in the backends package and has the three stream functions."""
    assert set(backends._MODULES) == set(backends.BACKENDS)
    module = backends.streams(backend)
    assert module.__name__ == backends._MODULES[backend]
    assert module.__name__.startswith("initcli.backends.")
    assert all(callable(getattr(module, f)) for f in STREAM_FUNCTIONS)


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_the_checker_sees_deferred_and_relative_imports(tmp_path):
    """The graph reader itself: a cycle closed by an import inside a function, one made by ``from .. import``
    of a module, and ``if TYPE_CHECKING:`` imports left out."""
    package = _package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from .b import thing\n",
            "b.py": "def thing():\n    from . import a\n",
            "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .d import x\n",
            "d.py": "from .c import y\n",
            "sub/__init__.py": "",
            "sub/e.py": "from .. import f\n",
            "f.py": "class F:\n    def m(self):\n        from .sub import e\n",
        },
    )
    graph = imports(package)
    assert graph["pkg.a"] == {("pkg.b", True)}
    assert graph["pkg.b"] == {("pkg.a", False)}
    assert graph["pkg.c"] == set()
    assert graph["pkg.sub.e"] == {("pkg.f", True)}
    assert set(cycles(graph)) == {frozenset({"pkg.a", "pkg.b"}), frozenset({"pkg.sub.e", "pkg.f"})}
    assert cycles(graph, module_level_only=True) == []
