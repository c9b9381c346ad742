"""Durations on the dashboard read in a unit that fits them (issue 17: `2595 min`, `0 s`)."""

from __future__ import annotations

import pytest

from app.dashboard.units import human_duration


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "—"),
        (0.18, "180 ms"),  # an acknowledgement: not "0 s"
        (2.34, "2.3 s"),
        (45, "45 s"),
        (600, "10 min"),
        (2595 * 60, "43.2 h"),  # the "since call" issue 17 saw: not "2595 min"
        (3 * 86400, "3.0 d"),
        (3 * 3600, "3.0 h"),
    ],
)
def test_a_duration_reads_in_the_unit_that_fits_it(seconds: float | None, shown: str) -> None:
    assert human_duration(seconds) == shown
