"""The call-taker's "my cases" at /intake/cases: the unit's cases of the last 7 days, each
linked to its status page; Alt+M in the header opens it from any page (app/static/nav.js)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from app.auth.models import Role, Scope, User
from app.db import utcnow
from app.deps import AppSettings, CurrentPrincipal, DbSession, RequireRole
from app.intake.mine import RECENT, recent_cases
from app.pages.status import local_time
from app.web import render

router = APIRouter(include_in_schema=False)

# Whoever takes calls (as GET /intake); a read, so a token needs only `cases:read`.
require_call_taking = RequireRole(Role.call_taker, Role.supervisor, scope=Scope.cases_read)
CallTaking = Annotated[User, Depends(require_call_taking)]


@router.get("/intake/cases", response_class=HTMLResponse)
def my_cases(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    user: CallTaking,
    principal: CurrentPrincipal,
) -> HTMLResponse:
    """The unit's cases received in the last 7 days, newest first."""
    found = recent_cases(db, user=user, now=utcnow())
    context = {
        "user": user,
        "csrf_token": principal.csrf_token,
        "found": found,
        "days": RECENT.days,
        "local": local_time(ZoneInfo(settings.timezone)),
    }
    return render(request, "my_cases.html", context)
