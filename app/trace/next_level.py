"""Stopping the money at the next level: a stop-payment for each account a report's
transfers reached, unless the branch ends there.

It ends at the configured depth, below the configured amount, or at an account another case
already holds; money back to the victim's own account is not stopped. An account the case
already stops gets the sum on its one stop-payment while it waits to be sent. Each such end
or merge is noted on the case, account by account.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.audit.service import record_event
from app.auth.models import User
from app.cases.models import Case, CaseAccount, Transfer
from app.dispatch.models import Instruction, InstructionKind, InstructionState
from app.dispatch.service import InstructionOrder, create_instructions
from app.institutions.models import Institution
from app.trace.service import Onward, TraceRules, held_elsewhere

# Audit event kind → the accounts it notes (id, level, amount, and what it is about).
Notes = dict[str, list[dict[str, object]]]


@dataclass(frozen=True)
class _Reached:
    """What the case knows of the accounts the money reached, by account id."""

    levels: dict[int, int]
    traced: dict[int, Decimal]  # all the case traced into the account (0 when nothing)
    own: dict[int, Instruction]  # the case's own stop-payment of it
    elsewhere: dict[int, tuple[Instruction, str]]  # another case's hold, and its case number


def stop_next_level(
    db: Session,
    *,
    case: Case,
    source: Instruction,
    reached: dict[int, Onward],
    institutions: dict[str, Institution],
    now: dt.datetime,
    rules: TraceRules,
    user: User | None,
) -> list[Instruction]:
    """Stop-payments for the accounts `reached` (each with the report's transfer into it)
    where the branch goes on; the others noted on the case. Returns those created."""
    known = _look_up(db, case_id=case.id, account_ids=set(reached), now=now)
    orders, notes = _sort_out(
        db, source=source, reached=reached, known=known, institutions=institutions, rules=rules
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
            "level": max(known.levels.get(o.account_id or 0, 0) for o in orders),
            "instructions": [i.id for i in created],
        },
    )
    return created


def _look_up(db: Session, *, case_id: int, account_ids: set[int], now: dt.datetime) -> _Reached:
    levels = dict(
        db.execute(
            select(CaseAccount.account_id, CaseAccount.level).where(
                CaseAccount.case_id == case_id, CaseAccount.account_id.in_(account_ids)
            )
        ).all()
    )
    traced: dict[int, Decimal] = defaultdict(Decimal)
    for to_id, amount in db.execute(
        select(Transfer.to_account_id, func.sum(Transfer.amount))
        .where(Transfer.case_id == case_id, Transfer.to_account_id.in_(account_ids))
        .group_by(Transfer.to_account_id)
    ):
        traced[to_id] = amount
    own = {
        i.account_id: i
        for i in db.scalars(
            select(Instruction)
            .where(
                Instruction.case_id == case_id,
                Instruction.account_id.in_(account_ids),
                Instruction.kind == InstructionKind.stop_payment.value,
            )
            .order_by(Instruction.id)
        )
        if i.account_id is not None
    }
    elsewhere = held_elsewhere(db, account_ids, case_id=case_id, now=now)
    return _Reached(levels=levels, traced=traced, own=own, elsewhere=elsewhere)


def _sort_out(
    db: Session,
    *,
    source: Instruction,
    reached: dict[int, Onward],
    known: _Reached,
    institutions: dict[str, Institution],
    rules: TraceRules,
) -> tuple[list[InstructionOrder], Notes]:
    """The stop-payments to send, and the notes on the accounts where a branch ends or joins
    the case's own stop-payment (merged into it here)."""
    orders: list[InstructionOrder] = []
    notes: Notes = defaultdict(list)
    for account_id in sorted(reached):
        o = reached[account_id]
        level, amount = known.levels.get(account_id, 0), known.traced[account_id]
        note = {"account_id": account_id, "level": level, "amount": str(amount)}
        if level == 0:
            continue  # money back to the victim's own account
        if level > rules.max_depth:
            notes["trace.depth_limit"].append(note)
        elif amount < rules.min_amount:
            notes["trace.below_minimum"].append(note)
        elif account_id in known.own:
            merged = _merge(db, known.own[account_id], amount)
            if merged is not None:
                notes[merged].append({**note, "instruction_id": known.own[account_id].id})
        elif account_id in known.elsewhere:
            other, case_no = known.elsewhere[account_id]
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
    return orders, notes


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
