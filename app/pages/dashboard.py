"""The supervisors' pages: /dashboard (live panels) and /dashboard/cases/{case_no}."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.callbacks.disputes import list_disputes
from app.callbacks.refusals import latest_refused, refused_counts
from app.callbacks.schemas import refused_read
from app.casefile.reach import Interception
from app.casefile.read import read_case
from app.cases.models import Case
from app.cases.schemas import PersonalField
from app.config import Settings
from app.dashboard import escalations as esc
from app.dashboard.actions import case_actions
from app.dashboard.deadlines import deadlines
from app.dashboard.live import panel_events
from app.dashboard.scorecard import scorecards
from app.dashboard.service import overview, queue
from app.dashboard.timeline import groups, subject_of, timeline
from app.dashboard.trail import CLASSES, graph, trail_accounts
from app.dashboard.units import human_duration
from app.db import utcnow
from app.deps import (
    AppRules,
    AppSettings,
    CurrentPrincipal,
    DbSession,
    FormUser,
    Lang,
    Principal,
    Revealer,
    Supervisor,
    VisibleCase,
    require_supervisor,
    revealed_value,
)
from app.flows import Rules
from app.i18n import Language, t
from app.institutions.models import Institution
from app.legal.clock import legal_now
from app.pages.streams import live_response
from app.params import DbId
from app.web import render, templates

router = APIRouter(include_in_schema=False)
QUEUE_ROWS = 30
SCORECARD_WINDOW = dt.timedelta(hours=24)


def helpers(lang: Language, zone: str) -> dict[str, Any]:
    """What every dashboard template uses: messages, money, local times."""
    tz = ZoneInfo(zone)

    def money(value: Decimal | None) -> str:
        return "—" if value is None else f"{value:,.2f}"

    def local(value: dt.datetime | None, fmt: str = "%H:%M") -> str:
        return "—" if value is None else value.astimezone(tz).strftime(fmt)

    def share(figure: Interception | None) -> str:
        """The interception figure as a share; `—` while there is none."""
        return "—" if figure is None or figure.ratio is None else f"{figure.ratio:.0%}"

    return {
        "lang": lang,
        "_": lambda key, **kw: t(key, lang, **kw),
        "money": money,
        "local": local,
        "share": share,
        "duration": human_duration,
    }


def institution_names(db: Session, lang: Language) -> Callable[[str], str]:
    """An institution's name in the viewer's language, from its code (the code if unknown)."""
    names = {
        code: zh if lang == "zh-CN" else en
        for code, zh, en in db.execute(
            select(Institution.code, Institution.name_zh, Institution.name_en)
        )
    }
    return lambda code: names.get(code, code)


def _scorecard(db: Session, now: dt.datetime, lang: Language) -> list[dict[str, Any]]:
    """Institutions with instructions in the window, or trouble (escalations, breaker,
    refused callbacks)."""
    cards = scorecards(db, since=now - SCORECARD_WINDOW)
    refused = refused_counts(db, since=now - SCORECARD_WINDOW)
    latest = latest_refused(db, since=now - SCORECARD_WINDOW) if refused else {}
    rows = []
    for inst in db.scalars(
        select(Institution).where(Institution.is_active).order_by(Institution.code)
    ):
        card = cards.get(inst.id)
        if card is None and inst.breaker_state == "closed" and inst.id not in refused:
            continue
        rows.append(
            {
                "inst": inst,
                "card": card,
                "refused": refused.get(inst.id, 0),
                "refused_latest": [refused_read(r, lang) for r in latest.get(inst.id, [])],
            }
        )
    return rows


def dashboard_panels(
    db: Session, *, user: User, settings: Settings, rules: Rules, lang: Language
) -> dict[str, str]:
    """Each panel of /dashboard rendered: the page and the stream send the same HTML."""
    now = legal_now(db, settings)
    items, counts = deadlines(
        db, user=user, now=now, rules=rules.legal, timezone=settings.timezone, limit=20
    )
    data: dict[str, dict[str, Any]] = {
        "overview": {"o": overview(db, user=user, now=now, timezone=settings.timezone)},
        "queue": {"q": queue(db, user=user, now=now, limit=QUEUE_ROWS)},
        "deadlines": {"items": items, "counts": counts, "now": now},
        "escalations": {"items": esc.escalations(db, user=user)},
        "scorecard": {"rows": _scorecard(db, utcnow(), lang)},
    }
    base = {**helpers(lang, settings.timezone), "institution_name": institution_names(db, lang)}
    return {
        name: templates.get_template(f"dash/_{name}.html").render(**base, **context)
        for name, context in data.items()
    }


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    rules: AppRules,
    user: Supervisor,
    principal: CurrentPrincipal,
    lang: Lang,
) -> HTMLResponse:
    panels = dashboard_panels(db, user=user, settings=settings, rules=rules, lang=lang)
    context = {
        "user": user,
        "csrf_token": principal.csrf_token,
        "panels": panels,
        "zone": settings.timezone,
    }
    return render(request, "dash/dashboard.html", context)


def _stream(request: Request, principal: Principal, events: Any) -> StreamingResponse:
    return live_response(request, principal, events)


@router.get("/dashboard/live")
def dashboard_live(
    request: Request,
    settings: AppSettings,
    rules: AppRules,
    user: Supervisor,
    principal: CurrentPrincipal,
    lang: Lang,
) -> StreamingResponse:
    """Server-sent events: each panel's HTML when it changed (htmx swaps it in)."""
    factory = request.app.state.sessionmaker
    user_id = user.id  # the request's session is closed while the stream runs

    def panels(db: Session) -> dict[str, str]:
        viewer = db.get_one(User, user_id)
        return dashboard_panels(db, user=viewer, settings=settings, rules=rules, lang=lang)

    return _stream(request, principal, panel_events(request, factory=factory, render=panels))


