"""The signed-in landing page, and the icon browsers ask for at /favicon.ico."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from app.auth.models import Unit
from app.deps import AnyUser, CurrentPrincipal, DbSession
from app.web import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request, db: DbSession, user: AnyUser, principal: CurrentPrincipal
) -> HTMLResponse:
    unit = db.scalar(select(Unit).where(Unit.id == user.unit_id))
    csrf = principal.session.csrf_token if principal.session else ""
    return render(request, "home.html", {"user": user, "unit": unit, "csrf_token": csrf})


@router.get("/favicon.ico")
def favicon() -> RedirectResponse:
    """Browsers and bookmarks ask here whatever the page links; the icon is an SVG."""
    return RedirectResponse("/static/favicon.svg", status_code=301)
