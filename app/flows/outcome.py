"""After an institution's outcome: apply it forward-only and once, follow the money it
reports, start or end the legal clock of its hold, roll the case up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from app.callbacks.answers import record_repeat
from app.callbacks.applied import claim_and_complete, money
from app.callbacks.rules import follows
from app.callbacks.service import callback_status, claim_inbox, log_repeat, receive_callback
from app.cases.models import Case, TransferSource
from app.dispatch.models import Instruction, InstructionKind, InstructionState, Outcome
from app.dispatch.wire import CallbackStatus, OutcomeReport
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
) -> CallbackStatus:
    """A signed callback: "applied", "duplicate" (a webhook-id or an outcome on record
    already) or "ignored" (the instruction expired). Raises CallbackRefused, its refusal
    stored, when the outcome cannot be true, or (409) when it contradicts the one on record."""
    checked = receive_callback(
        db, code=code, body=body, headers=headers, now=now, skew=rules.callback_skew
    )
    if checked is None:
        record_repeat(db, code=code, webhook_id=headers["webhook-id"], now=now)
        return "duplicate"
    instruction = checked.instruction
    if instruction.state not in OPEN:
        # Done with this very outcome already, or expired: only the webhook-id is kept, with
        # the answer it got (the institution's view lists it).
        status = callback_status(checked, applied=False)
        checked.inbox["answer"] = status
        if not claim_inbox(db, checked):
            return "duplicate"
        return status
    if not apply_outcome(
        db,
        instruction,
        checked.report,
        onward=checked.onward,
        inbox=checked.inbox,
        now=now,
        rules=rules,
    ):
        log_repeat(checked)
        return "duplicate"
    # The case's row was locked with the instruction's: its status is as read then.
    rollup_status(db, case_id=instruction.case_id, locked_status=checked.case_status)
    return callback_status(checked, applied=True)


def apply_outcome(
    db: Session,
    instruction: Instruction,
    report: OutcomeReport,
    *,
    onward: list[Onward],
    inbox: dict[str, Any],
    now: dt.datetime,
    rules: Rules,
) -> bool:
    """Record an outcome of the locked, open `instruction` once, with its webhook-id in the
    inbox (`inbox`, its row): False, nothing written, when that webhook-id is there already.

    Onward transfers it reports become the next level's stop-payments; a stop-payment that
    found no funds asks the institution where the money went (a `query`).
    """
    outcome = report.outcome
    values: dict[str, Any] = {
        "outcome": outcome.value,
        "amount_stopped": report.amount_stopped,
        "balance": report.balance,
        "mismatch_field": report.mismatch_field if outcome == Outcome.mismatch else None,
        "institution_ref": instruction.institution_ref or report.reference,
        "acked_at": instruction.acked_at or now,
        "completed_at": now,
        "lease_until": None,
        "effective_at": instruction.effective_at,
        "expires_at": instruction.expires_at,
    }
    if outcome in STOPPED or outcome in FROZEN:
        effective_at = values["effective_at"] = report.effective_at or now
        start = term_start(db, instruction, effective_at)
        values["expires_at"] = start + (rules.hold if outcome in STOPPED else rules.freeze)
    # The event `move` writes for a move to done (app/dispatch/transitions.py).
    data = {
        "outcome": outcome.value,
        "amount_stopped": money(report.amount_stopped),
        "mismatch_field": values["mismatch_field"],
    }
    if not claim_and_complete(db, instruction, inbox=inbox, values=values, data=data):
        return False
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
