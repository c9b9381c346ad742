"""Following the money: onward transfers an institution reports become the next level's
stop-payments, in the same transaction as the outcome that reported them.

A branch ends at the configured depth, below the configured amount, at a cash-out, or at an
account another case already holds. An account gets one stop-payment per case: money from a
second branch is added to it while it is still waiting to be sent, and noted on the case
(`trace.merged_after_send`) once it has gone.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.audit.service import record_event
from app.auth.models import User
from app.cases.models import (
    Account,
    AccountKind,
    AccountRole,
    Case,
    CaseAccount,
    Transfer,
    TransferChannel,
    TransferSource,
)
from app.cases.validation import ascii_digits, normalise_account_no
from app.dispatch.models import Instruction, InstructionKind, InstructionState, Outcome
from app.dispatch.service import InstructionOrder, create_instructions
from app.institutions.models import Institution, InstitutionKind

OPEN_STATES = (
    InstructionState.pending.value,
    InstructionState.sent.value,
    InstructionState.escalated.value,
)
HOLDING_OUTCOMES = (
    Outcome.stopped_full.value,
    Outcome.stopped_partial.value,
    Outcome.frozen_full.value,
    Outcome.frozen_partial.value,
)
HOLDING_KINDS = (InstructionKind.stop_payment.value, InstructionKind.freeze.value)


@dataclass(frozen=True)
class TraceRules:
    """How far to follow: the deepest level stopped, and the least amount worth a stop."""

    max_depth: int = 3
    min_amount: Decimal = Decimal("1000.00")


@dataclass(frozen=True)
class Onward:
    """Money that left an account, as an institution reported it."""

    institution: str
    account_no: str
    holder_name: str | None
    amount: Decimal
    occurred_at: dt.datetime
    reference: str | None


def holding(now: dt.datetime) -> ColumnElement[bool]:
    """Instructions that hold an account now: a stop or freeze on its way, or in force."""
    return and_(
        Instruction.kind.in_(HOLDING_KINDS),
        or_(
            Instruction.state.in_(OPEN_STATES),
            and_(
                Instruction.state == InstructionState.done.value,
                Instruction.outcome.in_(HOLDING_OUTCOMES),
                Instruction.released_at.is_(None),
                or_(Instruction.expires_at.is_(None), Instruction.expires_at > now),
            ),
        ),
    )


def held_elsewhere(
    db: Session, account_ids: Iterable[int], *, case_id: int | None, now: dt.datetime
) -> dict[int, tuple[Instruction, str]]:
    """For each account another case holds now: the holding instruction and its case number
    (the oldest hold, when several cases hold it)."""
    ids = list(set(account_ids))
    if not ids:
        return {}
    query = (
        select(Instruction, Case.case_no)
        .join(Case, Case.id == Instruction.case_id)
        .where(Instruction.account_id.in_(ids), holding(now))
        .order_by(Instruction.id)
    )
    if case_id is not None:
        query = query.where(Instruction.case_id != case_id)
    found: dict[int, tuple[Instruction, str]] = {}
    for instruction, case_no in db.execute(query):
        assert instruction.account_id is not None
        found.setdefault(instruction.account_id, (instruction, case_no))
    return found


def _account_kind(institution: Institution, norm: str) -> AccountKind:
    if institution.kind == InstitutionKind.bank.value:
        return AccountKind.bank_card if ascii_digits(norm) else AccountKind.bank_account
    return AccountKind.payment_account


def _upsert_accounts(
    db: Session, wanted: dict[tuple[int, str], tuple[Institution, Onward]]
) -> dict[tuple[int, str], int]:
    """Account ids by (institution id, normalised number), inserting the new ones."""
    keys = sorted(wanted)
    for institution_id, norm in keys:
        institution, onward = wanted[(institution_id, norm)]
        db.execute(
            pg_insert(Account)
            .values(
                institution_id=institution_id,
                account_no=onward.account_no,
                account_no_norm=norm,
                holder_name=onward.holder_name,
                kind=_account_kind(institution, norm).value,
            )
            .on_conflict_do_nothing(
                index_elements=[Account.institution_id, Account.account_no_norm]
            )
        )
    rows = db.execute(
        select(Account.id, Account.institution_id, Account.account_no_norm).where(
            tuple_(Account.institution_id, Account.account_no_norm).in_(keys)
        )
    )
    return {(r.institution_id, r.account_no_norm): r.id for r in rows}


def follow_onward(
    db: Session,
    *,
    source: Instruction,
    onward: list[Onward],
    cashed_out: Decimal | None,
    source_kind: TransferSource,
    now: dt.datetime,
    rules: TraceRules,
    user: User | None = None,
) -> list[Instruction]:
    """Record where money went from `source`'s account and stop it at the next level.

    Returns the stop-payments created. Safe to run again with the same report: known
    transfers are not recorded twice and an account is never stopped twice in one case.
    """
    if source.account_id is None or (not onward and not cashed_out):
        return []
    # One follow at a time per case: two branches reaching one account see each other.
    case = db.get_one(Case, source.case_id, with_for_update={"key_share": True})
    if cashed_out:
        record_event(
            db,
            kind="trace.cashed_out",
            user=user,
            case_id=case.id,
            instruction_id=source.id,
            data={"amount": str(cashed_out)},
        )
    if not onward:
        return []
    level = db.scalar(
        select(CaseAccount.level).where(
            CaseAccount.case_id == case.id, CaseAccount.account_id == source.account_id
        )
    )
    next_level = (level or 0) + 1
    institutions = {
        i.code: i
        for i in db.scalars(
            select(Institution).where(Institution.code.in_({o.institution for o in onward}))
        )
    }
    unknown = sorted({o.institution for o in onward} - set(institutions))
    if unknown:
        record_event(
            db,
            kind="trace.unknown_institution",
            user=user,
            case_id=case.id,
            instruction_id=source.id,
            data={"institutions": unknown},
        )
    wanted: dict[tuple[int, str], tuple[Institution, Onward]] = {}
    for o in onward:
        institution = institutions.get(o.institution)
        norm = normalise_account_no(o.account_no)
        if institution is not None and norm:
            wanted.setdefault((institution.id, norm), (institution, o))
    ids = _upsert_accounts(db, wanted)
    ids = {key: account_id for key, account_id in ids.items() if account_id != source.account_id}
    if not ids:
        return []

    db.execute(
        pg_insert(CaseAccount)
        .values(
            [
                {
                    "case_id": case.id,
                    "account_id": account_id,
                    "role": AccountRole.suspect.value,
                    "level": next_level,
                }
                for account_id in sorted(ids.values())
            ]
        )
        .on_conflict_do_nothing(index_elements=[CaseAccount.case_id, CaseAccount.account_id])
    )
    _record_transfers(
        db,
        case_id=case.id,
        source=source,
        onward=onward,
        ids=ids,
        institutions=institutions,
        source_kind=source_kind,
    )
    return _stop_next_level(
        db,
        case=case,
        source=source,
        account_ids=set(ids.values()),
        onward=onward,
        ids=ids,
        institutions=institutions,
        now=now,
        rules=rules,
        user=user,
    )


def _key(o: Onward, institutions: dict[str, Institution]) -> tuple[int, str] | None:
    institution = institutions.get(o.institution)
    if institution is None:
        return None
    return (institution.id, normalise_account_no(o.account_no))


def _record_transfers(
    db: Session,
    *,
    case_id: int,
    source: Instruction,
    onward: list[Onward],
    ids: dict[tuple[int, str], int],
    institutions: dict[str, Institution],
    source_kind: TransferSource,
) -> None:
    """Transfer edges from the source account, each once however often it is reported."""
    known = {
        (t.to_account_id, t.amount, t.occurred_at)
        for t in db.execute(
            select(Transfer.to_account_id, Transfer.amount, Transfer.occurred_at).where(
                Transfer.case_id == case_id, Transfer.from_account_id == source.account_id
            )
        )
    }
    for o in onward:
        key = _key(o, institutions)
        to_id = ids.get(key) if key else None
        if to_id is None or (to_id, o.amount, o.occurred_at) in known:
            continue
        known.add((to_id, o.amount, o.occurred_at))
        db.add(
            Transfer(
                case_id=case_id,
                from_account_id=source.account_id,
                to_account_id=to_id,
                amount=o.amount,
                occurred_at=o.occurred_at,
                reference=o.reference,
                channel=TransferChannel.other.value,
                source=source_kind.value,
            )
        )
    db.flush()


def _stop_next_level(
    db: Session,
    *,
    case: Case,
    source: Instruction,
    account_ids: set[int],
    onward: list[Onward],
    ids: dict[tuple[int, str], int],
    institutions: dict[str, Institution],
    now: dt.datetime,
    rules: TraceRules,
    user: User | None,
) -> list[Instruction]:
    levels = dict(
        db.execute(
            select(CaseAccount.account_id, CaseAccount.level).where(
                CaseAccount.case_id == case.id, CaseAccount.account_id.in_(account_ids)
            )
        ).all()
    )
    traced: dict[int, Decimal] = defaultdict(Decimal)
    for to_id, amount in db.execute(
        select(Transfer.to_account_id, func.sum(Transfer.amount))
        .where(Transfer.case_id == case.id, Transfer.to_account_id.in_(account_ids))
        .group_by(Transfer.to_account_id)
    ):
        traced[to_id] = amount
    own = {
        i.account_id: i
        for i in db.scalars(
            select(Instruction)
            .where(
                Instruction.case_id == case.id,
                Instruction.account_id.in_(account_ids),
                Instruction.kind == InstructionKind.stop_payment.value,
            )
            .order_by(Instruction.id)
        )
    }
    elsewhere = held_elsewhere(db, account_ids, case_id=case.id, now=now)
    latest: dict[int, Onward] = {}
    for o in onward:
        key = _key(o, institutions)
        if key in ids:
            latest[ids[key]] = o  # the report's own transfer gives the name and time to match

    orders: list[InstructionOrder] = []
    notes: dict[str, list[dict[str, object]]] = defaultdict(list)
    for account_id in sorted(latest):
        o, level, amount = latest[account_id], levels.get(account_id, 0), traced[account_id]
        note = {"account_id": account_id, "level": level, "amount": str(amount)}
        if level == 0:
            continue  # money back to the victim's own account
        if level > rules.max_depth:
            notes["trace.depth_limit"].append(note)
        elif amount < rules.min_amount:
            notes["trace.below_minimum"].append(note)
        elif account_id in own:
            merged = _merge(db, own[account_id], amount)
            if merged is not None:
                notes[merged].append({**note, "instruction_id": own[account_id].id})
        elif account_id in elsewhere:
            other, case_no = elsewhere[account_id]
            notes["trace.held_by_other_case"].append(
                {**note, "case_no": case_no, "instruction_id": other.id}
            )
        else:
            orders.append(
                InstructionOrder(
                    kind=InstructionKind.stop_payment,
                    institution_id=institutions[o.institution].id,
                    account_id=account_id,
                    amount=amount,
                    holder_name=o.holder_name,
                    transaction_time=o.occurred_at,
                    parent_id=source.id,
                )
            )
    for kind, items in notes.items():
        record_event(
            db,
            kind=kind,
            user=user,
            case_id=case.id,
            instruction_id=source.id,
            data={"accounts": items},
        )
    if not orders:
        return []
    created = create_instructions(db, case_id=case.id, priority=case.priority, orders=orders)
    record_event(
        db,
        kind="trace.followed",
        user=user,
        case_id=case.id,
        instruction_id=source.id,
        data={
            "level": max(levels.get(o.account_id or 0, 0) for o in orders),
            "instructions": [i.id for i in created],
        },
    )
    return created


def _merge(db: Session, stop: Instruction, amount: Decimal) -> str | None:
    """A second branch reached an account this case already stops: one instruction for the
    sum while it is still waiting to be sent (a worker's claim and this update queue on the
    row, so the worker sends either the old amount or the sum, never both). None when the
    stop already asks for that much (the same transfers reported again)."""
    if stop.amount_requested is not None and stop.amount_requested >= amount:
        return None
    merged = db.execute(
        update(Instruction)
        .where(
            Instruction.id == stop.id,
            Instruction.state == InstructionState.pending.value,
            Instruction.attempts == 0,
        )
        .values(amount_requested=amount)
        .returning(Instruction.id)
    ).first()
    if merged is not None:
        db.refresh(stop)
        return "trace.merged"
    return "trace.merged_after_send"


def request_query(
    db: Session,
    *,
    case: Case,
    account_id: int,
    institution_id: int,
    holder_name: str | None,
    parent_id: int | None,
    user: User | None,
) -> Instruction | None:
    """Ask the institution for the account's balance and outgoing transfers; None when a
    query about it in this case is still open."""
    open_query = db.scalar(
        select(Instruction.id).where(
            Instruction.case_id == case.id,
            Instruction.account_id == account_id,
            Instruction.kind == InstructionKind.query.value,
            Instruction.state.in_(OPEN_STATES),
        )
    )
    if open_query is not None:
        return None
    [query] = create_instructions(
        db,
        case_id=case.id,
        priority=case.priority,
        orders=[
            InstructionOrder(
                kind=InstructionKind.query,
                institution_id=institution_id,
                account_id=account_id,
                holder_name=holder_name,
                parent_id=parent_id,
            )
        ],
    )
    record_event(
        db,
        kind="trace.query_requested",
        user=user,
        case_id=case.id,
        instruction_id=query.id,
        data={"account_id": account_id, "parent": parent_id},
    )
    return query
