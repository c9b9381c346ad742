"""The size and format rules (issue 16): short modules, short functions, ruff owns the format.

- No module in app/, workers/, simulator/ or bench/ over 400 lines.
- No function there over 60 lines, from its `def` to its last line (decorators aside), but
  the tables and templates named in TABLES, each with its reason (none today).
- `# fmt: skip` (or `# fmt: off`) only in the files FMT_SKIP names, as many as it says, and
  why: an aligned table (none today).

migrations/ is held to the `# fmt: skip` rule only. A migration is a table: the DDL of one
schema change, columns and constraints read top to bottom, and it is never edited once
released, so its `upgrade` (535 lines in the initial schema) is not split.

Each entry must still break its rule: one that no longer does fails the test, so the list
can only shrink.

Files are parsed with `ast`, never imported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("app", "workers", "simulator", "bench")
MIGRATIONS = "migrations"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

# "path::function" → why it may be long: a table or a template, read as one.
TABLES: dict[str, str] = {}

# "path" → (how many `# fmt: skip` markers, the aligned table they keep).
FMT_SKIP: dict[str, tuple[int, str]] = {}


def _sources(*roots: str) -> Iterator[tuple[str, str]]:
    """(path relative to the repository, text) of every Python file under `roots`."""
    for root in roots:
        for path in sorted((ROOT / root).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def _functions(node: ast.AST, prefix: str = "") -> Iterator[tuple[str, int]]:
    """(qualified name, lines from `def` to its end) of every function, method and nested
    function under `node`: `create_app`, `BodyFirst._read`, `create_app.lifespan`."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            assert child.end_lineno is not None
            yield prefix + child.name, child.end_lineno - child.lineno + 1
            yield from _functions(child, f"{prefix}{child.name}.")
        elif isinstance(child, ast.ClassDef):
            yield from _functions(child, f"{prefix}{child.name}.")
        else:
            yield from _functions(child, prefix)


def _over_the_limits() -> dict[str, int]:
    """Every module and function over its limit ("path" or "path::function") → its lines."""
    found: dict[str, int] = {}
    for path, text in _sources(*CHECKED):
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            found[path] = lines
        for name, length in _functions(ast.parse(text, filename=path)):
            if length > MAX_FUNCTION_LINES:
                found[f"{path}::{name}"] = length
    return found


def _fmt_skips() -> dict[str, int]:
    """Every file with `# fmt: skip` (or `# fmt: off`) → how many."""
    found: dict[str, int] = {}
    for path, text in _sources(*CHECKED, MIGRATIONS):
        markers = sum(
            1 for line in text.splitlines() if "# fmt: skip" in line or "# fmt: off" in line
        )
        if markers:
            found[path] = markers
    return found


def _report(title: str, entries: dict[str, object]) -> str:
    return title + "".join(f"\n  {name}: {value}" for name, value in sorted(entries.items()))


def test_no_module_or_function_is_over_its_limit() -> None:
    over = _over_the_limits()
    offenders = {name: f"{length} lines" for name, length in over.items() if name not in TABLES}
    assert not offenders, _report(
        f"Over {MAX_MODULE_LINES} lines a module, {MAX_FUNCTION_LINES} a function; split it "
        "(or, for a table or a template, name it in TABLES with the reason):",
        offenders,
    )


def test_every_table_is_still_long() -> None:
    over = _over_the_limits()
    short = {name: reason for name, reason in TABLES.items() if name not in over}
    assert not short, _report("Within the limits now: take them off TABLES:", short)


def test_fmt_skip_only_where_named() -> None:
    found = _fmt_skips()
    expected = {path: count for path, (count, _) in FMT_SKIP.items()}
    unexpected = {
        path: f"{count} markers (allowed: {expected.get(path, 0)})"
        for path, count in found.items()
        if count != expected.get(path)
    }
    stale = {path: "named in FMT_SKIP, has none" for path in expected if path not in found}
    assert not unexpected | stale, _report(
        "`# fmt: skip` belongs to aligned tables named in FMT_SKIP; let ruff format the rest:",
        unexpected | stale,
    )


def test_the_checks_see_the_code() -> None:
    """The walk finds every package, and the longest migration as long as it is."""
    paths = {path for path, _ in _sources(*CHECKED, MIGRATIONS)}
    assert {"app/main.py", "workers/celery_app.py", "simulator/app.py", "bench/fanout.py"} <= paths
    initial = ROOT / MIGRATIONS / "versions" / "2026_11_22_0238-initial_schema.py"
    lengths = dict(_functions(ast.parse(initial.read_text(encoding="utf-8"))))
    assert lengths["upgrade"] > MAX_FUNCTION_LINES
