from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import case, select

from app.auth.models import Role
from app.callbacks.disputes import DisputedOutcomeRead, list_disputes
from app.callbacks.refusals import latest_refused, refused_counts
from app.callbacks.schemas import refused_read
from app.dashboard.schemas import InstitutionRead, InstitutionStats
from app.dashboard.scorecard import scorecards
from app.db import utcnow
from app.deps import AnyUser, DbSession, Lang, Supervisor
from app.errors import NotFound
from app.i18n import msg
from app.institutions.models import Institution

router = APIRouter(prefix="/api/v1", tags=["institutions"])

_KIND_ORDER = case(
    (Institution.kind == "national_platform", 0), (Institution.kind == "bank", 1), else_=2
)


@router.get("/institutions")
def list_institutions(
    db: DbSession,
    user: AnyUser,
    lang: Lang,
    window_h: Annotated[int, Query(ge=1, le=24 * 90, description="Stats window, hours")] = 24,
) -> list[InstitutionRead]:
    """The registry (national platform, banks, payment institutions) with each one's scorecard:
    ack and completion percentiles, success and mismatch rates, open escalations, breaker,
    refused callbacks (and, for supervisors and admins, the latest of them with reasons)."""
    rows = db.scalars(
        select(Institution).where(Institution.is_active).order_by(_KIND_ORDER, Institution.code)
    )
    since = utcnow() - dt.timedelta(hours=window_h)
    cards = scorecards(db, since=since)
    refused = refused_counts(db, since=since)
    latest = latest_refused(db, since=since) if user.role in (Role.supervisor, Role.admin) else {}
    answer = []
    for row in rows:
        item = InstitutionRead.model_validate(row)
        card = cards.get(row.id)
        item.stats = InstitutionStats.model_validate(card) if card else None
        item.refused_callbacks = refused.get(row.id, 0)
        item.refused_latest = [refused_read(r, lang) for r in latest.get(row.id, [])]
        answer.append(item)
    return answer


@router.get(
    "/institutions/{code}/disputed-outcomes",
    summary="An institution's disputed outcomes, newest first",
)
def list_disputed_outcomes(
    db: DbSession,
    _user: Supervisor,
    code: Annotated[str, Path(max_length=16)],
) -> list[DisputedOutcomeRead]:
    """Well-signed outcomes this institution sent for instructions already done, that
    contradict the outcome on record (at most 200). None of them was applied: the recorded
    outcome stands until a supervisor settles it with the institution."""
    found = db.scalar(select(Institution.id).where(Institution.code == code))
    if found is None:
        raise NotFound(msg("callback.unknown_institution", code=code))
    return list_disputes(db, institution_id=found)
