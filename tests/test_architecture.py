"""The package graph, built from the code itself: printed, and free of cycles.

A node is a package or module directly under `app`, `workers` or `simulator` (app.cases,
app.flows, workers.dispatch, simulator.service, ...); an edge is any import between two
nodes, wherever it stands (top of a module, inside a function, under TYPE_CHECKING). The
intended order of the layers is written in pyproject.toml ([tool.importlinter]) and checked
by `lint-imports`; this test is the plain view of what the code does.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROOTS = ("app", "workers", "simulator")

Graph = dict[str, set[str]]


def _node(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] not in ROOTS:
        return None
    return ".".join(parts[:2])


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(tree: ast.AST, module: str) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: -node.level]
                base = ".".join([*package, base] if base else package)
            # `from app import logs` imports the module app.logs.
            yield from (f"{base}.{alias.name}" for alias in node.names)


def package_graph() -> Graph:
    graph: Graph = defaultdict(set)
    for root in ROOTS:
        for path in sorted((ROOT / root).rglob("*.py")):
            module = _module_name(path)
            source = _node(module)
            if source is None or source in ROOTS:
                continue  # a package's own __init__ imports nothing of note
            graph[source]
            for name in _imported(ast.parse(path.read_text(encoding="utf-8")), module):
                target = _node(name)
                if target is not None and target != source and target not in ROOTS:
                    graph[source].add(target)
    return dict(graph)


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def render(graph: Graph) -> str:
    return "\n".join(
        f"{node} -> {' '.join(sorted(graph[node])) or '(nothing)'}" for node in sorted(graph)
    )


def test_the_package_graph_has_no_cycle() -> None:
    graph = package_graph()
    print(render(graph))  # noqa: T201 - the graph is the point: `pytest -s` shows it

    assert cycles(graph) == []


def test_the_import_contracts_are_kept() -> None:
    """`lint-imports` (make lint) over this checkout: the layers of pyproject.toml hold."""
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr


def test_a_cycle_would_be_found() -> None:
    graph = {"app.a": {"app.b"}, "app.b": {"app.c"}, "app.c": {"app.a"}, "app.d": {"app.a"}}

    assert cycles(graph) == [["app.a", "app.b", "app.c"]]


def test_the_graph_sees_every_kind_of_import() -> None:
    tree = ast.parse(
        "from app import logs\nimport app.db\nfrom . import x\n"
        "def f():\n    from app.cases.models import Case\n"
    )

    found = set(_imported(tree, "app.flows.outcome"))

    assert {"app.logs", "app.db", "app.flows.x", "app.cases.models.Case"} <= found
