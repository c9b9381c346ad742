"""Institutions' signed callbacks: verify, de-duplicate, check the outcome (app/flows
applies it)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app import logs
from app.callbacks.body import BodyRefused, read_json, storable, unstorable
from app.callbacks.models import CallbackInbox
from app.callbacks.refusals import refuse
from app.callbacks.rules import check_outcome, follows
from app.cases.models import Case
from app.cases.validation import FieldProblem
from app.dispatch.models import Instruction
from app.dispatch.wire import OutcomeReport, parse_outcome
from app.errors import Forbidden, NotFound, Unauthorized
from app.i18n import N_, Message, Named, msg, t
from app.i18n.labels import FIELD_ERROR
from app.institutions.models import Institution
from app.trace.checks import check_onward
from app.trace.service import Onward

log = logging.getLogger(__name__)

WEBHOOK_ID_MAX = 128  # callback_inbox.webhook_id
KEY_MAX = 64  # instruction.idempotency_key


@dataclass(frozen=True)
class Checked:
    """A signed outcome that passed every check, with what it is about."""

    instruction: Instruction
    report: OutcomeReport
    onward: list[Onward]
    payload: Any
    webhook_id: str


class CallbackRefused(Exception):
    """A signed callback that cannot be applied; its refusal is stored and to be committed.

    Not an AppError: the router answers it with a problem *without* rolling back, so the
    refusal record survives while nothing of the outcome was written.
    """

    def __init__(self, problems: list[FieldProblem], *, status: int = 422) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems
        self.status = status

    @property
    def title_key(self) -> str:
        return N_("problem.conflict") if self.status == 409 else N_("problem.validation")

    @property
    def detail(self) -> Message:
        return msg("callback.refused", count=len(self.problems))

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Each problem as the answer's `errors` lists it, its message in no language yet."""
        return [
            {"field": p.path, "message": msg(p.key, **p.params), "type": p.key}
            for p in self.problems
        ]


def _verified(institution: Institution, body: bytes, headers: Mapping[str, str]) -> str:
    """The webhook-id of a body the institution signed (not parsed yet: see body.py)."""
    # While a rotation is under way the institution may still sign with the old secret.
    secrets = [institution.callback_secret, institution.callback_secret_previous]
    for secret in filter(None, secrets):
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
            break
        except WebhookVerificationError:
            continue
    else:
        raise Unauthorized(msg("callback.bad_signature"))
    return headers["webhook-id"]


def _refuse_long_id(db: Session, institution: Institution, webhook_id: str, body: bytes) -> None:
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
    raise CallbackRefused(problems)


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


def _locked(
    db: Session, institution: Institution, report: OutcomeReport
) -> tuple[Instruction, str]:
    # Locked first: two deliveries of one callback queue here, and the second sees the first.
    # The case number comes along for the log (only the instruction's row is locked).
    found = db.execute(
        select(Instruction, Case.case_no)
        .join(Case, Case.id == Instruction.case_id)
        .where(Instruction.idempotency_key == report.idempotency_key)
        .with_for_update(of=Instruction)
    ).one_or_none()
    if found is None or found[0].institution_id != institution.id:
        log.warning(
            "callback from %s for an instruction not its own",
            institution.code,
            extra={"institution": institution.code},
        )
        raise BodyRefused(
            [FieldProblem("data.idempotency_key", N_("callback.not_yours"))], status=409
        )
    return found[0], found[1]


def _named(db: Session, institution: Institution, payload: Any) -> Instruction | None:
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
    institution: Institution,
    body: bytes,
    webhook_id: str,
    now: dt.datetime,
    skew: dt.timedelta,
) -> Checked:
    """The locked instruction, the outcome and its onward transfers, every rule checked.

    Raises CallbackRefused once the refusal is stored (and nothing else written).
    """
    payload: Any = None
    instruction: Instruction | None = None
    try:
        payload = read_json(body)
        report = _report(payload)
        instruction, case_no = _locked(db, institution, report)
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
        raise CallbackRefused(exc.problems, status=exc.status) from None
    return Checked(instruction, report, onward, payload, webhook_id)


def _seen(db: Session, institution: Institution, webhook_id: str) -> bool:
    """Whether this webhook-id was applied before (a refused one is checked again); a repeat's
    log line names the case and instruction as the first delivery's did."""
    found = db.execute(
        select(CallbackInbox.instruction_id, Case.case_no)
        .join(Instruction, Instruction.id == CallbackInbox.instruction_id)
        .join(Case, Case.id == Instruction.case_id)
        .where(
            CallbackInbox.institution_id == institution.id, CallbackInbox.webhook_id == webhook_id
        )
    ).one_or_none()
    if found is None:
        return False
    logs.bind(
        case_no=found.case_no, instruction_id=found.instruction_id, institution=institution.code
    )
    return True


def _first_delivery(
    db: Session,
    institution: Institution,
    webhook_id: str,
    headers: Mapping[str, str],
    checked: Checked,
    *,
    now: dt.datetime,
) -> bool:
    """Whether this webhook-id is new (it is then in the inbox); False for a repeat."""
    inbox_id = db.scalar(
        pg_insert(CallbackInbox)
        .values(
            institution_id=institution.id,
            webhook_id=webhook_id,
            webhook_timestamp=dt.datetime.fromtimestamp(
                int(float(headers["webhook-timestamp"])), dt.UTC
            ),
            payload=storable(checked.payload, masked=False),
            instruction_id=checked.instruction.id,
            # The outcome is applied in this same transaction, or nothing is kept.
            processed_at=now,
        )
        .on_conflict_do_nothing(
            index_elements=[CallbackInbox.institution_id, CallbackInbox.webhook_id]
        )
        .returning(CallbackInbox.id)
    )
    return inbox_id is not None


def receive_callback(
    db: Session,
    *,
    code: str,
    body: bytes,
    headers: Mapping[str, str],
    now: dt.datetime,
    skew: dt.timedelta,
) -> Checked | None:
    """The outcome of a first delivery, checked and claimed; None for a repeat (a webhook-id
    seen before), which changes nothing.

    Raises CallbackRefused, its refusal stored, when the outcome cannot be true.
    """
    institution = db.scalar(select(Institution).where(Institution.code == code))
    if institution is None:
        raise NotFound(msg("callback.unknown_institution", code=code))
    if not institution.is_active:
        raise Forbidden(msg("callback.institution_disabled", code=code))
    webhook_id = _verified(institution, body, headers)
    if len(webhook_id) > WEBHOOK_ID_MAX:
        _refuse_long_id(db, institution, webhook_id, body)
    if _seen(db, institution, webhook_id):
        # Before any check: a repeat costs one indexed look-up (the insert below still
        # de-duplicates two deliveries that race past this).
        log.info("callback %s repeated: nothing changes", webhook_id)
        return None
    checked = _checked(
        db, institution=institution, body=body, webhook_id=webhook_id, now=now, skew=skew
    )
    if not _first_delivery(db, institution, webhook_id, headers, checked, now=now):
        log.info("callback %s repeated: nothing changes", webhook_id)
        return None
    return checked


def callback_status(checked: Checked, *, applied: bool) -> str:
    """What the institution is answered, "applied" or "ignored" (late), and its log line."""
    status = "applied" if applied else "ignored"
    kind, outcome = checked.instruction.kind, checked.report.outcome.value
    log.info("callback %s %s: %s %s", checked.webhook_id, status, kind, outcome)
    return status
