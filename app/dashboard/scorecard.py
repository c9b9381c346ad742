"""How each institution is doing: latency percentiles, success and mismatch rates, escalations."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, extract, func, or_, select, true
from sqlalchemy.orm import Session

from app.dispatch.models import Instruction, InstructionKind, InstructionState, Outcome
from app.institutions.models import Institution

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


NO_CARD = Scorecard(0, None, None, None, None, None, None, 0)


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def _pct(q: float, seconds: ColumnElement[Any], present: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.percentile_cont(q).within_group(seconds).filter(present)


def _with_instructions(db: Session, institution_id: int | None) -> list[int]:
    """The institutions with any instruction: one with none in the window gets a card of
    zeros, as when the whole table was grouped."""
    has_any = exists().where(Instruction.institution_id == Institution.id)
    query = select(Institution.id).where(has_any)
    if institution_id is not None:
        query = query.where(Institution.id == institution_id)
    return list(db.scalars(query))


def _figures(since: dt.datetime) -> list[ColumnElement[Any]]:
    """A scorecard's figures as aggregates over one institution's instructions."""
    recent = Instruction.created_at >= since
    finished = [InstructionState.done.value, InstructionState.expired.value]
    is_stop_done = and_(
        Instruction.kind == InstructionKind.stop_payment.value, Instruction.state.in_(finished)
    )
    stopped = Instruction.outcome.in_([Outcome.stopped_full.value, Outcome.stopped_partial.value])
    acked = and_(Instruction.acked_at.is_not(None), recent)
    completed = and_(Instruction.completed_at.is_not(None), recent)
    return [
        func.count().filter(recent),
        _pct(0.5, ACK_S, acked),
        _pct(0.95, ACK_S, acked),
        _pct(0.5, DONE_S, completed),
        _pct(0.95, DONE_S, completed),
        func.count().filter(is_stop_done, recent),
        func.count().filter(is_stop_done, stopped, recent),
        func.count().filter(is_stop_done, Instruction.outcome == Outcome.mismatch.value, recent),
        func.count().filter(Instruction.state == InstructionState.escalated.value),
    ]


def scorecards(
    db: Session, *, since: dt.datetime, institution_id: int | None = None
) -> dict[int, Scorecard]:
    """Per institution id, over instructions created since `since` (escalations: all open);
    only that institution's when `institution_id` is given (its own view)."""
    only = true() if institution_id is None else Instruction.institution_id == institution_id
    rows = db.execute(
        select(Instruction.institution_id, *_figures(since))
        # Only the rows counted (through the created_at and state indexes), not a year's.
        .where(
            only,
            or_(
                Instruction.created_at >= since,
                Instruction.state == InstructionState.escalated.value,
            ),
        )
        .group_by(Instruction.institution_id)
    ).all()
    cards = dict.fromkeys(_with_instructions(db, institution_id), NO_CARD)
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
