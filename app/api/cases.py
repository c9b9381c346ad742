"""Case intake and reading: POST /cases, POST /cases/validate, GET /cases, GET /cases/{no}."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.responses import JSONResponse

from app.casefile.create import submit_case
from app.casefile.read import read_case
from app.casefile.schemas import CaseCreated, CaseRead
from app.cases.models import CaseStatus, FraudType, Priority
from app.cases.reads import CaseFilters, list_cases
from app.cases.schemas import CaseCreate, CasePage, Revealed, RevealRequest, ValidationOk
from app.cases.service import plan_case, preview_priority
from app.db import utcnow
from app.deps import (
    AnyUser,
    AppSettings,
    DbSession,
    IntakeUser,
    LegalNow,
    Revealer,
    VisibleCase,
    require_any_user,
    require_intake,
    revealed_value,
)
from app.errors import NO_NUL

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


@router.post(
    "",
    status_code=201,
    response_model=CaseCreated,
    summary="Report a case: every fraud element, stored atomically, stop-payments created",
    responses={201: {"headers": {"Location": {"schema": {"type": "string"}}}}},
)
def create(
    db: DbSession,
    settings: AppSettings,
    user: IntakeUser,
    body: CaseCreate,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=200,
            description="Any unique string per report (a UUID); a resubmission with the same "
            "key and body returns the first answer instead of a second case.",
        ),
    ] = None,
) -> JSONResponse:
    """The whole report in one request: victim, suspect contacts, every transfer. It is checked
    against every intake rule (422 naming each field otherwise), stored atomically with its
    accounts, and the stop-payments to every receiving institution are queued in the same
    transaction. Send an `Idempotency-Key` to make a retry safe."""
    answer, replayed = submit_case(
        db,
        data=body,
        user=user,
        zone=ZoneInfo(settings.timezone),
        idempotency_key=idempotency_key,
        ttl=dt.timedelta(seconds=settings.idempotency_ttl_s),
    )
    content: dict[str, Any] = (
        answer.model_dump(mode="json") if isinstance(answer, CaseCreated) else answer
    )
    headers = {"Location": f"/api/v1/cases/{content['case_no']}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(content, status_code=201, headers=headers)


@router.post(
    "/validate",
    summary="Check a report against every intake rule without storing anything",
    dependencies=[Depends(require_intake)],
)
def validate(db: DbSession, settings: AppSettings, body: CaseCreate) -> ValidationOk:
    """The same checks as `POST /api/v1/cases`, with the same answers, but nothing is stored and
    nothing is sent: the intake form calls it as the call-taker types."""
    now = utcnow()
    plan = plan_case(db, data=body, zone=ZoneInfo(settings.timezone), now=now)
    return ValidationOk(priority=preview_priority(db, plan=plan, now=now))


@router.get("", summary="Cases your unit (and the units under it) took, newest first")
def index(
    db: DbSession,
    user: AnyUser,
    status: CaseStatus | None = None,
    priority: Priority | None = None,
    fraud_type: FraudType | None = None,
    received_from: dt.datetime | None = None,
    received_to: dt.datetime | None = None,
    account_no: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CasePage:
    """Cases your unit and the units under it took, newest first, a page at a time; filtered by
    status, priority, fraud type, when received and an account number."""
    filters = CaseFilters(
        status=status,
        priority=priority,
        fraud_type=fraud_type,
        received_from=received_from,
        received_to=received_to,
        account_no=account_no,
    )
    return list_cases(db, user=user, filters=filters, page=page, page_size=page_size)


@router.get(
    "/{case_no}",
    summary="One case: accounts by level, transfers, instructions, events",
    dependencies=[Depends(require_any_user)],
)
def show(db: DbSession, case: VisibleCase, now: LegalNow) -> CaseRead:
    """Everything about one case your unit may see: accounts level by level, transfers, every
    instruction with its state and outcome, and the audit events. Personal data is masked."""
    return read_case(db, case=case, now=now)


@router.post(
    "/{case_no}/reveal",
    summary="Reveal one masked value of the case: the victim's ID number, phone or account",
    description="Supervisors and admins; a token needs `pii:reveal` (`cases:read` shows "
    "these values masked only). Each reveal is an audit event on the case "
    "(`pii.revealed`: who and which field, never the value).",
    responses={404: {"description": "No such case, or the case records no such value"}},
)
def reveal(
    response: Response,
    db: DbSession,
    user: Revealer,
    case: VisibleCase,
    body: RevealRequest,
) -> Revealed:
    value = revealed_value(
        db,
        case=case,
        field=body.field,
        account_id=body.account_id,
        user=user,
    )
    response.headers["Cache-Control"] = "no-store"
    return Revealed(field=body.field, account_id=body.account_id, value=value)
