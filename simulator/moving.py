"""Live money on the clock: schedules (simulator/live.py) played against wall time.

Each loaded schedule's accounts are ordinary accounts of the book (simulator/accounts.py), so
instructions find, match and hold money on them exactly as on scenario accounts. What differs
is that their money moves: before anything reads or changes an account, `advance(now)` plays
every arrival and departure due by `now`, in time order. The rules:

- an arrival adds its amount to the account's free balance (and to its `incoming`, which
  instructions are matched against);
- a departure takes what its parcel was scheduled to take, but at most what is free (not held
  by any case) on the account at that moment, and splits it across its legs in the scheduled
  proportions: held money never leaves, so the next level never receives it;
- money that arrives after a stop keeps its own schedule (it is not held by an earlier stop).

A stop processed at ts therefore holds what was on the account at ts; onward transfers and
cash-outs before ts are in the outcome, as for any account.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from simulator.accounts import ZERO, Account, AccountBook, Incoming, Onward
from simulator.live import Parcel, Schedule
from simulator.numbers import money, money_text, normalise_account_no


@dataclass
class _Run:
    """One loaded schedule: its t0, its accounts in the book, what each parcel received."""

    schedule: Schedule
    t0: dt.datetime
    accounts: dict[int, Account]
    received: dict[int, Decimal] = field(default_factory=dict)

    def at(self, offset_s: float) -> dt.datetime:
        return self.t0 + dt.timedelta(milliseconds=round(offset_s * 1000))


# (when, order, run number, parcel id, is a departure)
_Event = tuple[dt.datetime, int, int, int, bool]


class LiveMoney:
    """Every loaded schedule, and the arrivals and departures still to come."""

    def __init__(self, book: AccountBook) -> None:
        self._book = book
        self._runs: dict[int, _Run] = {}
        self._events: list[_Event] = []
        self._order = itertools.count()
        self._numbers = itertools.count(1)

    def clear(self) -> None:
        self._runs.clear()
        self._events.clear()

    def load(self, schedule: Schedule, *, t0: dt.datetime, now: dt.datetime) -> None:
        """Add the schedule's accounts to the book (replacing any earlier live schedule that
        has one of them) and play what already happened by `now`."""
        accounts = {
            a.id: Account(
                institution=a.institution,
                account_no=normalise_account_no(a.account_no),
                holder_name=a.holder_name,
                checks_incoming=True,
            )
            for a in schedule.accounts
        }
        keys = {(a.institution, a.account_no) for a in accounts.values()}
        for number, run in list(self._runs.items()):
            if keys & {(a.institution, a.account_no) for a in run.accounts.values()}:
                self._drop(number)
        number = next(self._numbers)
        run = _Run(schedule, t0, accounts)
        self._runs[number] = run
        for account in accounts.values():
            self._book.put(account)
        for parcel in schedule.parcels[: schedule.victim_transfers]:
            run.received[parcel.id] = parcel.amount
            self._push(run.at(parcel.arrives_s), number, parcel.id, departure=False)
        self.advance(now)

    def _drop(self, number: int) -> None:
        del self._runs[number]
        self._events = [e for e in self._events if e[2] != number]
        heapq.heapify(self._events)

    def _push(self, at: dt.datetime, number: int, parcel: int, *, departure: bool) -> None:
        heapq.heappush(self._events, (at, next(self._order), number, parcel, departure))

    def advance(self, now: dt.datetime) -> None:
        """Play every arrival and departure due by `now`, oldest first."""
        while self._events and self._events[0][0] <= now:
            at, _, number, parcel_id, departure = heapq.heappop(self._events)
            run = self._runs[number]
            parcel = run.schedule.parcels[parcel_id - 1]
            if departure:
                self._depart(run, number, parcel, at)
            else:
                account = run.accounts[parcel.account]
                amount = run.received[parcel.id]
                account.free += amount
                account.incoming.append(Incoming(amount, at))
                self._push(run.at(parcel.departs_s), number, parcel.id, departure=True)

    def _depart(self, run: _Run, number: int, parcel: Parcel, at: dt.datetime) -> None:
        account = run.accounts[parcel.account]
        leaving = min(run.received[parcel.id], account.free)
        if leaving <= 0:
            return
        account.free -= leaving
        left = leaving
        for i, leg in enumerate(parcel.legs):
            last = i == len(parcel.legs) - 1
            part = left if last else min(left, money(leg.amount * leaving / parcel.amount))
            left -= part
            if part <= 0:
                continue
            if leg.to is None:
                account.cashed_out += part
                continue
            assert leg.parcel is not None
            target = run.schedule.accounts[leg.to - 1]
            child = run.schedule.parcels[leg.parcel - 1]
            account.onward.append(
                Onward(
                    target.institution,
                    target.account_no,
                    target.holder_name,
                    part,
                    at,
                    child.reference,
                )
            )
            run.received[child.id] = part
            self._push(at, number, child.id, departure=False)

    def state(self, now: dt.datetime) -> list[dict[str, Any]]:
        """Every live account as it is at `now`: free, held (by all cases), sent, cashed out."""
        self.advance(now)
        rows = []
        for number, run in self._runs.items():
            for mule in run.schedule.accounts:
                account = run.accounts[mule.id]
                held = sum((h.total for h in account.holds.values()), ZERO)
                sent = sum((o.amount for o in account.onward), ZERO)
                received = sum((i.amount for i in account.incoming), ZERO)
                rows.append(
                    {
                        "schedule": number,
                        "seed": run.schedule.seed,
                        **mule.to_json(),
                        "received": money_text(received),
                        "free": money_text(account.free),
                        "held": money_text(held),
                        "sent": money_text(sent),
                        "cashed_out": money_text(account.cashed_out),
                    }
                )
        return rows
