"""What the call-taker's status page shows of a case, in one read (the stream polls it).

- Every transfer the report gave, and every account a bank named later (level 2 and on),
  each with its receiving account's fate (`case_fates`, app/casefile/fates.py).
- The case's instructions, a corrected resend right under the one it replaces, and for a
  bounced stop-payment the field that did not match and the value that was sent.
- The totals: lost, stopped, frozen, and what other cases hold of the accounts it shares.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from app.casefile.fates import AccountFate, Fate, case_fates
from app.cases.models import Account, Case, CaseAccount, Transfer
from app.cases.reads import victim_anywhere
from app.db import utcnow
from app.dispatch.models import Instruction, InstructionKind, InstructionState, Outcome
from app.institutions.models import Institution
from app.privacy import mask_name, shown_account_no

OPEN_STATES = {InstructionState.pending, InstructionState.sent, InstructionState.escalated}
# What a resend can correct (POST .../instructions/{id}/resend); an account number cannot
# be: another number is another account.
CORRECTABLE = ("holder_name", "amount", "transaction_time")


@dataclass(frozen=True)
class TransferRow:
    """A transfer into a receiving account; an account a bank named with no transfer of this
    case into it has none (`amount` and `occurred_at` are None)."""

    occurred_at: dt.datetime | None
    amount: Decimal | None
    level: int
    institution: str
    institution_name_zh: str
    institution_name_en: str
    account_no: str
    holder_name: str | None
    fate: AccountFate | None


@dataclass(frozen=True)
class InstructionRow:
    id: int
    kind: str
    state: str
    outcome: str | None
    institution: str
    institution_name_zh: str
    institution_name_en: str
    account_no: str | None
    level: int | None
    amount_requested: Decimal | None
    amount_stopped: Decimal | None
    holder_name: str | None
    transaction_time: dt.datetime | None
    mismatch_field: str | None
    created_at: dt.datetime
    completed_at: dt.datetime | None
    replaces_id: int | None
    replaced: bool = False
    depth: int = 0  # 1 for a corrected resend shown under its original, 2 for its own, ...
    corrects: str | None = None  # a resend: the field its original bounced on

    @property
    def elapsed_s(self) -> float | None:
        if self.completed_at is None:
            return None
        return (self.completed_at - self.created_at).total_seconds()

    @property
    def bounced(self) -> bool:
        """A stop-payment the institution answered "does not match", not resent yet."""
        return (
            self.kind == InstructionKind.stop_payment
            and self.outcome == Outcome.mismatch
            and not self.replaced
        )

    @property
    def resendable(self) -> bool:
        return self.bounced and (self.mismatch_field or "holder_name") in CORRECTABLE


@dataclass(frozen=True)
class CaseStatusView:
    case_no: str
    status: str
    priority: str
    received_at: dt.datetime
    victim_name: str  # masked (app/privacy.py)
    total_amount: Decimal
    amount_stopped: Decimal
    amount_frozen: Decimal
    amount_held_elsewhere: Decimal
    transfers: list[TransferRow]
    instructions: list[InstructionRow]

    @property
    def settled(self) -> bool:
        return not any(i.state in OPEN_STATES for i in self.instructions)

    @property
    def levels(self) -> list[tuple[int, list[TransferRow]]]:
        """The transfer rows by level: the report's first, then what the banks revealed."""
        by_level: dict[int, list[TransferRow]] = defaultdict(list)
        for row in self.transfers:
            by_level[row.level].append(row)
        return sorted(by_level.items())


def read_status(db: Session, *, case_id: int, now: dt.datetime | None = None) -> CaseStatusView:
    case = db.get_one(Case, case_id)
    fates = case_fates(db, case=case, now=now or utcnow())
    transfers = _transfer_rows(db, case_id=case_id, fates=fates)

    def total(*words: Fate, held_elsewhere: bool = False) -> Decimal:
        return sum(
            (
                (f.held_by_amount if held_elsewhere else f.amount_held) or Decimal(0)
                for f in fates.values()
                if f.fate in words
            ),
            Decimal(0),
        )

    return CaseStatusView(
        case_no=case.case_no,
        status=case.status,
        priority=case.priority,
        received_at=case.received_at,
        victim_name=mask_name(case.victim_name),
        total_amount=case.total_amount,
        amount_stopped=total(Fate.stopped, Fate.partly_stopped),
        amount_frozen=total(Fate.frozen),
        amount_held_elsewhere=total(Fate.held_elsewhere, held_elsewhere=True),
        transfers=transfers,
        instructions=_grouped(_instruction_rows(db, case_id=case_id)),
    )


