"""Accounts as the institutions keep them: named by scenarios, or drawn from the seed.

An account no scenario names is created the first time an instruction mentions it, from a
`random.Random` seeded by (seed, institution code, normalised account number): that draw fixes
its behaviour (full / partial / moved / not found / name mismatch). Each new sum of money that
came in (amount and time of the instruction) is split by another draw, seeded the same way plus
the number of that sum, into what is left and what moved on or was cashed out.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

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
from simulator.profiles import ACCOUNT_BEHAVIOURS, AccountMix
from simulator.registry import RegistryEntry
from simulator.scenarios import ScenarioAccount

ZERO = Decimal("0.00")
# An instruction's transaction time matches money that came in within this window.
TIME_TOLERANCE = dt.timedelta(minutes=10)
# Share of onward transfers that go to a bank card rather than a payment account.
ONWARD_TO_BANK_SHARE = 0.7


@dataclass
class Incoming:
    amount: Decimal
    at: dt.datetime


@dataclass(frozen=True)
class Onward:
    """An outgoing transfer the institution can see."""

    institution: str
    account_no: str
    holder_name: str | None
    amount: Decimal
    at: dt.datetime
    reference: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "institution": self.institution,
            "account_no": self.account_no,
            "holder_name": self.holder_name,
            "amount": money_text(self.amount),
            "occurred_at": iso(self.at),
            "reference": self.reference,
        }


@dataclass
class Hold:
    """What one case holds on an account."""

    stopped: Decimal = ZERO
    frozen: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.stopped + self.frozen


@dataclass
class Account:
    institution: str
    account_no: str  # normalised
    holder_name: str | None  # None: the institution takes the instruction's name
    free: Decimal = ZERO  # not held by any case
    incoming: list[Incoming] = field(default_factory=list)
    onward: list[Onward] = field(default_factory=list)
    cashed_out: Decimal = ZERO
    holds: dict[str, Hold] = field(default_factory=dict)
    not_found: bool = False
    mismatch: str | None = None
    # Scenario accounts check amount and time against `incoming`; seeded ones take them.
    checks_incoming: bool = False
    behaviour: str | None = None  # seeded accounts: one of ACCOUNT_BEHAVIOURS

    def hold(self, case_no: str) -> Hold:
        return self.holds.setdefault(case_no, Hold())

    def available(self, case_no: str) -> Decimal:
        """What a case sees on the account: the free balance and its own holds."""
        held = self.holds.get(case_no)
        return self.free + (held.total if held is not None else ZERO)


def account_from_scenario(entry: ScenarioAccount) -> Account:
    onward = [
        Onward(o.institution, o.account_no, o.holder_name, o.amount, o.at, o.reference)
        for o in entry.onward
    ]
    return Account(
        institution=entry.institution,
        account_no=normalise_account_no(entry.account_no),
        holder_name=entry.holder_name,
        free=entry.balance,
        incoming=[Incoming(i.amount, i.at) for i in entry.incoming],
        onward=onward,
        cashed_out=entry.cashed_out,
        not_found=entry.not_found,
        mismatch=entry.mismatch,
        checks_incoming=bool(entry.incoming),
    )


def _pick(mix: AccountMix, draw: float) -> str:
    for behaviour in ACCOUNT_BEHAVIOURS:
        draw -= getattr(mix, behaviour)
        if draw < 0:
            return behaviour
    return "full"  # rounding: the shares sum to 1 within 1e-6


class Seeder:
    """Draws accounts and their money from the seed; knows the registry for onward accounts."""

    def __init__(self, registry: list[RegistryEntry]) -> None:
        self._banks = [e for e in registry if e.kind == "bank" and e.bin_prefixes]
        self._payment = [e for e in registry if e.kind == "payment_institution"]

    def account(self, *, seed: int, code: str, account_no: str, mix: AccountMix) -> Account:
        rng = random.Random(f"{seed}|{code}|{account_no}")
        behaviour = _pick(mix, rng.random())
        other_name = make_holder_name(rng)  # drawn always, so later draws do not shift
        return Account(
            institution=code,
            account_no=account_no,
            holder_name=other_name if behaviour == "name_mismatch" else None,
            not_found=behaviour == "not_found",
            behaviour=behaviour,
        )

    def receive(
        self,
        account: Account,
        *,
        seed: int,
        mix: AccountMix,
        amount: Decimal,
        at: dt.datetime,
        now: dt.datetime,
    ) -> None:
        """Money came in at `at`: keep what the behaviour says, send or cash out the rest.

        Onward transfers happened minutes after it, but never later than `now`.
        """
        n = len(account.incoming)
        rng = random.Random(f"{seed}|{account.institution}|{account.account_no}|{n}")
        account.incoming.append(Incoming(amount, at))
        if account.behaviour == "moved":
            kept = ZERO
        elif account.behaviour == "partial":
            kept = money(amount * Decimal(str(round(rng.uniform(0.10, 0.90), 4))))
        else:
            kept = amount
        account.free += kept
        gone = amount - kept
        cash_out = rng.random() < mix.cash_out_share
        if gone <= 0:
            return
        if cash_out:
            account.cashed_out += gone
            return
        parts = split_amount(rng, gone, rng.randint(1, 3))
        for i, part in enumerate(parts, start=1):
            later = at + dt.timedelta(seconds=rng.randint(60 * i, 600 * i))
            account.onward.append(self._onward(rng, part, min(later, now)))

    def _onward(self, rng: random.Random, amount: Decimal, at: dt.datetime) -> Onward:
        if rng.random() < ONWARD_TO_BANK_SHARE:
            bank = rng.choice(self._banks)
            code, number = bank.code, make_card_no(rng, rng.choice(bank.bin_prefixes))
        else:
            code = rng.choice(self._payment).code
            number = make_payment_account_no(rng, code)
        reference = f"T{rng.randint(10**11, 10**12 - 1)}"
        return Onward(code, number, make_holder_name(rng), amount, at, reference)


class AccountBook:
    """Every account the simulator knows, by (institution, normalised number)."""

    def __init__(self, seeder: Seeder) -> None:
        self._seeder = seeder
        self._accounts: dict[tuple[str, str], Account] = {}

    def put(self, account: Account) -> None:
        self._accounts[(account.institution, account.account_no)] = account

    def clear(self) -> None:
        self._accounts.clear()

    def find(
        self,
        *,
        seed: int,
        code: str,
        account_no: str,
        mix: AccountMix,
        amount: Decimal | None,
        at: dt.datetime,
        now: dt.datetime,
    ) -> Account:
        """The account, created from the seed on first sight; for a seeded account, money that
        came in as the instruction says (amount at `at`) is added unless already known."""
        key = (code, normalise_account_no(account_no))
        account = self._accounts.get(key)
        if account is None:
            account = self._seeder.account(seed=seed, code=code, account_no=key[1], mix=mix)
            self._accounts[key] = account
        if (
            account.behaviour is not None
            and amount is not None
            and not any(abs(i.at - at) <= TIME_TOLERANCE for i in account.incoming)
        ):
            self._seeder.receive(account, seed=seed, mix=mix, amount=amount, at=at, now=now)
        return account
