"""The dashboard's JSON API (supervisors and admins), and the CSV exports."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, Response

from app.api.idempotency import ActionOnce
from app.dashboard import escalations as esc
from app.dashboard.deadlines import deadlines
from app.dashboard.exports import case_csv, scorecard_csv
from app.dashboard.schemas import (
    CompletionSeries,
    Deadlines,
    Escalation,
    HandledIn,
    Overview,
    Queue,
)
from app.dashboard.service import (
    WINDOWS,
    completion_series,
    completion_window,
    overview,
    queue,
)
from app.db import utcnow
from app.deps import (
    AppRules,
    AppSettings,
    DbSession,
    LegalNow,
    Supervisor,
    SupervisorAction,
    VisibleCase,
    require_supervisor,
)
from app.errors import NotFound
from app.i18n import msg
from app.params import BigDbId
from app.web import content_disposition

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"])
exports = APIRouter(prefix="/api/v1", tags=["dashboard"])

CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "UTF-8 CSV"}
}
InstructionId = Annotated[BigDbId, Path()]


@router.get("/overview", summary="Today at a glance (the centre's time zone)")
def get_overview(db: DbSession, settings: AppSettings, user: Supervisor, now: LegalNow) -> Overview:
    """Today's figures for the supervisors' dashboard, in the centre's time zone: cases, money
    lost, stopped, frozen and returned, instructions in flight, open escalations."""
    return overview(db, user=user, now=now, timezone=settings.timezone)


@router.get("/queue", summary="Open cases by priority, then the oldest call first")
def get_queue(
    db: DbSession,
    user: Supervisor,
    now: LegalNow,
    limit: Annotated[int, Query(ge=1, le=500, description="How many of the open cases")] = 50,
) -> Queue:
    """Open cases, the most urgent first (priority, then the oldest call), with what each is
    waiting for."""
    return queue(db, user=user, now=now, limit=limit)


@router.get(
    "/deadlines",
    summary="Stop-payments lapsing or lapsed, freezes to renew, returns to pay",
    description="Seen from the legal clock's time. `action` names the legal-clock endpoint "
    "that deals with each: `freeze` (POST …/freezes), `renew` (POST …/renewals), "
    "`complete_return` (POST …/returns/{return_id}/completion).",
)
def get_deadlines(
    db: DbSession,
    settings: AppSettings,
    rules: AppRules,
    user: Supervisor,
    now: LegalNow,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many of each kind")] = 50,
) -> Deadlines:
    items, counts = deadlines(
        db, user=user, now=now, rules=rules.legal, timezone=settings.timezone, limit=limit
    )
    return Deadlines(now=now, counts=counts, items=items)


@router.get("/escalations", summary="Escalated instructions, with the desk to phone")
def get_escalations(db: DbSession, user: Supervisor) -> list[Escalation]:
    """Instructions an institution has not answered in time, each with the institution's desk to
    phone."""
    return esc.escalations(db, user=user)


@router.post(
    "/escalations/{instruction_id}/handled",
    response_model=Escalation,
    summary="Mark an escalation handled (audited, with a note)",
    responses={
        404: {"description": "No such instruction in the cases you can see"},
        409: {"description": "Not escalated, or already marked handled"},
    },
)
def post_handled(
    db: DbSession,
    user: SupervisorAction,
    instruction_id: InstructionId,
    body: HandledIn,
    once: ActionOnce,
) -> JSONResponse:
    """Record that a supervisor followed an escalation up, with a note. Send an `Idempotency-Key`;
    409 when it is not escalated or already handled. Audited."""
    # Not escalated, or handled already: a Conflict with its message key (the handler's).
    found = esc.mark_handled(db, user=user, instruction_id=instruction_id, note=body.note)
    if found is None:
        raise NotFound(msg("dash.instruction_not_found", id=instruction_id))
    return once.answer(found)


@router.get(
    "/completion",
    summary="Completion time by institution over the last hours",
    description="Without `hours` the window is chosen from the data: the smallest of "
    "1, 2, 6, 12, 24 or 48 hours that holds every instruction completed in the last 48; the "
    "answer says which. Without `bucket_minutes`, the window's own (about 24-30 points).",
)
def get_completion(
    db: DbSession,
    user: Supervisor,
    hours: Annotated[int | None, Query(ge=1, le=48)] = None,
    bucket_minutes: Annotated[int | None, Query(ge=1, le=240)] = None,
) -> CompletionSeries:
    """Each institution's completion times (percentiles) over the last hours, for the dashboard's
    chart; the window fits the data unless `hours` names one."""
    now = utcnow()
    hours = hours or completion_window(db, user=user, now=now)
    bucket = bucket_minutes or WINDOWS.get(hours, max(1, hours * 60 // 24))
    points = completion_series(db, user=user, now=now, hours=hours, bucket_minutes=bucket)
    return CompletionSeries(hours=hours, bucket_minutes=bucket, points=points)


def _csv(body: str, filename: str) -> Response:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition(filename)},
    )


@exports.get(
    "/cases/{case_no}/export.csv",
    summary="The case as CSV: one row per instruction",
    response_class=Response,
    responses={**CSV, 404: {"description": "No such case"}},
    dependencies=[Depends(require_supervisor)],
)
def export_case(db: DbSession, case: VisibleCase) -> Response:
    """The case as CSV, one row per instruction; a victim's own account number is masked."""
    return _csv(case_csv(db, case=case), f"{case.case_no}.csv")


@exports.get(
    "/institutions/export.csv",
    summary="The institution scorecard as CSV",
    response_class=Response,
    responses=CSV,
    dependencies=[Depends(require_supervisor)],
)
def export_scorecard(
    db: DbSession,
    window_h: Annotated[int, Query(ge=1, le=24 * 90, description="Stats window, hours")] = 24,
) -> Response:
    """The institutions' scorecard as CSV: the figures the dashboard shows for each."""
    since = utcnow() - dt.timedelta(hours=window_h)
    return _csv(scorecard_csv(db, since=since), "institutions.csv")
