"""Creating instructions: each with its idempotency key, its outbox row and its audit event."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from app.audit.service import record_event
from app.auth.models import User
from app.dispatch.models import Instruction, InstructionKind, Outbox
from app.dispatch.publish import SEND_TASK, publish_after_commit


@dataclass(frozen=True)
class InstructionOrder:
    """What to ask of whom: the fields the institution will match against its records."""

    kind: InstructionKind
    institution_id: int
    account_id: int | None = None
    amount: Decimal | None = None
    holder_name: str | None = None
    transaction_time: dt.datetime | None = None
    parent_id: int | None = None


def create_instructions(
    db: Session,
    *,
    case_id: int,
    priority: str,
    orders: list[InstructionOrder],
    user: User | None,
) -> list[Instruction]:
    """Create one instruction per order, each with a fresh idempotency key and an outbox row.

    The outbox row means the relay sends it even if the fast-path publish never happens.
    """
    instructions = [
        Instruction(
            case_id=case_id,
            institution_id=order.institution_id,
            account_id=order.account_id,
            kind=order.kind.value,
            amount_requested=order.amount,
            holder_name=order.holder_name,
            transaction_time=order.transaction_time,
            parent_id=order.parent_id,
            idempotency_key=uuid.uuid4().hex,
        )
        for order in orders
    ]
    db.add_all(instructions)
    db.flush()
    db.add_all(Outbox(instruction_id=i.id, task=SEND_TASK) for i in instructions)
    publish_after_commit(db, ((i.id, priority) for i in instructions))
    for instruction in instructions:
        record_event(
            db,
            kind="instruction.created",
            user=user,
            case_id=case_id,
            instruction_id=instruction.id,
            data={"kind": instruction.kind, "amount": str(instruction.amount_requested)},
        )
    return instructions
