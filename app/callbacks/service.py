"""Institutions' signed callbacks: verify, de-duplicate, check the outcome (app/flows
applies it)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, String, bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app import logs
from app.callbacks.applied import inbox_row
from app.callbacks.body import BodyRefused, read_json, storable, unstorable
from app.callbacks.disputes import agrees, keep_dispute
from app.callbacks.models import CallbackInbox
from app.callbacks.refusals import refuse
from app.callbacks.rules import check_outcome, follows
from app.callbacks.sender import WEBHOOK_ID_MAX, Seen, Sender, find_sender
from app.callbacks.signature import verified
from app.cases.models import Case
from app.cases.validation import FieldProblem
from app.dispatch.models import Instruction, InstructionState
from app.dispatch.wire import CallbackStatus, OutcomeReport, parse_outcome
from app.errors import Forbidden, NotFound
from app.i18n import N_, Message, Named, msg, t
from app.i18n.labels import FIELD_ERROR
from app.problems import (
    MALFORMED_BODY,
    OUTCOME_DISPUTED,
    OUTCOME_NOT_ALLOWED,
    UNKNOWN_INSTRUCTION,
    ProblemType,
)
from app.trace.checks import check_onward
from app.trace.service import Onward

log = logging.getLogger(__name__)

KEY_MAX = 64  # instruction.idempotency_key


@dataclass(frozen=True)
class Checked:
    """A signed outcome that passed every check, with what it is about."""

    instruction: Instruction
    report: OutcomeReport
    onward: list[Onward]
    payload: Any
    webhook_id: str
    # The case's status, its row locked with the instruction's (app/flows/rollup.py).
    case_status: str
    # Its row in the inbox, once claimed (app/callbacks/applied.py).
    inbox: dict[str, Any]


class CallbackRefused(Exception):
    """A signed callback that cannot be applied; its refusal is stored and to be committed.

    Not an AppError: the router answers it with a problem *without* rolling back, so the
    refusal record survives while nothing of the outcome was written.
    """

    def __init__(self, problems: list[FieldProblem], *, kind: ProblemType) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems
        self.kind = kind
        self.status = kind.status

    @property
    def title_key(self) -> str:
        return self.kind.title

    @property
    def detail(self) -> Message:
        if self.kind == OUTCOME_DISPUTED:
            # One problem, which says what is on record and what was reported.
            return msg(self.problems[0].key, **self.problems[0].params)
        return msg("callback.refused", count=len(self.problems))

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Each problem as the answer's `errors` lists it, its message in no language yet."""
        return [
            {"field": p.path, "message": msg(p.key, **p.params), "type": p.key}
            for p in self.problems
        ]


def _refuse_long_id(db: Session, institution: Sender, webhook_id: str, body: bytes) -> None:
    """A signed callback whose webhook-id the inbox cannot hold: kept as refused (its id
    shortened, see refusals.stored_id), nothing else read of it."""
    try:
        payload = read_json(body)
    except BodyRefused as exc:
        payload = exc.value
    problems = [
        FieldProblem(
            "headers.webhook-id", N_("callback.webhook_id_long"), {"max": str(WEBHOOK_ID_MAX)}
        )
    ]
    refuse(
        db,
        institution=institution,
        instruction=_named(db, institution, payload),
        webhook_id=webhook_id,
        problems=problems,
        payload=payload,
    )
    raise CallbackRefused(problems, kind=MALFORMED_BODY)


def _rule(error: Any) -> FieldProblem:
    """A pydantic error as a problem in our catalogue (FIELD_ERROR), never its English."""
    path = ".".join(str(p) for p in error["loc"]) or "body"
    key = FIELD_ERROR.get(error["type"])
    params: dict[str, str | Named] = {str(k): str(v) for k, v in (error.get("ctx") or {}).items()}
    if key is not None:
        try:
            t(key, "en", **params)
            return FieldProblem(path, key, params)
        except (KeyError, IndexError):
            pass
    return FieldProblem(path, "field.invalid")


