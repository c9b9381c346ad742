"""The call-taker's status page of a case at /intake/cases/{case_no}, and its live stream."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from app.deps import (
    AnyUser,
    AppSettings,
    CurrentPrincipal,
    DbSession,
    Lang,
    VisibleCase,
    require_any_user,
)
from app.i18n import Language, t
from app.i18n.labels import SCRIPT_MESSAGES
from app.intake.live import status_events
from app.intake.parsing import format_local
from app.intake.status import CaseStatusView, read_status
from app.pages.streams import live_response
from app.web import render, templates

router = APIRouter(include_in_schema=False)


def local_time(zone: ZoneInfo) -> Callable[[dt.datetime | None], str]:
    """How the call-taker's pages show a time: in the unit's zone, to the minute."""

    def shown(value: dt.datetime | None) -> str:
        return "—" if value is None else format_local(value, zone)

    return shown


def status_renderer(lang: Language, zone: ZoneInfo) -> Callable[[CaseStatusView], str]:
    """The part of the page the stream replaces, rendered in `lang`."""
    fragment = templates.get_template("_status_body.html")
    local = local_time(zone)

    def render_fragment(view: CaseStatusView) -> str:
        return fragment.render(
            view=view, lang=lang, local=local, _=lambda key, **kw: t(key, lang, **kw)
        )

    return render_fragment


@router.get("/intake/cases/{case_no}", response_class=HTMLResponse)
def case_status(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    user: AnyUser,
    principal: CurrentPrincipal,
    case: VisibleCase,
    lang: Lang,
) -> HTMLResponse:
    """The case after submit: every transfer with its account's fate, and each instruction's
    institution, state and time, live."""
    view = read_status(db, case_id=case.id)
    context = {
        "user": user,
        "csrf_token": principal.csrf_token,
        "view": view,
        "zone": settings.timezone,
        "body": status_renderer(lang, ZoneInfo(settings.timezone))(view),
        "js_messages": {key: t(key, lang) for key in SCRIPT_MESSAGES},
    }
    return render(request, "status.html", context)


@router.get("/intake/cases/{case_no}/live", dependencies=[Depends(require_any_user)])
def case_status_stream(
    request: Request,
    settings: AppSettings,
    principal: CurrentPrincipal,
    case: VisibleCase,
    lang: Lang,
) -> StreamingResponse:
    """Server-sent events: the status fragment whenever it changes (htmx swaps it in)."""
    events = status_events(
        request,
        factory=request.app.state.sessionmaker,
        case_id=case.id,
        render=status_renderer(lang, ZoneInfo(settings.timezone)),
    )
    return live_response(request, principal, events)