def _transfer_rows(
    db: Session, *, case_id: int, fates: dict[int, AccountFate]
) -> list[TransferRow]:
    """Each receiving account of the case with each transfer of the case into it."""
    link = CaseAccount
    rows = db.execute(
        select(
            link.account_id,
            link.level,
            link.holder_name,
            Account.account_no,
            victim_anywhere(Account.id),
            Institution.code,
            Institution.name_zh,
            Institution.name_en,
            Transfer.occurred_at,
            Transfer.amount,
        )
        .select_from(link)
        .join(Account, Account.id == link.account_id)
        .join(Institution, Institution.id == Account.institution_id)
        .outerjoin(
            Transfer,
            and_(Transfer.case_id == link.case_id, Transfer.to_account_id == link.account_id),
        )
        .where(link.case_id == case_id, link.level > 0)
        .order_by(link.level, Transfer.occurred_at.nulls_last(), Transfer.id, link.account_id)
    )
    return [
        TransferRow(
            occurred_at=r.occurred_at,
            amount=r.amount,
            level=r.level,
            institution=r.code,
            institution_name_zh=r.name_zh,
            institution_name_en=r.name_en,
            account_no=shown_account_no(r.account_no, victim=r[4]),
            holder_name=r.holder_name,
            fate=fates.get(r.account_id),
        )
        for r in rows
    ]


def _instruction_rows(db: Session, *, case_id: int) -> list[InstructionRow]:
    links = {
        row.account_id: row
        for row in db.execute(
            select(
                CaseAccount.account_id, CaseAccount.level, victim_anywhere(CaseAccount.account_id)
            ).where(CaseAccount.case_id == case_id)
        )
    }
    found = db.execute(
        select(Instruction, Institution, Account.account_no)
        .join(Institution, Institution.id == Instruction.institution_id)
        .join(Account, Account.id == Instruction.account_id, isouter=True)
        .where(Instruction.case_id == case_id)
        .order_by(Instruction.id)
    ).all()
    replaced = {i.replaces_id for i, _, _ in found if i.replaces_id is not None}
    return [
        InstructionRow(
            id=i.id,
            kind=i.kind,
            state=i.state,
            outcome=i.outcome,
            institution=inst.code,
            institution_name_zh=inst.name_zh,
            institution_name_en=inst.name_en,
            account_no=(
                shown_account_no(account_no, victim=links[i.account_id][2])
                if account_no is not None and i.account_id in links
                else account_no
            ),
            level=links[i.account_id].level if i.account_id in links else None,
            amount_requested=i.amount_requested,
            amount_stopped=i.amount_stopped,
            holder_name=i.holder_name,
            transaction_time=i.transaction_time,
            mismatch_field=i.mismatch_field,
            created_at=i.created_at,
            completed_at=i.completed_at,
            replaces_id=i.replaces_id,
            replaced=i.id in replaced,
        )
        for i, inst, account_no in found
    ]


def _grouped(rows: list[InstructionRow]) -> list[InstructionRow]:
    """The instructions in the order they were made, each corrected resend moved right under
    the instruction it replaces (and its own resend under it)."""
    ids = {r.id for r in rows}
    resends: dict[int, list[InstructionRow]] = defaultdict(list)
    for r in rows:
        if r.replaces_id is not None and r.replaces_id in ids:
            resends[r.replaces_id].append(r)
    ordered: list[InstructionRow] = []
    stack = [(r, 0) for r in reversed(rows) if r.replaces_id not in ids]
    while stack:
        row, depth = stack.pop()
        ordered.append(replace(row, depth=depth))
        fixed = row.mismatch_field or "holder_name"
        stack.extend((replace(r, corrects=fixed), depth + 1) for r in reversed(resends[row.id]))
    return ordered
