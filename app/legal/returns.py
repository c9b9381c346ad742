"""Splitting frozen money between the victims it came from (DESIGN.md section 4).

1. Money traceable to one victim goes straight back to that victim.
2. Several victims' money traceable by time goes back by that trace. It is traceable when we
   know every movement of the account: what came in (each victim's transfers) less what went
   out (the onward transfers institutions reported) is exactly what is frozen. Money out is
   taken from the earliest money in (first in, first out), so what is left is each victim's
   latest money.
3. Otherwise each victim gets a share in proportion to what they lost into the account, after
   a public notice (30 days by default).

Amounts are Decimal to the fen; a pro-rata split hands out the fens rounding left over, one
each, to the largest remainders, so the shares always add up to the amount split.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from app.legal.models import ReturnRule

FEN = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Inflow:
    """A victim's money arriving in the frozen account (through their case's trail)."""

    victim: str  # the case number
    amount: Decimal
    at: dt.datetime


@dataclass(frozen=True)
class Outflow:
    """Money that left the frozen account, as an institution reported it."""

    amount: Decimal
    at: dt.datetime


@dataclass(frozen=True)
class Split:
    rule: ReturnRule
    shares: dict[str, Decimal]  # victim -> amount, only victims who get something


def split_frozen(frozen: Decimal, inflows: Iterable[Inflow], outflows: Iterable[Outflow]) -> Split:
    """Who gets what of `frozen`; never more than frozen, nor more than a victim put in."""
    ins, outs = list(inflows), list(outflows)
    lost: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for inflow in ins:
        lost[inflow.victim] += inflow.amount
    if len(lost) == 1:
        [(victim, amount)] = lost.items()
        return Split(ReturnRule.single_victim, _positive({victim: min(frozen, amount)}))
    left = first_in_first_out(ins, outs)
    if left is not None and sum(left.values(), ZERO) == frozen:
        return Split(ReturnRule.by_time, _positive(left))
    return Split(ReturnRule.pro_rata, pro_rata(min(frozen, sum(lost.values(), ZERO)), lost))


def first_in_first_out(inflows: list[Inflow], outflows: list[Outflow]) -> dict[str, Decimal] | None:
    """Each victim's money left in the account once every outflow has taken the earliest money
    in; None when an outflow is more than had come in by then (money we cannot trace)."""
    # At the same instant money comes in before it goes out.
    moves = sorted(
        [(i.at, 0, i.victim, i.amount) for i in inflows]
        + [(o.at, 1, "", o.amount) for o in outflows]
    )
    queue: deque[_Left] = deque()
    for _, is_out, victim, amount in moves:
        if not is_out:
            queue.append(_Left(victim, amount))
            continue
        owed = amount
        while owed > 0:
            if not queue:
                return None
            taken = min(queue[0].amount, owed)
            queue[0].amount -= taken
            owed -= taken
            if queue[0].amount == 0:
                queue.popleft()
    left: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for rest in queue:
        left[rest.victim] += rest.amount
    return dict(left)


@dataclass
class _Left:
    """What is still in the account of one inflow."""

    victim: str
    amount: Decimal


def pro_rata(amount: Decimal, weights: dict[str, Decimal]) -> dict[str, Decimal]:
    """`amount` split in proportion to `weights`, to the fen, adding up to `amount` exactly."""
    total = sum(weights.values(), ZERO)
    if amount <= 0 or total <= 0:
        return {}
    exact = {v: amount * w / total for v, w in weights.items()}
    shares = {v: x.quantize(FEN, rounding=ROUND_DOWN) for v, x in exact.items()}
    spare = int((amount - sum(shares.values(), ZERO)) / FEN)
    # Largest remainder first; equal remainders in victim order, so the split is repeatable.
    for victim in sorted(exact, key=lambda v: (shares[v] - exact[v], v))[:spare]:
        shares[victim] += FEN
    return _positive(shares)


def _positive(shares: dict[str, Decimal]) -> dict[str, Decimal]:
    return {v: a.quantize(FEN) for v, a in sorted(shares.items()) if a > 0}


def add_working_days(day: dt.date, days: int) -> dt.date:
    """`days` working days (Monday to Friday) after `day`; public holidays are not known."""
    while days > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day
