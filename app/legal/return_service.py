"""Returns to victims: propose the split of a frozen account, confirm it, record the payment.

The split covers every victim whose money reached the account, whichever case reported
them (a mule account is often in several cases). A supervisor sees the proposal, then
confirms it by its fingerprint: if anything changed in between (another return, a new
transfer, a freeze) the confirmation is refused and the new proposal shown instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from app.audit.service import record_event
from app.auth.models import User
from app.cases.models import Account, Case, Transfer
from app.dispatch.models import Instruction, InstructionKind
from app.i18n import N_
from app.institutions.models import Institution
from app.legal.holds import in_force
from app.legal.models import ReturnRule, ReturnState, VictimReturn
from app.legal.returns import ZERO, Inflow, Outflow, split_frozen
from app.legal.schemas import ReturnRead
from app.legal.service import LegalRules, Refused


@dataclass(frozen=True)
class Share:
    case_id: int
    case_no: str
    victim_name: str
    traced_in: Decimal  # what the victim's case traced into the account
    already: Decimal  # returned (or confirmed) to this victim from the account before
    amount: Decimal  # proposed now


@dataclass(frozen=True)
class Proposal:
    account_id: int
    frozen: Decimal
    already_returned: Decimal
    rule: ReturnRule
    shares: list[Share]
    payable_from: dt.date
    notice_until: dt.date | None

    @property
    def total(self) -> Decimal:
        return sum((s.amount for s in self.shares), ZERO)

    @property
    def fingerprint(self) -> str:
        text = "|".join(
            [
                self.rule.value,
                str(self.frozen),
                str(self.already_returned),
                *(f"{s.case_id}:{s.amount}" for s in self.shares),
            ]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def frozen_on(db: Session, *, account_id: int, now: dt.datetime) -> Decimal:
    """What the account's freezes in force hold, over every case (each case's latest hold)."""
    latest = (
        select(Instruction.kind, Instruction.amount_stopped)
        .where(Instruction.account_id == account_id, in_force(now))
        .order_by(Instruction.case_id, Instruction.id.desc())
        .ext(distinct_on(Instruction.case_id))
        .subquery()
    )
    total = db.scalar(
        select(func.sum(latest.c.amount_stopped)).where(
            latest.c.kind == InstructionKind.freeze.value
        )
    )
    return total or ZERO


def propose(
    db: Session, *, account_id: int, now: dt.datetime, today: dt.date, rules: LegalRules
) -> Proposal:
    frozen = frozen_on(db, account_id=account_id, now=now)
    if frozen <= 0:
        raise Refused(N_("legal.nothing_frozen"))
    before: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for case_id, amount in db.execute(
        select(VictimReturn.case_id, func.sum(VictimReturn.amount))
        .where(VictimReturn.account_id == account_id)
        .group_by(VictimReturn.case_id)
    ):
        before[case_id] = amount
    victims: dict[str, tuple[int, str]] = {}
    inflows: list[Inflow] = []
    for case_id, case_no, name, amount, at in db.execute(
        select(Case.id, Case.case_no, Case.victim_name, Transfer.amount, Transfer.occurred_at)
        .join(Case, Case.id == Transfer.case_id)
        .where(Transfer.to_account_id == account_id)
    ):
        victims[case_no] = (case_id, name)
        inflows.append(Inflow(case_no, amount, at))
    # Each case that followed the account records the onward transfers it was told of:
    # the same transfer once, however many cases heard of it.
    outflows = [
        Outflow(amount, at)
        for _, amount, at in db.execute(
            select(Transfer.to_account_id, Transfer.amount, Transfer.occurred_at)
            .where(Transfer.from_account_id == account_id)
            .distinct()
        )
    ]
    split = split_frozen(frozen, inflows, outflows)
    traced: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for inflow in inflows:
        traced[inflow.victim] += inflow.amount
    shares = []
    for case_no, entitled in split.shares.items():
        case_id, name = victims[case_no]
        amount = max(ZERO, entitled - before[case_id])
        if amount > 0:
            shares.append(Share(case_id, case_no, name, traced[case_no], before[case_id], amount))
    notice_until = (
        today + dt.timedelta(days=rules.notice_days) if split.rule == ReturnRule.pro_rata else None
    )
    proposal = Proposal(
        account_id=account_id,
        frozen=frozen,
        already_returned=sum(before.values(), ZERO),
        rule=split.rule,
        shares=shares,
        payable_from=notice_until or today,
        notice_until=notice_until,
    )
    if not shares:
        raise Refused(N_("legal.nothing_to_return"))
    if proposal.total + proposal.already_returned > frozen:
        raise Refused(N_("legal.return_exceeds_frozen"), frozen=str(frozen))
    return proposal


def confirm(
    db: Session,
    *,
    account_id: int,
    fingerprint: str,
    user: User,
    now: dt.datetime,
    today: dt.date,
    rules: LegalRules,
) -> list[VictimReturn]:
    """Write the proposed split as returns to be paid, if it is still what the user saw."""
    # One confirmation at a time per account: two at once could each fit in what is frozen,
    # and together exceed it.
    db.get_one(Account, account_id, with_for_update=True)
    proposal = propose(db, account_id=account_id, now=now, today=today, rules=rules)
    if proposal.fingerprint != fingerprint:
        raise Refused(N_("legal.proposal_changed"))
    batch = uuid.uuid4().hex
    rows = []
    for share in proposal.shares:
        row = VictimReturn(
            case_id=share.case_id,
            account_id=account_id,
            amount=share.amount,
            rule=proposal.rule.value,
            payable_from=proposal.payable_from,
            batch=batch,
            confirmed_by=user.id,
            confirmed_at=now,
        )
        db.add(row)
        rows.append(row)
    db.flush()
    for row, share in zip(rows, proposal.shares, strict=True):
        record_event(
            db,
            kind="return.confirmed",
            user=user,
            case_id=share.case_id,
            data={
                "return_id": row.id,
                "account_id": account_id,
                "amount": str(share.amount),
                "rule": proposal.rule.value,
                "payable_from": proposal.payable_from.isoformat(),
                "batch": batch,
            },
        )
    return rows


def complete(
    db: Session,
    *,
    case: Case,
    return_id: int,
    reference: str,
    user: User,
    now: dt.datetime,
    today: dt.date,
) -> VictimReturn | None:
    """The bank paid the victim: None when the case has no such return."""
    row = db.get(VictimReturn, return_id, with_for_update=True)
    if row is None or row.case_id != case.id:
        return None
    if row.state == ReturnState.completed.value:
        raise Refused(N_("legal.return_already_paid"))
    if today < row.payable_from:
        raise Refused(N_("legal.notice_running"), until=row.payable_from.isoformat())
    row.state, row.completed_at = ReturnState.completed.value, now
    row.completed_by, row.reference = user.id, reference
    record_event(
        db,
        kind="return.completed",
        user=user,
        case_id=case.id,
        data={"return_id": row.id, "amount": str(row.amount), "reference": reference},
    )
    return row


def read_returns(db: Session, which: ColumnElement[bool]) -> list[ReturnRead]:
    """The returns `which` picks out, oldest first, each with its account, in one query."""
    rows = db.execute(
        select(VictimReturn, Institution.code, Account.account_no)
        .join(Account, Account.id == VictimReturn.account_id)
        .join(Institution, Institution.id == Account.institution_id)
        .where(which)
        .order_by(VictimReturn.id)
    )
    return [
        ReturnRead(
            id=row.id,
            institution=code,
            account_no=number,
            amount=row.amount,
            rule=row.rule,
            state=row.state,
            payable_from=row.payable_from,
            confirmed_at=row.confirmed_at,
            completed_at=row.completed_at,
            reference=row.reference,
        )
        for row, code, number in rows
    ]
