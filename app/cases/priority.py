"""Case priority: special / high / medium / low, from rules a duty officer can read.

The first rule that matches wins:

1. special: the victim lost 1,000,000 CNY or more; or an enterprise victim lost 100,000 or
   more (the enterprise emergency path); or 300,000 or more left within the golden time.
2. high: 100,000 or more; or 10,000 or more within the golden time; any enterprise victim;
   or a receiving account that already appears in other cases (a known mule).
3. medium: 10,000 or more; or the last transfer was within the past 24 hours.
4. low: everything else.

The golden time is the first 30 minutes after the victim's last transfer: money that moved
that recently can usually still be stopped.
"""

from __future__ import annotations

from decimal import Decimal

from app.cases.models import Priority

GOLDEN_TIME_MIN = 30
SPECIAL_TOTAL = Decimal(1_000_000)
SPECIAL_ENTERPRISE_TOTAL = Decimal(100_000)
SPECIAL_GOLDEN_TOTAL = Decimal(300_000)
HIGH_TOTAL = Decimal(100_000)
HIGH_GOLDEN_TOTAL = Decimal(10_000)
MEDIUM_TOTAL = Decimal(10_000)
MEDIUM_RECENT_MIN = 24 * 60


def compute_priority(
    *,
    total: Decimal,
    is_enterprise: bool,
    minutes_since_last_transfer: float,
    known_mule_accounts: int,
) -> Priority:
    golden = minutes_since_last_transfer <= GOLDEN_TIME_MIN
    if (
        total >= SPECIAL_TOTAL
        or (is_enterprise and total >= SPECIAL_ENTERPRISE_TOTAL)
        or (golden and total >= SPECIAL_GOLDEN_TOTAL)
    ):
        return Priority.special
    if (
        total >= HIGH_TOTAL
        or (golden and total >= HIGH_GOLDEN_TOTAL)
        or is_enterprise
        or known_mule_accounts > 0
    ):
        return Priority.high
    if total >= MEDIUM_TOTAL or minutes_since_last_transfer <= MEDIUM_RECENT_MIN:
        return Priority.medium
    return Priority.low
