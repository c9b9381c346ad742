"""Live money: mule accounts whose money moves over time, drawn from a seed.

A *schedule* says, for one case, what the victim paid and what every mule account does with
each sum of money (a *parcel*) it receives: after a dwell time it sends it on, split across
the account's 1 to `max_split` next-level accounts (possibly at other institutions), or
cashes it out. Accounts at the deepest level, and the cash-out branches, cash out. Times are
offsets in seconds from t0, the victim's last transfer (docs/institution-protocol.md, "Live
money"). The same seed and parameters give the same schedule, wherever and whenever drawn.

This module only draws and describes schedules; simulator/moving.py plays them on the clock.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulator.numbers import (
    iso,
    make_card_no,
    make_holder_name,
    make_payment_account_no,
    money,
    money_text,
    normalise_account_no,
    split_amount,
)
from simulator.registry import RegistryEntry

# Share of mule accounts at banks (card numbers) rather than payment institutions.
BANK_SHARE = 0.7
# Payment institutions mules use when the parameters name none.
DEFAULT_PAYMENT = ("ALIPAY", "TENPAY")


class LiveParameters(BaseModel):
    """What a schedule is drawn from; unset counts are drawn from the seed."""

    model_config = ConfigDict(extra="forbid")

    transfers: int | None = Field(default=None, ge=1, le=50, description="3-10 when unset")
    levels: int | None = Field(default=None, ge=1, le=6, description="3-4 when unset")
    dwell_median_s: float = Field(default=120.0, gt=0, le=86_400)
    # Dwell times are lognormal: median `dwell_median_s`, shape `dwell_sigma` (0: all equal).
    dwell_sigma: float = Field(default=1.0, ge=0, le=3)
    max_split: int = Field(default=3, ge=1, le=5)
    # Accounts above the deepest level that cash out what they get instead of sending it on.
    cash_out_branches: int = Field(default=1, ge=0, le=10)
    # The victim's transfers: whole yuan in [min, max], spread over `spread_s` before t0.
    amount_min: int = Field(default=5_000, ge=1)
    amount_max: int = Field(default=100_000, ge=1)
    spread_s: float = Field(default=600.0, ge=0, le=86_400)
    # Institutions the mule accounts are at (default: every bank with a BIN, ALIPAY, TENPAY).
    institutions: list[str] | None = None
    # Draws other account numbers and holder names, and nothing else: the same money moving
    # the same way through other accounts (a bench reports one case afresh without meeting
    # the stops of its earlier reports).
    numbers_salt: str = Field(default="", max_length=64)

    @model_validator(mode="after")
    def _amount_range(self) -> LiveParameters:
        if self.amount_min > self.amount_max:
            raise ValueError("amount_min is above amount_max")
        return self


@dataclass(frozen=True)
class MuleAccount:
    id: int
    level: int
    institution: str
    account_no: str
    holder_name: str
    cash_out: bool  # a cash-out branch or the deepest level: cashes out, sends nothing on

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "level": self.level,
            "institution": self.institution,
            "account_no": self.account_no,
            "holder_name": self.holder_name,
            "cash_out": self.cash_out,
        }


@dataclass(frozen=True)
class Leg:
    """Part of a parcel leaving: to a next-level account, or (`to` None) cashed out."""

    to: int | None
    amount: Decimal
    parcel: int | None  # the parcel it becomes on the next account


@dataclass(frozen=True)
class Parcel:
    """A sum of money that arrives on an account and, `dwell` seconds later, leaves."""

    id: int
    account: int
    amount: Decimal
    arrives_s: float
    departs_s: float
    legs: tuple[Leg, ...]
    reference: str  # of the transfer that brought it


@dataclass(frozen=True)
class Schedule:
    seed: int
    parameters: LiveParameters  # with the drawn counts filled in
    accounts: tuple[MuleAccount, ...]
    parcels: tuple[Parcel, ...]  # the victim's transfers first, in time order
    victim_transfers: int  # how many of the parcels

    @property
    def loss(self) -> Decimal:
        return sum((p.amount for p in self.parcels[: self.victim_transfers]), Decimal("0.00"))

    def on_accounts(self, offset_s: float) -> Decimal:
        """What is on the mule accounts `offset_s` after t0 if nobody stops anything."""
        return sum(
            (p.amount for p in self.parcels if p.arrives_s <= offset_s < p.departs_s),
            Decimal("0.00"),
        )

    def to_json(self, t0: dt.datetime) -> dict[str, Any]:
        def at(offset_s: float) -> str:
            return iso(t0 + dt.timedelta(milliseconds=round(offset_s * 1000)))

        accounts = {a.id: a for a in self.accounts}
        victim = [
            {
                "to": accounts[p.account].to_json(),
                "amount": money_text(p.amount),
                "occurred_at": at(p.arrives_s),
                "reference": p.reference,
            }
            for p in self.parcels[: self.victim_transfers]
        ]
        parcels = [
            {
                "id": p.id,
                "account": p.account,
                "amount": money_text(p.amount),
                "arrives_at": at(p.arrives_s),
                "departs_at": at(p.departs_s),
                "legs": [{"to": leg.to, "amount": money_text(leg.amount)} for leg in p.legs],
            }
            for p in self.parcels
        ]
        return {
            "seed": self.seed,
            "parameters": self.parameters.model_dump(mode="json"),
            "t0": at(0),
            "loss": money_text(self.loss),
            "victim_transfers": victim,
            "accounts": [a.to_json() for a in self.accounts],
            "parcels": parcels,
        }


class _Drawer:
    """The state of one draw: the random stream, and the accounts made so far."""

    def __init__(self, seed: int, params: LiveParameters, registry: list[RegistryEntry]) -> None:
        self.rng = random.Random(f"live|{seed}")
        self.numbers_rng = random.Random(f"live-numbers|{seed}|{params.numbers_salt}")
        self.params = params
        wanted = set(params.institutions or ())
        self.banks = [
            e
            for e in registry
            if e.kind == "bank" and e.bin_prefixes and (not wanted or e.code in wanted)
        ]
        payment = wanted or set(DEFAULT_PAYMENT)
        self.payment = [
            e.code for e in registry if e.kind == "payment_institution" and e.code in payment
        ]
        if not self.banks and not self.payment:
            raise ValueError("no bank with a BIN nor payment institution to put mules at")
        self.accounts: list[MuleAccount] = []
        self.next: dict[int, list[int]] = {}
        self.numbers: set[tuple[str, str]] = set()
        self.references = 0

    def account(self, level: int, *, cash_out: bool) -> MuleAccount:
        """A new account: its institution from the main stream, its number and holder's
        name from the numbers' own (so a salt changes those and nothing else)."""
        rng, numbers = self.rng, self.numbers_rng
        bank = None
        if self.banks and (not self.payment or rng.random() < BANK_SHARE):
            bank = rng.choice(self.banks)
            code = bank.code
        else:
            code = rng.choice(self.payment)
        while True:
            if bank is not None:
                number = make_card_no(numbers, numbers.choice(bank.bin_prefixes))
            else:
                number = make_payment_account_no(numbers, code)
            if (code, normalise_account_no(number)) not in self.numbers:
                break
        self.numbers.add((code, normalise_account_no(number)))
        made = MuleAccount(
            len(self.accounts) + 1, level, code, number, make_holder_name(numbers), cash_out
        )
        self.accounts.append(made)
        return made

    def dwell_s(self) -> float:
        p = self.params
        return round(self.rng.lognormvariate(math.log(p.dwell_median_s), p.dwell_sigma), 3)

    def reference(self) -> str:
        self.references += 1
        return f"LV{self.references:05d}{self.rng.randint(10**6, 10**7 - 1)}"


