"""bench/loaded_test.py: the count of passes, and of passes in a row from the first, that
goes into BENCHMARKS.md."""

from __future__ import annotations

import argparse

from bench.loaded_test import TEST, _section


def test_the_section_counts_passes_and_the_streak_from_the_first() -> None:
    args = argparse.Namespace(runs=5, test=TEST)
    outcomes = ["passed", "passed", "failed", "failed", "passed"]
    text = _section(args, outcomes, [2.5, 3.25], "2026-12-06 05:00", 2)
    assert "**3 of 5 passed, 2 in a row from the first**" in text
    assert "passed, passed, failed, failed, passed" in text
    assert "load average 2.50-3.25" in text


def test_all_passing_is_said_without_listing_each_run() -> None:
    args = argparse.Namespace(runs=2, test=TEST)
    text = _section(args, ["passed", "passed"], [1.0], "2026-12-06 05:00", 1)
    assert "**2 of 2 passed, 2 in a row from the first**." in text
