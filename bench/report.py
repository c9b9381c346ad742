"""BENCHMARKS.md sections with one `### ` sub-section per configuration.

A run replaces the sub-section of its own configuration (matched by its first line) and keeps
the others as they were, so the fan-out benchmark's runs with one and two worker processes, or
the sustained-load runs with one and two workers, sit side by side under one `## ` heading.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.intake import write_section


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
