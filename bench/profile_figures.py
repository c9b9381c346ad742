"""The profile's figures (bench/profile.py): py-spy's collapsed stacks summed per function,
pg_stat_statements' rows, and the markdown tables of BENCHMARKS.md (pure functions)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

# A py-spy frame: `function (path/to/file.py:123)`; process frames (`process 12:"cmd"`),
# written with --subprocesses, name no file and are left out.
FRAME = re.compile(r"^(?P<function>.+) \((?P<file>[^()]+?)(?::\d+)?\)$")
# Where a path's interesting part starts, the first that matches: a package under
# site-packages, a module of the standard library, or our own tree.
PATH_ROOTS = (
    re.compile(r".*/site-packages/"),
    re.compile(r".*/lib/python3\.\d+/"),
    re.compile(r".*?/(?=(?:app|workers|bench|simulator)/)"),
)
OUR_CODE = ("app/", "workers/")


@dataclass(frozen=True)
class Samples:
    """Samples per function: `own` where it was running, `total` where it was on the stack."""

    own: Counter[str]
    total: Counter[str]
    count: int  # samples in all


def short_path(path: str) -> str:
    """`/…/site-packages/sqlalchemy/orm/session.py` -> `sqlalchemy/orm/session.py`."""
    for root in PATH_ROOTS:
        short, found = root.subn("", path, count=1)
        if found:
            return short
    return path


def frame_name(frame: str) -> str | None:
    """`commit (/…/sqlalchemy/orm/session.py:1969)` -> `commit (sqlalchemy/orm/session.py)`."""
    match = FRAME.match(frame)
    if match is None:
        return None
    return f"{match['function']} ({short_path(match['file'])})"


def parse_collapsed(text: str) -> Samples:
    """py-spy's `--format raw` output: one stack a line, root first, `;`-separated, then a
    space and how many samples had that stack."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    count = 0
    for line in text.splitlines():
        stack, _, number = line.rpartition(" ")
        if not stack or not number.isdigit():
            continue
        samples = int(number)
        names = [name for name in map(frame_name, stack.split(";")) if name is not None]
        if not names:
            continue
        count += samples
        own[names[-1]] += samples
        for name in set(names):
            total[name] += samples
    return Samples(own, total, count)


def is_ours(name: str) -> bool:
    path = name.rsplit("(", 1)[-1]
    return path.startswith(OUR_CODE)


def cell(text: str) -> str:
    """Text safe in a markdown table cell."""
    return text.replace("|", "\\|").replace("`", "'")


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def own_table(samples: Samples, top: int = 10) -> str:
    """The functions with the most samples of their own (running, not calling)."""
    lines = ["| function | own samples | own | total samples | total |", "| --- " * 5 + "|"]
    for name, own in samples.own.most_common(top):
        total = samples.total[name]
        lines.append(
            f"| `{cell(name)}` | {own} | {share(own, samples.count)} | {total} "
            f"| {share(total, samples.count)} |"
        )
    return "\n".join(lines)


def ours_table(samples: Samples, top: int = 10) -> str:
    """Our own functions (app/, workers/) by the samples they were on the stack for."""
    lines = ["| our function | total samples | total | own samples |", "| --- " * 4 + "|"]
    ours = [(name, n) for name, n in samples.total.most_common() if is_ours(name)][:top]
    for name, total in ours:
        lines.append(
            f"| `{cell(name)}` | {total} | {share(total, samples.count)} | {samples.own[name]} |"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class Statement:
    """One row of pg_stat_statements."""

    query: str
    calls: int
    total_ms: float
    rows: int


def one_line(query: str, limit: int = 160) -> str:
    text = " ".join(query.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sql_table(statements: list[Statement], top: int = 10) -> str:
    """The statements that took the most time, with calls, mean and rows."""
    whole = sum(s.total_ms for s in statements)
    lines = [
        "| statement | calls | total ms | share | mean ms | rows |",
        "| --- " * 6 + "|",
    ]
    for s in sorted(statements, key=lambda s: s.total_ms, reverse=True)[:top]:
        mean = s.total_ms / s.calls if s.calls else 0.0
        lines.append(
            f"| `{cell(one_line(s.query))}` | {s.calls} | {s.total_ms:.1f} "
            f"| {100 * s.total_ms / whole if whole else 0:.1f}% | {mean:.3f} | {s.rows} |"
        )
    return "\n".join(lines)


def sql_summary(statements: list[Statement], instructions: int) -> str:
    calls = sum(s.calls for s in statements)
    time_ms = sum(s.total_ms for s in statements)
    return (
        f"{len(statements)} distinct statements, {calls} calls ({calls / instructions:.1f} per "
        f"instruction), {time_ms:.0f} ms of execution in all ({time_ms / instructions:.2f} ms "
        f"per instruction)"
    )
