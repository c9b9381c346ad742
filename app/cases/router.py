"""Case intake and reading: POST /cases, POST /cases/validate, GET /cases, GET /cases/{no}."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from app.cases.models import Case, CaseStatus, FraudType, Priority
from app.cases.reads import CaseFilters, find_case, list_cases, read_case
from app.cases.schemas import CaseCreate, CaseCreated, CasePage, CaseRead, ValidationOk
from app.cases.service import plan_case, preview_priority, submit_case
from app.cases.validation import CaseInvalid
from app.db import utcnow
from app.deps import AnyUser, AppSettings, CurrentUser, DbSession, IntakeUser
from app.errors import Invalid, NotFound, request_language
from app.i18n import Language, t
from app.legal.clock import LegalNow

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


def invalid(exc: CaseInvalid, lang: Language) -> Invalid:
    errors = [
        {"field": p.path, "message": t(p.key, lang, **p.params), "type": p.key}
        for p in exc.problems
    ]
    return Invalid(t("problem.validation_detail", lang, count=len(errors)), errors=errors)


def get_visible_case(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    case_no: Annotated[str, Path(max_length=32, examples=["ZF-20261122-000123"])],
) -> Case:
    """Load-or-404: a case the caller's unit may see (others look exactly like missing ones).

    The route's own guard says which roles and which token scope it needs.
    """
    case = find_case(db, case_no=case_no, user=user)
    if case is None:
        raise NotFound(t("case.not_found", request_language(request), case_no=case_no))
    return case


VisibleCase = Annotated[Case, Depends(get_visible_case)]


@router.post(
    "",
    status_code=201,
    response_model=CaseCreated,
    summary="Report a case: every fraud element, stored atomically, stop-payments created",
    responses={201: {"headers": {"Location": {"schema": {"type": "string"}}}}},
)
def create(
    request: Request,
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
    lang = request_language(request)
    try:
        answer, replayed = submit_case(
            db,
            data=body,
            user=user,
            zone=ZoneInfo(settings.timezone),
            idempotency_key=idempotency_key,
            ttl=dt.timedelta(seconds=settings.idempotency_ttl_s),
            mismatch_message=t("case.idempotency_mismatch", lang),
        )
    except CaseInvalid as exc:
        raise invalid(exc, lang) from exc
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
)
def validate(
    request: Request, db: DbSession, settings: AppSettings, user: IntakeUser, body: CaseCreate
) -> ValidationOk:
    now = utcnow()
    try:
        plan = plan_case(db, data=body, zone=ZoneInfo(settings.timezone), now=now)
    except CaseInvalid as exc:
        raise invalid(exc, request_language(request)) from exc
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
    account_no: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CasePage:
    filters = CaseFilters(
        status=status,
        priority=priority,
        fraud_type=fraud_type,
        received_from=received_from,
        received_to=received_to,
        account_no=account_no,
    )
    return list_cases(db, user=user, filters=filters, page=page, page_size=page_size)


@router.get("/{case_no}", summary="One case: accounts by level, transfers, instructions, events")
def show(db: DbSession, user: AnyUser, case: VisibleCase, now: LegalNow) -> CaseRead:
    return read_case(db, case=case, now=now)
