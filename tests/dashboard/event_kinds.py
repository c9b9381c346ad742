"""The audit event kinds the code records with a case id, read from the source itself:
every `record_event(..., kind=..., case_id=...)` in app/ and workers/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from app.dispatch.models import InstructionState

ROOT = Path(__file__).resolve().parents[2]
KIND = re.compile(r"^[a-z]+\.[a-z_]+$")
# Calls whose string arguments are message keys or log text, not event kinds.
NOT_KINDS = {"N_", "msg", "t", "Refused", "warning", "info", "error", "exception", "debug"}


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _module_constants(tree: ast.Module) -> dict[str, str]:
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    found[target.id] = node.value.value
    return found


def _kind_literals(tree: ast.Module) -> set[str]:
    """String constants of the module shaped like kinds, outside message and log calls: where
    a kind is passed on in a variable (a dict's keys, a tuple of (kind, lead, event))."""
    excluded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) in NOT_KINDS:
            excluded |= {id(a) for a in ast.walk(node)}
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and KIND.match(node.value)
        and id(node) not in excluded
    }


def _kinds_of(value: ast.expr, tree: ast.Module, where: str) -> set[str]:
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return {value.value}
    if isinstance(value, ast.JoinedStr):
        prefix = value.values[0]
        assert isinstance(prefix, ast.Constant), where
        assert prefix.value == "instruction.", where
        return {f"instruction.{state.value}" for state in InstructionState}
    if isinstance(value, ast.Name):
        constants = _module_constants(tree)
        if value.id in constants:
            return {constants[value.id]}
        literals = _kind_literals(tree)
        assert literals, f"{where}: kind={value.id} and no kind literal in the module"
        return literals
    raise AssertionError(f"{where}: a kind the test cannot read: {ast.dump(value)}")


def case_event_kinds() -> dict[str, str]:
    """Each kind recorded with a case id, and where (path:line)."""
    found: dict[str, str] = {}
    for path in sorted([*(ROOT / "app").rglob("*.py"), *(ROOT / "workers").rglob("*.py")]):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _name(node.func) == "record_event"):
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            case_id = keywords.get("case_id")
            if case_id is None or (isinstance(case_id, ast.Constant) and case_id.value is None):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            for kind in _kinds_of(keywords["kind"], tree, where):
                found.setdefault(kind, where)
    return found