def _report(payload: Any) -> OutcomeReport:
    try:
        return parse_outcome(payload)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        raise BodyRefused([_rule(e) for e in errors]) from None


@cache
def _locking() -> Select[Instruction, str, str]:
    """Built once (the key bound as p_key): every callback runs it."""
    return (
        select(Instruction, Case.case_no, Case.status)
        .join(Case, Case.id == Instruction.case_id)
        .where(Instruction.idempotency_key == bindparam("p_key", type_=String))
        .with_for_update(of=[Instruction, Case], key_share=True)
    )


def _locked(
    db: Session, institution: Sender, report: OutcomeReport
) -> tuple[Instruction, str, str]:
    """The instruction, its case's number (for the log) and status, both rows locked.

    Locked first: two deliveries of one callback queue here, and the second sees the first.
    The case's row is locked too (FOR NO KEY UPDATE, as the roll-up locks it), so the roll-up
    at the end needs no statement of its own to lock it, and reads every outcome of the case
    committed before this one. (NO KEY UPDATE on the instruction too: it queues every
    UPDATE of it, and lets rows that merely refer to it be inserted meanwhile.)
    """
    found = db.execute(_locking(), {"p_key": report.idempotency_key}).one_or_none()
    if found is None or found[0].institution_id != institution.id:
        log.warning(
            "callback from %s for an instruction not its own",
            institution.code,
            extra={"institution": institution.code},
        )
        raise BodyRefused(
            [FieldProblem("data.idempotency_key", N_("callback.not_yours"))], status=409
        )
    return found[0], found[1], found[2]


def _named(db: Session, institution: Sender, payload: Any) -> Instruction | None:
    """The institution's instruction a body that is no valid outcome still names, if any."""
    data = payload.get("data") if isinstance(payload, dict) else None
    key = data.get("idempotency_key") if isinstance(data, dict) else None
    if not isinstance(key, str) or not 0 < len(key) <= KEY_MAX or unstorable(key):
        return None
    return db.scalar(
        select(Instruction).where(
            Instruction.idempotency_key == key, Instruction.institution_id == institution.id
        )
    )


def _onward(report: OutcomeReport) -> list[Onward]:
    return [
        Onward(o.institution, o.account_no, o.holder_name, o.amount, o.occurred_at, o.reference)
        for o in report.onward_transfers
    ]


def _checked(
    db: Session,
    *,
    institution: Sender,
    body: bytes,
    webhook_id: str,
    sent_at: dt.datetime,
    now: dt.datetime,
    skew: dt.timedelta,
) -> Checked:
    """The locked instruction, the outcome and its onward transfers, every rule checked.

    Raises CallbackRefused once the refusal is stored (and nothing else written).
    """
    payload: Any = None
    instruction: Instruction | None = None
    report: OutcomeReport | None = None
    try:
        payload = read_json(body)
        report = _report(payload)
        instruction, case_no, case_status = _locked(db, institution, report)
        logs.bind(case_no=case_no, instruction_id=instruction.id, institution=institution.code)
        problems = check_outcome(instruction, report, now=now, skew=skew)
        onward = _onward(report) if follows(instruction, report) else []
        onward, onward_problems = check_onward(db, onward=onward, now=now, skew=skew)
        if problems or onward_problems:
            raise BodyRefused(problems + onward_problems)
    except BodyRefused as exc:
        if payload is None:
            payload = exc.value
        refuse(
            db,
            institution=institution,
            instruction=instruction or _named(db, institution, payload),
            webhook_id=webhook_id,
            problems=exc.problems,
            payload=payload,
        )
        if report is None:
            kind = MALFORMED_BODY
        else:
            kind = UNKNOWN_INSTRUCTION if exc.status == 409 else OUTCOME_NOT_ALLOWED
        raise CallbackRefused(exc.problems, kind=kind) from None
    inbox = inbox_row(
        institution_id=institution.id,
        webhook_id=webhook_id,
        sent_at=sent_at,
        payload=storable(payload, masked=False),
        instruction_id=instruction.id,
        now=now,
    )
    return Checked(instruction, report, onward, payload, webhook_id, case_status, inbox)


