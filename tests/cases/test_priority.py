"""The priority rules of app/cases/priority.py, one by one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.cases.models import Priority
from app.cases.priority import compute_priority


def _p(total: int, *, enterprise: bool = False, minutes: float = 120, mules: int = 0) -> Priority:
    return compute_priority(
        total=Decimal(total),
        is_enterprise=enterprise,
        minutes_since_last_transfer=minutes,
        known_mule_accounts=mules,
    )


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        # special
        ({"total": 1_000_000}, Priority.special),
        ({"total": 999_999}, Priority.high),
        ({"total": 100_000, "enterprise": True}, Priority.special),
        ({"total": 99_999, "enterprise": True}, Priority.high),
        ({"total": 300_000, "minutes": 30}, Priority.special),
        ({"total": 300_000, "minutes": 31}, Priority.high),
        # high
        ({"total": 100_000}, Priority.high),
        ({"total": 10_000, "minutes": 20}, Priority.high),
        ({"total": 9_999, "minutes": 20}, Priority.medium),
        ({"total": 500, "enterprise": True}, Priority.high),
        ({"total": 500, "minutes": 3000, "mules": 1}, Priority.high),
        # medium
        ({"total": 10_000, "minutes": 3000}, Priority.medium),
        ({"total": 500, "minutes": 24 * 60}, Priority.medium),
        # low
        ({"total": 500, "minutes": 24 * 60 + 1}, Priority.low),
    ],
)
def test_rule(case: dict[str, object], expected: Priority) -> None:
    assert _p(**case) == expected  # type: ignore[arg-type]


def test_scenario_1_ticket_refund_within_20_minutes_is_special() -> None:
    assert _p(455_400, minutes=20) == Priority.special


def test_scenario_3_enterprise_accountant_is_special() -> None:
    assert _p(300_000, enterprise=True, minutes=90) == Priority.special
