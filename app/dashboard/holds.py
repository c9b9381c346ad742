"""When each case's first stop-payment took effect, for many cases at once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, func, select

from app.dispatch.models import Instruction, InstructionKind


def first_stops(case_ids: Select[int]) -> Select[int, dt.datetime | None]:
    """Per case: (case_id, when its first stop-payment took effect)."""
    return (
        select(Instruction.case_id, func.min(Instruction.effective_at).label("first_stop_at"))
        .where(
            Instruction.case_id.in_(case_ids),
            Instruction.kind == InstructionKind.stop_payment.value,
            Instruction.effective_at.is_not(None),
        )
        .group_by(Instruction.case_id)
    )
