"""The return calculator: the three rules of DESIGN.md section 4, to the fen."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.legal.models import ReturnRule
from app.legal.returns import (
    Inflow,
    Outflow,
    add_working_days,
    first_in_first_out,
    pro_rata,
    split_frozen,
)

T0 = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def d(text: str) -> Decimal:
    return Decimal(text)


def test_one_victims_money_goes_straight_back_never_more_than_they_lost() -> None:
    ins = [Inflow("A", d("300000.00"), at(0)), Inflow("A", d("155400.00"), at(5))]
    split = split_frozen(d("455400.00"), ins, [])
    assert (split.rule, split.shares) == (ReturnRule.single_victim, {"A": d("455400.00")})
    # The bank froze more than the victim sent (other money in the account): only theirs back.
    more = split_frozen(d("500000.00"), ins, [])
    assert more.shares == {"A": d("455400.00")}


def test_several_victims_traced_by_time_when_every_movement_is_known() -> None:
    ins = [Inflow("A", d("50000.00"), at(0)), Inflow("B", d("30000.00"), at(10))]
    # 40,000 left at minute 20: first in, first out, so it was A's.
    outs = [Outflow(d("40000.00"), at(20))]
    split = split_frozen(d("40000.00"), ins, outs)
    assert split.rule == ReturnRule.by_time
    assert split.shares == {"A": d("10000.00"), "B": d("30000.00")}


def test_an_outflow_between_two_inflows_takes_only_the_earlier_money() -> None:
    ins = [Inflow("A", d("20000.00"), at(0)), Inflow("B", d("25000.00"), at(30))]
    outs = [Outflow(d("15000.00"), at(10)), Outflow(d("12000.00"), at(40))]
    # Minute 10 takes 15,000 of A's 20,000; minute 40 takes A's last 5,000 and 7,000 of B's.
    split = split_frozen(d("18000.00"), ins, outs)
    assert (split.rule, split.shares) == (ReturnRule.by_time, {"B": d("18000.00")})


def test_when_the_ledger_does_not_add_up_the_split_is_pro_rata() -> None:
    ins = [Inflow("A", d("50000.00"), at(0)), Inflow("B", d("30000.00"), at(10))]
    outs = [Outflow(d("40000.00"), at(20))]
    # 40,000 should be left, but the bank froze 30,000: money moved that nobody reported.
    split = split_frozen(d("30000.00"), ins, outs)
    assert split.rule == ReturnRule.pro_rata
    assert split.shares == {"A": d("18750.00"), "B": d("11250.00")}


def test_money_going_out_before_any_came_in_cannot_be_traced() -> None:
    ins = [Inflow("A", d("1000.00"), at(10)), Inflow("B", d("1000.00"), at(20))]
    assert first_in_first_out(ins, [Outflow(d("500.00"), at(5))]) is None
    split = split_frozen(d("1500.00"), ins, [Outflow(d("500.00"), at(5))])
    assert split.rule == ReturnRule.pro_rata
    assert split.shares == {"A": d("750.00"), "B": d("750.00")}


@pytest.mark.parametrize(
    ("amount", "weights", "expected"),
    [
        # Three equal losses: the spare fen goes to one victim, repeatably the first.
        ("100.00", {"A": "1", "B": "1", "C": "1"}, {"A": "33.34", "B": "33.33", "C": "33.33"}),
        # The largest remainder gets the fen: 10 * 2/3 = 6.666.. and 10 * 1/3 = 3.333..
        ("10.00", {"A": "2", "B": "1"}, {"A": "6.67", "B": "3.33"}),
        ("0.01", {"A": "1", "B": "1"}, {"A": "0.01"}),
        ("380000.00", {"A": "190000.00", "B": "190000.00"}, {"A": "190000.00", "B": "190000.00"}),
    ],
)
def test_pro_rata_shares_add_up_to_the_fen(
    amount: str, weights: dict[str, str], expected: dict[str, str]
) -> None:
    shares = pro_rata(d(amount), {v: d(w) for v, w in weights.items()})
    assert shares == {v: d(a) for v, a in expected.items()}
    assert sum(shares.values()) == d(amount)


def test_a_bank_has_three_working_days_weekends_not_counted() -> None:
    friday = dt.date(2026, 11, 27)
    assert add_working_days(friday, 3) == dt.date(2026, 12, 2)  # Mon, Tue, Wed
    assert add_working_days(dt.date(2026, 11, 23), 3) == dt.date(2026, 11, 26)
