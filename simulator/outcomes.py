"""What an institution does with an instruction: check it, then apply its effect once.

`balance` in an outcome is what the instruction's case could see on the account before the
effect: the free balance plus what that case already holds there (so a renewed stop-payment
of the same case finds its own money, and another case only what nobody holds).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from simulator.accounts import TIME_TOLERANCE, ZERO, Account, AccountBook, Onward
from simulator.numbers import normalise_account_no, normalise_name
from simulator.profiles import AccountMix
from simulator.registry import BinIndex, luhn_ok
from simulator.schemas import InstructionIn, Kind


@dataclass(frozen=True)
class Result:
    outcome: str
    amount_stopped: Decimal | None  # stopped, frozen or (release) given back
    balance: Decimal | None
    mismatch_field: str | None = None
    onward: tuple[Onward, ...] = ()
    cashed_out: Decimal = ZERO


def _bad_card_number(account_no: str, *, code: str, bins: BinIndex) -> bool:
    """A card number with this bank's BIN whose check digit is wrong: a typo the bank sees."""
    number = normalise_account_no(account_no)
    return (
        number.isdigit()
        and 16 <= len(number) <= 19
        and bins.lookup(number) == code
        and not luhn_ok(number)
    )


def mismatch_field(account: Account, instruction: InstructionIn, *, bins: BinIndex) -> str | None:
    """The first of the four checked fields that does not match the institution's records."""
    if account.mismatch is not None:
        return account.mismatch
    wanted, on_file = instruction.holder_name, account.holder_name
    if (
        wanted is not None
        and on_file is not None
        and normalise_name(wanted) != normalise_name(on_file)
    ):
        return "holder_name"
    if instruction.account_no and _bad_card_number(
        instruction.account_no, code=account.institution, bins=bins
    ):
        return "account_no"
    if not account.checks_incoming:
        return None
    amount, at = instruction.amount, instruction.transaction_time
    if amount is not None and amount > sum((i.amount for i in account.incoming), ZERO):
        return "amount"
    if at is not None and not any(abs(i.at - at) <= TIME_TOLERANCE for i in account.incoming):
        return "transaction_time"
    return None


def _stop(account: Account, case_no: str, amount: Decimal) -> Result:
    """Hold up to `amount` for the case; what it already holds there counts (a renewal)."""
    before = account.available(case_no)
    hold = account.hold(case_no)
    extra = min(account.free, max(ZERO, amount - hold.total))
    account.free -= extra
    hold.stopped += extra
    held = min(hold.total, amount)
    if held == 0:
        return _no_funds(account, before)
    outcome = "stopped_full" if held == amount else "stopped_partial"
    return Result(outcome, held, before, None, tuple(account.onward), account.cashed_out)


def _freeze(account: Account, case_no: str, amount: Decimal) -> Result:
    """Turn the case's stop into a freeze, taking free money for the rest of `amount`."""
    before = account.available(case_no)
    hold = account.hold(case_no)
    converted = min(hold.stopped, amount)
    extra = min(account.free, max(ZERO, amount - hold.frozen - converted))
    hold.stopped -= converted
    account.free -= extra
    hold.frozen += converted + extra
    frozen = min(hold.frozen, amount)
    if frozen == 0:
        return _no_funds(account, before)
    outcome = "frozen_full" if frozen == amount else "frozen_partial"
    return Result(outcome, frozen, before, None, tuple(account.onward), account.cashed_out)


def _release(account: Account, case_no: str, amount: Decimal | None) -> Result:
    """Give back what the case holds (at most `amount`, when given): stops first."""
    before = account.available(case_no)
    hold = account.hold(case_no)
    wanted = hold.total if amount is None else min(amount, hold.total)
    from_stop = min(hold.stopped, wanted)
    hold.stopped -= from_stop
    hold.frozen -= wanted - from_stop
    account.free += wanted
    return Result("released", wanted, before)


def _no_funds(account: Account, before: Decimal) -> Result:
    return Result("no_funds", ZERO, before, None, tuple(account.onward), account.cashed_out)


def apply_instruction(
    book: AccountBook,
    instruction: InstructionIn,
    *,
    code: str,
    seed: int,
    mix: AccountMix,
    bins: BinIndex,
    now: dt.datetime,
) -> Result:
    """Check `instruction` against the institution's records and apply its effect."""
    if instruction.kind == Kind.register:
        return Result("registered", None, None)
    assert instruction.account_no is not None  # InstructionIn requires it for other kinds
    account = book.find(
        seed=seed,
        code=code,
        account_no=instruction.account_no,
        mix=mix,
        # Only instructions about money that came in make a seeded account receive it.
        amount=instruction.amount if instruction.kind in (Kind.stop_payment, Kind.freeze) else None,
        at=instruction.transaction_time or now,
        now=now,
    )
    kind, case_no, amount = instruction.kind, instruction.case_no, instruction.amount
    if account.not_found:
        return Result("account_not_found", _zero_or_none(kind), None)
    if kind != Kind.release:
        field = mismatch_field(account, instruction, bins=bins)
        if field is not None:
            return Result("mismatch", _zero_or_none(kind), None, field)
    if kind == Kind.query:
        before = account.available(case_no)
        return Result("answered", None, before, None, tuple(account.onward), account.cashed_out)
    if kind == Kind.release:
        return _release(account, case_no, amount)
    assert amount is not None  # required for stop_payment and freeze
    if kind == Kind.freeze:
        return _freeze(account, case_no, amount)
    return _stop(account, case_no, amount)


def _zero_or_none(kind: Kind) -> Decimal | None:
    """`amount_stopped` of an instruction that did nothing: 0.00 where money was asked for."""
    return None if kind in (Kind.query, Kind.register) else ZERO
