"""How each institution is doing: latency percentiles, success and mismatch rates, escalations."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, extract, func, select
from sqlalchemy.orm import Session

from app.dispatch.models import Instruction, InstructionKind, InstructionState, Outcome

ACK_S = extract("epoch", Instruction.acked_at - Instruction.created_at)
DONE_S = extract("epoch", Instruction.completed_at - Instruction.created_at)


@dataclass(frozen=True)
class Scorecard:
    instructions: int
    ack_p50_ms: int | None
    ack_p95_ms: int | None
    completion_p50_ms: int | None
    completion_p95_ms: int | None
    success_rate: float | None
    mismatch_rate: float | None
    open_escalations: int


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def _pct(q: float, seconds: ColumnElement[Any], present: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.percentile_cont(q).within_group(seconds).filter(present)


def scorecards(db: Session, *, since: dt.datetime) -> dict[int, Scorecard]:
    """Per institution id, over instructions created since `since` (escalations: all open)."""
    finished = [InstructionState.done.value, InstructionState.expired.value]
    is_stop_done = and_(
        Instruction.kind == InstructionKind.stop_payment.value, Instruction.state.in_(finished)
    )
    stopped = Instruction.outcome.in_([Outcome.stopped_full.value, Outcome.stopped_partial.value])
    rows = db.execute(
        select(
            Instruction.institution_id,
            func.count().filter(Instruction.created_at >= since),
            _pct(
                0.5, ACK_S, and_(Instruction.acked_at.is_not(None), Instruction.created_at >= since)
            ),
            _pct(
                0.95,
                ACK_S,
                and_(Instruction.acked_at.is_not(None), Instruction.created_at >= since),
            ),
            _pct(
                0.5,
                DONE_S,
                and_(Instruction.completed_at.is_not(None), Instruction.created_at >= since),
            ),
            _pct(
                0.95,
                DONE_S,
                and_(Instruction.completed_at.is_not(None), Instruction.created_at >= since),
            ),
            func.count().filter(is_stop_done, Instruction.created_at >= since),
            func.count().filter(is_stop_done, stopped, Instruction.created_at >= since),
            func.count().filter(
                is_stop_done,
                Instruction.outcome == Outcome.mismatch.value,
                Instruction.created_at >= since,
            ),
            func.count().filter(Instruction.state == InstructionState.escalated.value),
        ).group_by(Instruction.institution_id)
    ).all()
    cards = {}
    for inst_id, n, a50, a95, d50, d95, stops, ok, mismatches, escalated in rows:
        cards[inst_id] = Scorecard(
            instructions=n,
            ack_p50_ms=_ms(a50),
            ack_p95_ms=_ms(a95),
            completion_p50_ms=_ms(d50),
            completion_p95_ms=_ms(d95),
            success_rate=round(ok / stops, 4) if stops else None,
            mismatch_rate=round(mismatches / stops, 4) if stops else None,
            open_escalations=escalated,
        )
    return cards
