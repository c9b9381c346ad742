"""The amount and time rules of the form (the browser runs the same rules in intake.js)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.intake.form import fraud_type_code
from app.intake.parsing import Unreadable, format_local, parse_amount, parse_time

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 09:41 in Shanghai on 22 November 2026.
NOW = dt.datetime(2026, 11, 22, 1, 41, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("455400", "455400.00"),
        ("455,400", "455400.00"),
        ("455400.00", "455400.00"),
        ("45.54万", "455400.00"),
        ("45.54w", "455400.00"),
        ("¥455,400元", "455400.00"),
        ("４５５，４００", "455400.00"),  # full-width, as a Chinese IME types it
        ("1.2亿", "120000000.00"),
        (" 99.5 ", "99.50"),
        ("1,234,567.89", "1234567.89"),
    ],
)
def test_amounts_as_typed(typed: str, amount: str) -> None:
    assert parse_amount(typed) == Decimal(amount)


@pytest.mark.parametrize("typed", ["", "abc", "45.5.4", "12,34", "1.234", "万", "-5", "4,55,400"])
def test_unreadable_amounts(typed: str) -> None:
    with pytest.raises(Unreadable):
        parse_amount(typed)


def local(hour: int, minute: int, day: int = 22) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("09:20", local(9, 20)),
        ("9:20", local(9, 20)),
        ("０９：２０", local(9, 20)),
        ("9点20", local(9, 20)),
        ("9点20分", local(9, 20)),
        ("9点", local(9, 0)),
        ("09:44", local(9, 44)),  # a few minutes ahead is a clock difference, still today
        ("23:50", local(23, 50, day=21)),  # far ahead: the victim means last night
        ("昨天 23:50", local(23, 50, day=21)),
        ("yesterday 08:00", local(8, 0, day=21)),
        ("20 min ago", local(9, 21)),
        ("20 minutes ago", local(9, 21)),
        ("20min", local(9, 21)),
        ("20分钟前", local(9, 21)),
        ("2小时前", local(7, 41)),
        ("2 h ago", local(7, 41)),
        ("半小时前", local(9, 11)),
        ("now", local(9, 41)),
        ("刚才", local(9, 41)),
        ("2026-11-22 09:20", local(9, 20)),
        ("2026/11/22 09:20", local(9, 20)),
        ("2026-11-22T01:20:00+00:00", local(9, 20)),
    ],
)
def test_times_as_typed(typed: str, expected: dt.datetime) -> None:
    assert parse_time(typed, now=NOW, zone=SHANGHAI) == expected


@pytest.mark.parametrize("typed", ["", "soon", "25:00", "9:61", "昨天", "twenty min ago", "14"])
def test_unreadable_times(typed: str) -> None:
    with pytest.raises(Unreadable):
        parse_time(typed, now=NOW, zone=SHANGHAI)


def test_times_are_shown_in_the_centres_zone() -> None:
    assert format_local(NOW, SHANGHAI) == "2026-11-22 09:41"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("brushing_rebate", "brushing_rebate"),
        ("刷单返利", "brushing_rebate"),
        ("客服", "impersonate_customer_service"),
        ("customer service", "impersonate_customer_service"),
        ("GAMBLING", "online_gambling"),
        ("refund", None),  # two labels say refund: not a choice
        ("nothing like it", None),
    ],
)
def test_the_fraud_type_is_found_from_any_piece_of_one_label(typed: str, code: str | None) -> None:
    assert fraud_type_code(typed) == code