def _level_one(d: _Drawer, transfers: int) -> list[tuple[int, Decimal, float]]:
    """The victim's transfers: (level-1 account, amount, offset), the last at 0."""
    rng, p = d.rng, d.params
    count = rng.randint(max(1, math.ceil(transfers / 2)), transfers)
    targets = [d.account(1, cash_out=False).id for _ in range(count)]
    offsets = sorted(round(-rng.uniform(0, p.spread_s), 3) for _ in range(transfers - 1))
    offsets.append(0.0)
    return [
        (targets[j % count], money(Decimal(rng.randint(p.amount_min, p.amount_max))), at)
        for j, at in enumerate(offsets)
    ]


def generate(*, seed: int, params: LiveParameters, registry: list[RegistryEntry]) -> Schedule:
    """The schedule for `seed` and `params`: the same for the same two."""
    d = _Drawer(seed, params, registry)
    transfers = params.transfers or d.rng.randint(3, 10)
    levels = params.levels or d.rng.randint(3, 4)
    d.params = params.model_copy(update={"transfers": transfers, "levels": levels})
    pending: list[tuple[int, Decimal, float]] = _level_one(d, transfers)
    level1 = sorted({account for account, _, _ in pending})
    # The cash-out branches: the first next-level account of some level-1 accounts.
    branches = set(d.rng.sample(level1, min(params.cash_out_branches, len(level1))))
    if levels < 3:
        branches = set()
    parcels: list[Parcel] = []
    children = transfers  # parcels are numbered in the order they are written
    # Breadth first: every parcel of a level before the next level's, in a fixed order.
    while pending:
        following: list[tuple[int, Decimal, float]] = []
        for account_id, amount, arrives in pending:
            account = d.accounts[account_id - 1]
            departs = round(arrives + d.dwell_s(), 3)
            reference = d.reference()
            if account.cash_out or account.level >= levels:
                legs: tuple[Leg, ...] = (Leg(None, amount, None),)
            else:
                nxt = d.next.get(account_id) or _next_accounts(d, account, account_id in branches)
                parts = split_amount(d.rng, amount, len(nxt))
                legs = tuple(
                    Leg(to, part, children + i)
                    for i, (to, part) in enumerate(zip(nxt, parts, strict=False), start=1)
                )
                children += len(legs)
                following.extend((leg.to, leg.amount, departs) for leg in legs if leg.to)
            parcel = Parcel(len(parcels) + 1, account_id, amount, arrives, departs, legs, reference)
            parcels.append(parcel)
        pending = following
    return Schedule(seed, d.params, tuple(d.accounts), tuple(parcels), transfers)


def _next_accounts(d: _Drawer, account: MuleAccount, branch: bool) -> list[int]:
    """The 1 to `max_split` accounts `account` sends its money to, drawn once."""
    made = []
    for i in range(d.rng.randint(1, d.params.max_split)):
        made.append(d.account(account.level + 1, cash_out=branch and i == 0).id)
    d.next[account.id] = made
    return made
