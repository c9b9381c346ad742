"""How long something took, as a supervisor reads it: ms under a second, tenths under ten
seconds, then s, min, h and d, so "since call" never reads `2595 min` and a 200 ms
acknowledgement never reads `0 s`. The unit symbols read the same in both languages."""

from __future__ import annotations

MINUTE, HOUR, DAY = 60, 3600, 86400


def human_duration(seconds: float | None) -> str:
    """`seconds` in the largest unit that keeps it readable; "—" for nothing measured."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 2 * MINUTE:
        return f"{seconds:.0f} s"
    if seconds < 2 * HOUR:
        return f"{seconds / MINUTE:.0f} min"
    if seconds < 2 * DAY:
        return f"{seconds / HOUR:.1f} h"
    return f"{seconds / DAY:.1f} d"
