"""Institutions' signed callbacks: verify, de-duplicate, apply the outcome forward-only."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app import logs
from app.callbacks.models import CallbackInbox
from app.cases.models import Case, TransferSource
from app.cases.service import rollup_status
from app.dispatch.models import Instruction, InstructionKind, InstructionState, Outcome
from app.dispatch.transitions import move
from app.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from app.i18n import Language, t
from app.institutions.models import Institution
from app.legal.service import end_holds, term_start
from app.trace.service import Onward, TraceRules, follow_onward, request_query
from workers.adapters import OutcomeReport, parse_outcome

log = logging.getLogger(__name__)

OPEN = (InstructionState.pending, InstructionState.sent, InstructionState.escalated)
STOPPED = (Outcome.stopped_full, Outcome.stopped_partial)
FROZEN = (Outcome.frozen_full, Outcome.frozen_partial)
# Outcomes of these kinds may report where money went; those transfers are followed.
FOLLOWED_KINDS = (InstructionKind.stop_payment, InstructionKind.query, InstructionKind.freeze)
NOTHING_SEEN = (Outcome.mismatch, Outcome.account_not_found, Outcome.rejected)


def _verified(institution: Institution, body: bytes, headers: Mapping[str, str],
              lang: Language) -> dict[str, Any]:  # fmt: skip
    # While a rotation is under way the institution may still sign with the old secret.
    secrets = [institution.callback_secret, institution.callback_secret_previous]
    payload: object = None
    for secret in filter(None, secrets):
        try:
            payload = Webhook(secret).verify(body, dict(headers))
            break
        except WebhookVerificationError:
            continue
    else:
        raise Unauthorized(t("callback.bad_signature", lang))
    if not isinstance(payload, dict):
        raise Invalid(t("callback.malformed", lang))
    return payload


def receive_callback(
    db: Session,
    *,
    code: str,
    body: bytes,
    headers: Mapping[str, str],
    now: dt.datetime,
    hold: dt.timedelta,
    freeze: dt.timedelta,
    trace: TraceRules,
    lang: Language,
) -> str:
    """Returns "applied", "duplicate" (a webhook-id seen before) or "ignored" (late)."""
    institution = db.scalar(select(Institution).where(Institution.code == code))
    if institution is None:
        raise NotFound(t("callback.unknown_institution", lang, code=code))
    if not institution.is_active:
        raise Forbidden(t("callback.institution_disabled", lang, code=code))
    payload = _verified(institution, body, headers, lang)
    try:
        report = parse_outcome(payload)
    except ValidationError as exc:
        raise Invalid(t("callback.malformed", lang), errors=[
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]) from exc  # fmt: skip
    # Locked first: two deliveries of one callback queue here, and the second sees the first.
    # The case number comes along for the log (only the instruction's row is locked).
    found = db.execute(
        select(Instruction, Case.case_no)
        .join(Case, Case.id == Instruction.case_id)
        .where(Instruction.idempotency_key == report.idempotency_key)
        .with_for_update(of=Instruction)
    ).one_or_none()
    if found is None or found[0].institution_id != institution.id:
        log.warning("callback from %s for an instruction not its own", code,
                    extra={"institution": code})  # fmt: skip
        raise Conflict(t("callback.not_yours", lang))
    instruction, case_no = found
    logs.bind(case_no=case_no, instruction_id=instruction.id, institution=code)
    inbox_id = db.scalar(
        pg_insert(CallbackInbox)
        .values(
            institution_id=institution.id,
            webhook_id=headers["webhook-id"],
            webhook_timestamp=dt.datetime.fromtimestamp(
                int(headers["webhook-timestamp"]), dt.UTC
            ),
            payload=payload,
            instruction_id=instruction.id,
            # The outcome is applied in this same transaction, or nothing is kept.
            processed_at=now,
        )
        .on_conflict_do_nothing(index_elements=[CallbackInbox.institution_id,
                                                CallbackInbox.webhook_id])
        .returning(CallbackInbox.id)
    )  # fmt: skip
    if inbox_id is None:
        log.info("callback %s repeated: nothing changes", headers["webhook-id"])
        return "duplicate"
    applied = apply_outcome(db, instruction, report, now=now, hold=hold, freeze=freeze, trace=trace)
    status = "applied" if applied else "ignored"
    log.info("callback %s %s: %s %s", headers["webhook-id"], status, instruction.kind,
             report.outcome.value)  # fmt: skip
    return status


def apply_outcome(
    db: Session,
    instruction: Instruction,
    report: OutcomeReport,
    *,
    now: dt.datetime,
    hold: dt.timedelta,
    freeze: dt.timedelta,
    trace: TraceRules,
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
        instruction.expires_at = start + (hold if outcome in STOPPED else freeze)
    move(db, instruction, InstructionState.done, data={
        "outcome": outcome.value,
        "amount_stopped": str(report.amount_stopped) if report.amount_stopped is not None else None,
        "mismatch_field": instruction.mismatch_field,
    })  # fmt: skip
    if outcome == Outcome.released:
        end_holds(db, instruction, now=now)
    _follow(db, instruction, report, now=now, trace=trace)
    rollup_status(db, case_id=instruction.case_id)
    return True


def _follow(
    db: Session, instruction: Instruction, report: OutcomeReport, *, now: dt.datetime,
    trace: TraceRules,
) -> None:  # fmt: skip
    kind = instruction.kind
    if kind not in FOLLOWED_KINDS or report.outcome in NOTHING_SEEN:
        return
    onward = [
        Onward(o.institution, o.account_no, o.holder_name, o.amount, o.occurred_at, o.reference)
        for o in report.onward_transfers
    ]
    source = TransferSource.query if kind == InstructionKind.query else TransferSource.callback
    follow_onward(db, source=instruction, onward=onward, cashed_out=report.cashed_out,
                  source_kind=source, now=now, rules=trace)  # fmt: skip
    if kind == InstructionKind.stop_payment and report.outcome == Outcome.no_funds and not onward:
        assert instruction.account_id is not None
        request_query(db, case=db.get_one(Case, instruction.case_id),
                      account_id=instruction.account_id,
                      institution_id=instruction.institution_id,
                      holder_name=instruction.holder_name, parent_id=instruction.id,
                      user=None)  # fmt: skip
