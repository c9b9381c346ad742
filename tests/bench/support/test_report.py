"""bench/support/report.py: a run replaces its own sub-section of BENCHMARKS.md and keeps
the rest."""

from __future__ import annotations

from pathlib import Path

from bench.support.report import write_subsection

HEADING = "## Sustained load (bench/load.py)"


def test_a_run_replaces_its_own_subsection_and_keeps_the_others(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\n## Intake\n\nintake figures\n\n## Dashboard\n\nfigures\n")
    write_subsection(out, "### 1 worker process\n\nfirst\n", heading=HEADING, intro="How.\n")
    write_subsection(out, "### 2 worker processes\n\nsecond\n", heading=HEADING, intro="How.\n")
    write_subsection(out, "### 1 worker process\n\nagain\n", heading=HEADING, intro="How!\n")
    assert out.read_text() == (
        "# Benchmarks\n\n## Intake\n\nintake figures\n\n## Dashboard\n\nfigures\n\n"
        f"{HEADING}\n\nHow!\n\n### 1 worker process\n\nagain\n\n"
        "### 2 worker processes\n\nsecond\n"
    )


def test_the_section_stays_where_it_was(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text(
        f"# Benchmarks\n\n{HEADING}\n\nold\n\n### 1 worker process\n\nx\n\n## Next\n\ny\n"
    )
    write_subsection(out, "### 1 worker process\n\nnew\n", heading=HEADING, intro="How.\n")
    assert out.read_text() == (
        f"# Benchmarks\n\n{HEADING}\n\nHow.\n\n### 1 worker process\n\nnew\n\n## Next\n\ny\n"
    )
