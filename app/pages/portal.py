"""/institution: a partner institution's own page, in its user's language; and the form that
rotates its callback secret (the new secret is on the answer page once, never again)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from functools import partial
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from app.auth.models import User
from app.callbacks.disputes import list_disputes
from app.config import Settings
from app.dashboard.units import human_duration
from app.db import utcnow
from app.deps import (
    AppSettings,
    CurrentPrincipal,
    DbSession,
    InstitutionForm,
    InstitutionUser,
    Lang,
    NoStore,
)
from app.errors import Conflict, Invalid
from app.flows.rotation import rotate_own_once
from app.i18n import Language, Message, msg
from app.institutions.secrets import Rotation
from app.portal import reads
from app.web import render

router = APIRouter(include_in_schema=False)
# The page lists this many of each, the newest first; the API pages through up to 200.
LISTED = 50
WINDOW_H = 24


def _helpers(zone: str) -> dict[str, Any]:
    tz = ZoneInfo(zone)

    def when(value: dt.datetime | None) -> str:
        return "—" if value is None else value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")

    def money(value: Decimal | None) -> str:
        return "—" if value is None else f"{value:,.2f}"

    def percent(value: float | None) -> str:
        return "—" if value is None else f"{value * 100:.1f}%"

    def ms(value: int | None) -> str:
        return human_duration(None if value is None else value / 1000)

    return {"when": when, "money": money, "percent": percent, "ms": ms, "duration": human_duration}


def _page(
    request: Request,
    db: Session,
    *,
    user: User,
    csrf: str,
    settings: Settings,
    lang: Language,
    rotation: Rotation | None = None,
    refusal: str | Message | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    institution = reads.own_institution(db, user=user)
    now = utcnow()
    context = {
        "user": user,
        "csrf_token": csrf,
        "me": reads.summary(
            db,
            institution=institution,
            now=now,
            window_h=WINDOW_H,
            overlap_s=settings.callback_secret_overlap_s,
        ),
        "open": reads.open_instructions(db, institution=institution, now=now, limit=LISTED),
        "outcomes": reads.outcomes(db, institution=institution, now=now, limit=LISTED),
        "refused": reads.refusals(db, institution=institution, lang=lang, limit=LISTED),
        "deliveries": reads.deliveries(db, institution=institution, lang=lang),
        "disputes": list_disputes(db, institution_id=institution.id, limit=LISTED),
        "rotation": rotation,
        "refusal": refusal,
        # A new key each time the page is drawn: pressing Rotate on this page is one rotation.
        "form_key": str(uuid.uuid4()),
        "zone": settings.timezone,
        **_helpers(settings.timezone),
    }
    return render(request, "portal/institution.html", context, status_code=status_code)


@router.get("/institution", response_class=HTMLResponse)
def institution_page(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    user: InstitutionUser,
    principal: CurrentPrincipal,
    lang: Lang,
) -> HTMLResponse:
    """Its open instructions against the SLA, outcomes, refusals, deliveries and scorecard."""
    return _page(request, db, user=user, csrf=principal.csrf_token, settings=settings, lang=lang)


@router.post("/institution/secret-rotations", response_class=HTMLResponse, dependencies=[NoStore])
def rotate_own_secret(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    user: InstitutionForm,
    principal: CurrentPrincipal,
    lang: Lang,
    form_key: Annotated[str | None, Form(min_length=1, max_length=200)] = None,
) -> HTMLResponse:
    """The page again, with the new secret shown this once (the answer is never cached). The
    form's key makes a double press one rotation, both answers showing the same secret.

    A repeat that comes after a later rotation cannot show its secret again, and a key already
    spent on another request (an API call given the same key) rotates nothing: either way the
    page says so in the reader's language (409, 422) with a fresh form, not a problem+json a
    browser would print raw."""
    page = partial(
        _page, request, db, user=user, csrf=principal.csrf_token, settings=settings, lang=lang
    )
    try:
        rotation = rotate_own_once(
            db,
            user=user,
            settings=settings,
            key=form_key,
            action="form POST /institution/secret-rotations",
        )
    except Conflict as refused:
        return page(refusal=refused.detail, status_code=409)
    except Invalid:
        return page(refusal=msg("portal.secret.key_used"), status_code=422)
    db.flush()
    return page(rotation=rotation)