def case_panels(
    db: Session, *, case_id: int, settings: Settings, rules: Rules, lang: Language
) -> dict[str, str]:
    case = db.get_one(Case, case_id)
    now = legal_now(db, settings)
    read = read_case(db, case=case, now=now)
    accounts = trail_accounts(read)
    lines = timeline(read, lang=lang, zone=settings.timezone)
    context = {
        **helpers(lang, settings.timezone),
        "case": read,
        "accounts": accounts,
        "actions": case_actions(read, now=now, max_stops=rules.legal.max_stops),
        "graph": graph(read, accounts),
        "classes": CLASSES,
        "lines": lines,
        "groups": groups(lines),
        "instruction_accounts": subject_of(read, settings.timezone).account_of,
    }
    return {
        name: templates.get_template(f"dash/_case_{name}.html").render(**context)
        for name in ("head", "trail", "timeline")
    }


@router.get("/dashboard/cases/{case_no}", response_class=HTMLResponse)
def case_page(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    rules: AppRules,
    user: Supervisor,
    principal: CurrentPrincipal,
    case: VisibleCase,
    lang: Lang,
) -> HTMLResponse:
    panels = case_panels(db, case_id=case.id, settings=settings, rules=rules, lang=lang)
    context = {
        **helpers(lang, settings.timezone),
        "disputes": list_disputes(db, case_id=case.id),
        "user": user,
        "csrf_token": principal.csrf_token,
        "panels": panels,
        "case_no": case.case_no,
        "classes": CLASSES,
    }
    return render(request, "dash/case.html", context)


@router.get("/dashboard/cases/{case_no}/live", dependencies=[Depends(require_supervisor)])
def case_live(
    request: Request,
    settings: AppSettings,
    rules: AppRules,
    principal: CurrentPrincipal,
    case: VisibleCase,
    lang: Lang,
) -> StreamingResponse:
    """Server-sent events: the case's head, money trail and timeline when they changed."""
    case_id = case.id

    def panels(db: Session) -> dict[str, str]:
        return case_panels(db, case_id=case_id, settings=settings, rules=rules, lang=lang)

    factory = request.app.state.sessionmaker
    events = panel_events(request, factory=factory, render=panels, case_id=case_id)
    return _stream(request, principal, events)


@router.post("/dashboard/cases/{case_no}/reveal", response_class=HTMLResponse)
def reveal_fragment(
    request: Request,
    db: DbSession,
    user: Revealer,
    _csrf_checked: FormUser,
    case: VisibleCase,
    field: Annotated[PersonalField, Form()],
    account_id: Annotated[DbId | None, Form()] = None,
) -> HTMLResponse:
    """The Reveal button (htmx): the value in clear, in place of the masked one; audited."""
    value = revealed_value(db, case=case, field=field, account_id=account_id, user=user)
    answer = render(request, "dash/_revealed.html", {"value": value})
    answer.headers["Cache-Control"] = "no-store"
    return answer