def _bind_seen(institution: Sender, seen: Seen) -> None:
    """A repeat's log line names the case and instruction as the first delivery's did."""
    logs.bind(
        case_no=seen.case_no, instruction_id=seen.instruction_id, institution=institution.code
    )


def claim_inbox(db: Session, checked: Checked) -> bool:
    """Whether this webhook-id is new (it is then in the inbox); False for a repeat. For an
    outcome that applies nothing (app/callbacks/applied.py claims the others as it applies)."""
    inbox_id = db.scalar(
        pg_insert(CallbackInbox)
        .values(**checked.inbox)
        .on_conflict_do_nothing(
            index_elements=[CallbackInbox.institution_id, CallbackInbox.webhook_id]
        )
        .returning(CallbackInbox.id)
    )
    if inbox_id is None:
        log_repeat(checked)
    return inbox_id is not None


def log_repeat(checked: Checked) -> None:
    log.info("callback %s repeated: nothing changes", checked.webhook_id)


def receive_callback(
    db: Session,
    *,
    code: str,
    body: bytes,
    headers: Mapping[str, str],
    now: dt.datetime,
    skew: dt.timedelta,
) -> Checked | None:
    """The outcome of a first delivery, checked, its instruction locked (not claimed in the
    inbox yet); None for a repeat (a webhook-id seen before), which changes nothing.

    Raises CallbackRefused, its refusal stored, when the outcome cannot be true.
    """
    institution, seen = find_sender(db, code=code, webhook_id=headers.get("webhook-id", ""))
    if institution is None:
        raise NotFound(msg("callback.unknown_institution", code=code))
    if not institution.is_active:
        raise Forbidden(msg("callback.institution_disabled", code=code))
    webhook_id = verified(institution, body, headers, now)
    if len(webhook_id) > WEBHOOK_ID_MAX:
        _refuse_long_id(db, institution, webhook_id, body)
    if seen is not None:
        # Before any check: a repeat costs no statement of its own (the inbox's unique key
        # still de-duplicates two deliveries that race past this).
        _bind_seen(institution, seen)
        log.info("callback %s repeated: nothing changes", webhook_id)
        return None
    checked = _checked(
        db,
        institution=institution,
        body=body,
        webhook_id=webhook_id,
        sent_at=dt.datetime.fromtimestamp(int(float(headers["webhook-timestamp"])), dt.UTC),
        now=now,
        skew=skew,
    )
    instruction = checked.instruction
    if instruction.state == InstructionState.done and not agrees(instruction, checked.report):
        _dispute(db, checked)
    return checked


def _dispute(db: Session, checked: Checked) -> None:
    """Keep an outcome that contradicts the one on record, and refuse it with 409."""
    instruction, report = checked.instruction, checked.report
    keep_dispute(
        db,
        instruction=instruction,
        report=report,
        webhook_id=checked.webhook_id,
        payload=checked.payload,
    )
    log.warning(
        "callback %s disputed: %s on record, %s reported",
        checked.webhook_id,
        instruction.outcome,
        report.outcome.value,
    )
    params: dict[str, str | Named] = {
        "recorded": instruction.outcome or "",
        "reported": report.outcome.value,
    }
    problem = FieldProblem("data.outcome", N_("callback.disputed"), params)
    raise CallbackRefused([problem], kind=OUTCOME_DISPUTED)


def callback_status(checked: Checked, *, applied: bool) -> CallbackStatus:
    """What the institution is answered, and its log line: "applied"; "duplicate" when the
    instruction is done with this very outcome already (a contradicting one was disputed);
    "ignored" when it expired before the outcome came."""
    status: CallbackStatus
    if applied:
        status = "applied"
    elif checked.instruction.state == InstructionState.done:
        status = "duplicate"
    else:
        status = "ignored"
    kind, outcome = checked.instruction.kind, checked.report.outcome.value
    log.info("callback %s %s: %s %s", checked.webhook_id, status, kind, outcome)
    return status
