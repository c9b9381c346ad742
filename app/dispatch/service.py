"""Creating instructions: each with its idempotency key, its outbox row and its audit event."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy.orm import Session

from app.audit.service import record_event
from app.auth.models import User
from app.dispatch.models import Instruction, InstructionKind, Outbox

SEND_TASK = "dispatch.send_instruction"


def create_instructions(
    db: Session,
    *,
    case_id: int,
    orders: list[tuple[InstructionKind, int, int | None, Decimal | None]],
    user: User | None,
    parent_id: int | None = None,
) -> list[Instruction]:
    """Create instructions for (kind, institution_id, account_id, amount) orders.

    Each gets an outbox row, so the relay sends it even if the fast-path publish never happens.
    """
    instructions = [
        Instruction(
            case_id=case_id,
            institution_id=institution_id,
            account_id=account_id,
            kind=kind.value,
            amount_requested=amount,
            parent_id=parent_id,
            idempotency_key=uuid.uuid4().hex,
        )
        for kind, institution_id, account_id, amount in orders
    ]
    db.add_all(instructions)
    db.flush()
    db.add_all(Outbox(instruction_id=i.id, task=SEND_TASK) for i in instructions)
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
