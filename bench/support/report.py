"""BENCHMARKS.md: sections and `### ` sub-sections, the machine and commit lines, percentiles.

A run replaces the section (or the sub-section of its own configuration, matched by its
first line) it writes and keeps the others as they were, so the fan-out benchmark's runs with
one and two worker processes, or the sustained-load runs with one and two workers, sit side by
side under one `## ` heading.
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PREAMBLE = (
    "# Benchmarks\n\n"
    "Every figure here is produced by a script in `bench/` that anyone can re-run. This is a\n"
    "shared, noisy machine: compare medians and ratios between runs, not single figures.\n"
)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `pct` % of them at or below.

    (`pct * n / 100` is exact for whole percentages; `round(x + 0.5)`, used before, rounds
    half to even and made the p99 of 100 values their maximum.)
    """
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct * len(ordered) / 100)))
    return ordered[rank - 1]


def machine() -> str:
    uname = subprocess.run(["uname", "-srm"], capture_output=True, text=True).stdout.strip()
    cpu = platform.processor() or "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return f"{uname}, {cpu}, {os.cpu_count()} cores, {mem_kib / 1024**2:.1f} GiB RAM"


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    code = ("app", "workers", "simulator", "migrations")
    dirty = git("status", "--porcelain", "--", *code).strip()
    return f"{commit} (plus uncommitted changes in {', '.join(code)})" if dirty else commit


def wait_for_quiet(max_load: float | None, patience_s: float = 600) -> None:
    """On a shared machine: wait until others' load has dropped, if asked to."""
    deadline = time.monotonic() + patience_s
    while max_load is not None and os.getloadavg()[0] > max_load:
        if time.monotonic() > deadline:
            print(
                f"load still {os.getloadavg()[0]:.2f} after {patience_s:g} s; going on",
                file=sys.stderr,
            )
            return
        time.sleep(5)


def write_section(path: Path, section: str, *, heading: str) -> None:
    """Replace the section under `heading` (up to the next `## `), or append it."""
    text = path.read_text() if path.exists() else PREAMBLE
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.rstrip() == heading]
    if not starts:
        path.write_text(text.rstrip("\n") + "\n\n" + section)
        return
    start = starts[0]
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    tail = "".join(lines[end:])
    path.write_text("".join(lines[:start]) + section + ("\n" + tail if tail else ""))


def split_subsections(body: str) -> list[tuple[str, str]]:
    """(heading line, text) of each `### ` sub-section of a section body."""
    parts: list[tuple[str, str]] = []
    for line in body.splitlines(keepends=True):
        if line.startswith("### "):
            parts.append((line.rstrip(), line))
        elif parts:
            parts[-1] = (parts[-1][0], parts[-1][1] + line)
    return parts


def merge_subsection(old_body: str, subsection: str, *, heading: str, intro: str) -> str:
    """The section: its heading, the intro, then the sub-sections of other configurations
    kept as they were and this one's replaced (or appended)."""
    sub_heading = subsection.splitlines()[0].rstrip()
    parts = split_subsections(old_body)
    if sub_heading in (h for h, _ in parts):
        parts = [(h, subsection if h == sub_heading else text) for h, text in parts]
    else:
        parts.append((sub_heading, subsection))
    texts = [text.rstrip("\n") + "\n" for _, text in parts]
    return f"{heading}\n\n{intro}\n" + "\n".join(texts)


def section_body(path: Path, heading: str) -> str:
    """What stands under `heading` up to the next `## ` heading ("" if there is none)."""
    if not path.exists():
        return ""
    lines = path.read_text().splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.rstrip() == heading]
    if not starts:
        return ""
    start = starts[0]
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "".join(lines[start + 1 : end])


def write_subsection(path: Path, subsection: str, *, heading: str, intro: str) -> None:
    """Merge `subsection` into the section under `heading`, writing the section if new."""
    old = section_body(path, heading)
    section = merge_subsection(old, subsection, heading=heading, intro=intro)
    write_section(path, section, heading=heading)


@contextmanager
def log_dir(logs: Path | None, prefix: str) -> Iterator[Path]:
    """Where the stack's processes write their logs: `logs` if given (kept), else a
    temporary folder removed afterwards."""
    if logs is not None:
        logs.mkdir(parents=True, exist_ok=True)
        yield logs
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        yield Path(name)
