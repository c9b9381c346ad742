"""After an institution's outcome: apply it forward-only and once, follow the money it
reports, start or end the legal clock of its hold, roll the case up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy.orm import Session

from app.callbacks.rules import follows
from app.callbacks.service import callback_status, receive_callback
from app.cases.models import Case, TransferSource
from app.dispatch.models import Instruction, InstructionKind, InstructionState, Outcome
from app.dispatch.transitions import move
from app.dispatch.wire import OutcomeReport
from app.flows.rollup import rollup_status
from app.flows.rules import Rules
from app.legal.holds import end_holds, term_start
from app.trace.follow import follow_onward
from app.trace.service import Onward, TraceRules, request_query

OPEN = (InstructionState.pending, InstructionState.sent, InstructionState.escalated)
STOPPED = (Outcome.stopped_full, Outcome.stopped_partial)
FROZEN = (Outcome.frozen_full, Outcome.frozen_partial)


def outcome_received(
    db: Session,
    *,
    code: str,
    body: bytes,
    headers: Mapping[str, str],
    now: dt.datetime,
    rules: Rules,
) -> str:
    """A signed callback: "applied", "duplicate" (a webhook-id seen before) or "ignored"
    (late). Raises CallbackRefused, its refusal stored, when the outcome cannot be true."""
    checked = receive_callback(
        db, code=code, body=body, headers=headers, now=now, skew=rules.callback_skew
    )
    if checked is None:
        return "duplicate"
    instruction = checked.instruction
    applied = apply_outcome(
        db, instruction, checked.report, onward=checked.onward, now=now, rules=rules
    )
    if applied:
        rollup_status(db, case_id=instruction.case_id)
    return callback_status(checked, applied=applied)


def apply_outcome(
    db: Session,
    instruction: Instruction,
    report: OutcomeReport,
    *,
    onward: list[Onward],
    now: dt.datetime,
    rules: Rules,
) -> bool:
    """Record an outcome once; an instruction already done or expired keeps what it has.

    Onward transfers it reports become the next level's stop-payments; a stop-payment that
    found no funds asks the institution where the money went (a `query`).
    """
    if instruction.state not in OPEN:
        return False
    outcome = report.outcome
    instruction.outcome = outcome.value
    instruction.amount_stopped = report.amount_stopped
    instruction.balance = report.balance
    instruction.mismatch_field = report.mismatch_field if outcome == Outcome.mismatch else None
    instruction.institution_ref = instruction.institution_ref or report.reference
    instruction.acked_at = instruction.acked_at or now
    instruction.completed_at = now
    instruction.lease_until = None
    if outcome in STOPPED or outcome in FROZEN:
        instruction.effective_at = report.effective_at or now
        start = term_start(db, instruction, instruction.effective_at)
        instruction.expires_at = start + (rules.hold if outcome in STOPPED else rules.freeze)
    move(
        db,
        instruction,
        InstructionState.done,
        data={
            "outcome": outcome.value,
            "amount_stopped": str(report.amount_stopped)
            if report.amount_stopped is not None
            else None,
            "mismatch_field": instruction.mismatch_field,
        },
    )
    if outcome == Outcome.released:
        end_holds(db, instruction, now=now)
    _follow(db, instruction, report, onward, now=now, trace=rules.trace)
    return True


def _follow(
    db: Session,
    instruction: Instruction,
    report: OutcomeReport,
    onward: list[Onward],
    *,
    now: dt.datetime,
    trace: TraceRules,
) -> None:
    kind = instruction.kind
    if not follows(instruction, report):
        return
    source = TransferSource.query if kind == InstructionKind.query else TransferSource.callback
    follow_onward(
        db,
        source=instruction,
        onward=onward,
        cashed_out=report.cashed_out,
        source_kind=source,
        now=now,
        rules=trace,
    )
    if kind == InstructionKind.stop_payment and report.outcome == Outcome.no_funds and not onward:
        assert instruction.account_id is not None
        request_query(
            db,
            case=db.get_one(Case, instruction.case_id),
            account_id=instruction.account_id,
            institution_id=instruction.institution_id,
            holder_name=instruction.holder_name,
            parent_id=instruction.id,
            user=None,
        )
