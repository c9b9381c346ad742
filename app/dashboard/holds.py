"""When each case's first stop-payment took effect, for many cases at once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, func, select

from app.dispatch.models import Instruction, InstructionKind

I = Instruction  # noqa: E741 - reads better in the aggregates below


def first_stops(case_ids: Select[int]) -> Select[int, dt.datetime | None]:
    """Per case: (case_id, when its first stop-payment took effect)."""
    return (
        select(I.case_id, func.min(I.effective_at).label("first_stop_at"))
        .where(
            I.case_id.in_(case_ids),
            I.kind == InstructionKind.stop_payment.value,
            I.effective_at.is_not(None),
        )
        .group_by(I.case_id)
    )
