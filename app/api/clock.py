"""The legal clock, settable in tests and demos: GET, PUT and DELETE /api/v1/admin/clock."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.deps import AppSettings, DbSession, require_admin
from app.errors import NotFound
from app.i18n import msg
from app.legal.clock import legal_now, reset_clock, set_clock
from app.legal.models import ClockSetting
from app.legal.schemas import REFUSALS, ClockRead, ClockSet

clock_router = APIRouter(prefix="/api/v1/admin", tags=["legal clock"])


def _clock(settings: AppSettings) -> None:
    if not settings.settable_clock:
        raise NotFound(msg("legal.clock_fixed"))


@clock_router.get(
    "/clock",
    summary="The legal clock (tests and demos)",
    responses=REFUSALS,
    dependencies=[Depends(require_admin)],
)
def read_clock(db: DbSession, settings: AppSettings) -> ClockRead:
    """The legal clock the deadlines are counted on: the real time, or a time fixed for a test or
    a demo."""
    _clock(settings)
    return _clock_read(db, settings)


@clock_router.put(
    "/clock",
    summary="Freeze or shift the legal clock (only with STOPAY_SETTABLE_CLOCK=true)",
    description="Deadlines (lapses, warnings, renewals, returns) follow this clock, so a test "
    "or a demo can watch a stop-payment lapse without waiting 48 hours. Admins only.",
    responses=REFUSALS,
    dependencies=[Depends(require_admin)],
)
def put_clock(db: DbSession, settings: AppSettings, body: ClockSet) -> ClockRead:
    _clock(settings)
    set_clock(db, frozen_at=body.at, offset_s=body.offset_s)
    db.flush()
    return _clock_read(db, settings)


@clock_router.delete(
    "/clock",
    summary="Back to the real time",
    responses=REFUSALS,
    dependencies=[Depends(require_admin)],
)
def delete_clock(db: DbSession, settings: AppSettings) -> ClockRead:
    """Unfix the legal clock: deadlines count on the real time again. Audited."""
    _clock(settings)
    reset_clock(db)
    db.flush()
    return _clock_read(db, settings)


def _clock_read(db: DbSession, settings: AppSettings) -> ClockRead:
    row = db.get(ClockSetting, 1)
    return ClockRead(
        now=legal_now(db, settings),
        frozen_at=row.frozen_at if row else None,
        offset_s=row.offset_s if row else 0.0,
    )
