"""The call-taker's form at /intake: rendered here, submitted with or without JavaScript."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.auth.models import User
from app.auth.service import csrf_matches
from app.casefile.create import submit_case
from app.cases.models import Channel, ContactKind, FraudType, TransferChannel
from app.cases.schemas import CaseCreate
from app.cases.service import plan_case
from app.cases.validation import CaseInvalid
from app.config import Settings
from app.db import utcnow
from app.deps import (
    AppSettings,
    CurrentPrincipal,
    DbSession,
    IntakeUser,
    Lang,
)
from app.errors import Forbidden, Invalid, field_errors, localised
from app.i18n import LANGUAGES, Language, t
from app.i18n.labels import FRAUD_LABEL, SCRIPT_MESSAGES
from app.institutions.models import Institution, InstitutionKind
from app.institutions.service import registry_names
from app.intake.form import TRANSFER_INPUTS, build_payload, fraud_type_code, row_counts
from app.intake.parsing import format_local
from app.intake.schemas import DRAFT_KEY_PATTERN, DraftSummary
from app.intake.service import delete_draft, find_draft, list_drafts, submitted_case_no
from app.web import render

router = APIRouter(include_in_schema=False)


async def posted_form(request: Request) -> FormData:
    return await request.form(max_fields=5_000)


def _institutions(db: Session, lang: Language) -> list[dict[str, Any]]:
    rows = db.scalars(
        select(Institution)
        .where(Institution.is_active, Institution.kind != InstitutionKind.national_platform)
        .order_by(Institution.kind, Institution.code)
    )
    aliases = registry_names().aliases
    return [
        {
            "code": i.code,
            "name": i.name_zh if lang == "zh-CN" else i.name_en,
            # What the pick-list matches besides the code and the name shown.
            "also": [i.name_en if lang == "zh-CN" else i.name_zh, *aliases.get(i.code, [])],
            "bins": list(i.bin_prefixes),
        }
        for i in rows
    ]


def _fraud_label(typed: str, lang: Language) -> str:
    """The fraud type in the page's language, whichever language it was saved in."""
    code = fraud_type_code(typed) if typed else None
    return t(FRAUD_LABEL[code], lang) if code else typed


def _form_page(
    request: Request,
    db: Session,
    *,
    user: User,
    csrf: str,
    settings: Settings,
    lang: Language,
    draft_key: str,
    fields: dict[str, str],
    errors: dict[str, str] | None = None,
    saved_at: dt.datetime | None = None,
    status_code: int = 200,
    drafts: list[DraftSummary] | None = None,
) -> HTMLResponse:
    """The form; `drafts` are the user's open drafts when the caller has read them already."""
    zone = ZoneInfo(settings.timezone)
    fields = {"received_at": format_local(utcnow(), zone), "channel": "phone_call", **fields}
    n_transfers, n_contacts = row_counts(fields)
    errors = errors or {}
    known = set(fields) | {
        f"transfers.{i}.{n}" for i in range(n_transfers) for n in TRANSFER_INPUTS
    }
    context = {
        "user": user,
        "csrf_token": csrf,
        "draft_key": draft_key,
        "fields": fields,
        "errors": errors,
        # Errors with no input of their own (e.g. `transfers` empty) go above the form.
        "general_errors": [m for f, m in errors.items() if f not in known and "." not in f],
        "n_transfers": n_transfers,
        "n_contacts": n_contacts,
        "institutions": _institutions(db, lang),
        "fraud_types": [(k.value, t(FRAUD_LABEL[k.value], lang)) for k in FraudType],
        "fraud_value": _fraud_label(fields.get("fraud_type", ""), lang),
        # Page language first: intake.js shows that one, and finds a type by any of them.
        "fraud_labels": [
            [
                k.value,
                *(t(FRAUD_LABEL[k.value], x) for x in sorted(LANGUAGES, key=lambda x: x != lang)),
            ]
            for k in FraudType
        ],
        "channels": [c.value for c in Channel],
        "transfer_channels": [c.value for c in TransferChannel],
        "contact_kinds": [c.value for c in ContactKind],
        # Each open draft with the time it was saved, in the unit's zone like the form.
        "drafts": [
            (d, format_local(d.updated_at, zone))
            for d in (list_drafts(db, user=user) if drafts is None else drafts)
            if d.draft_key != draft_key
        ],
        "zone": settings.timezone,
        "saved_at": saved_at.isoformat() if saved_at else None,
        "js_messages": {key: t(key, lang) for key in SCRIPT_MESSAGES},
    }
    return render(request, "intake.html", context, status_code=status_code)


@router.get("/intake", response_class=HTMLResponse, response_model=None)
def intake_form(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    user: IntakeUser,
    principal: CurrentPrincipal,
    lang: Lang,
    draft: Annotated[str | None, Query(pattern=DRAFT_KEY_PATTERN)] = None,
    new: bool = False,
) -> Response:
    """A new call, or the draft asked for, or else the user's latest open draft."""
    found, drafts = None, None
    if draft is not None:
        if (case_no := submitted_case_no(db, user=user, key=draft)) is not None:
            return RedirectResponse(f"/intake/cases/{case_no}", status_code=303)
        found = find_draft(db, user=user, draft_key=draft)
    elif not new and (drafts := list_drafts(db, user=user)):
        found = find_draft(db, user=user, draft_key=drafts[0].draft_key)
    return _form_page(
        request,
        db,
        user=user,
        csrf=principal.csrf_token,
        settings=settings,
        lang=lang,
        draft_key=found.draft_key if found else (draft or uuid.uuid4().hex),
        fields=found.fields if found else {},
        saved_at=found.updated_at if found else None,
        drafts=drafts,
    )


def intake_form_user(
    principal: CurrentPrincipal, user: IntakeUser, form: Annotated[FormData, Depends(posted_form)]
) -> User:
    """A form post from our own page: the session's CSRF token in the hidden field."""
    sent = str(form.get("csrf_token", ""))
    session = principal.session
    if session is None or not csrf_matches(sent, session.csrf_token):
        raise Forbidden(t("auth.csrf", user.language))  # type: ignore[arg-type]
    return user


@router.post("/intake", response_class=HTMLResponse, response_model=None)
def submit_form(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    user: Annotated[User, Depends(intake_form_user)],
    principal: CurrentPrincipal,
    form: Annotated[FormData, Depends(posted_form)],
    lang: Lang,
) -> Response:
    """The form without JavaScript: the same checks and the same intake as the API."""
    zone = ZoneInfo(settings.timezone)
    fields = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    key = fields.pop("draft_key", "")
    if not re.fullmatch(DRAFT_KEY_PATTERN, key):
        key = uuid.uuid4().hex
    # Already submitted under this key (a double click, the browser's resubmit): that case.
    # Times typed as "20 min ago" read differently a moment later, so the body may differ.
    errors = submitted_case_no(db, user=user, key=key) or _submit(
        db, settings=settings, user=user, key=key, fields=fields, zone=zone, lang=lang
    )
    if isinstance(errors, str):
        delete_draft(db, user=user, draft_key=key)
        return RedirectResponse(f"/intake/cases/{errors}", status_code=303)
    return _form_page(
        request,
        db,
        user=user,
        csrf=principal.csrf_token,
        settings=settings,
        lang=lang,
        draft_key=key,
        fields=fields,
        errors=errors,
        status_code=422,
    )


def _submit(
    db: Session,
    *,
    settings: Settings,
    user: User,
    key: str,
    fields: dict[str, str],
    zone: ZoneInfo,
    lang: Language,
) -> str | dict[str, str]:
    """The case number, or the errors by input name (the form's own first, then the API's)."""
    now = utcnow()
    payload = build_payload(fields, now=now, zone=zone)
    errors = {name: problem.in_language(lang) for name, problem in payload.problems.items()}
    try:
        data = CaseCreate.model_validate(payload.body)
    except ValidationError as exc:
        for err in field_errors(list(exc.errors()), lang):
            errors.setdefault(payload.input_name(err["field"]), err["message"])
    if errors:
        # Every error in one round: the rules behind a blank or unreadable input run too.
        _rule_errors(db, fields=fields, errors=errors, now=now, zone=zone, lang=lang)
        return errors
    try:
        # A savepoint: a refused report must not leave its Idempotency-Key claimed.
        with db.begin_nested():
            answer, _ = submit_case(
                db,
                data=data,
                user=user,
                zone=zone,
                idempotency_key=key[:200],
                ttl=dt.timedelta(seconds=settings.idempotency_ttl_s),
            )
    except CaseInvalid as exc:
        return {
            payload.input_name(p.path): t(p.key, lang, **p.params) for p in reversed(exc.problems)
        }
    except Invalid as exc:
        return {"Idempotency-Key": localised(exc.detail, lang) or ""}
    return str(answer.case_no if not isinstance(answer, dict) else answer["case_no"])


def _rule_errors(
    db: Session,
    *,
    fields: dict[str, str],
    errors: dict[str, str],
    now: dt.datetime,
    zone: ZoneInfo,
    lang: Language,
) -> None:
    """Add to `errors` what the intake rules say of the report with stand-ins for its blank
    and unreadable inputs (what they say of a stand-in is left out)."""
    filled = build_payload(fields, now=now, zone=zone, fill=True)
    found: list[tuple[str, str]] = []
    try:
        plan_case(db, data=CaseCreate.model_validate(filled.body), zone=zone, now=now)
    except ValidationError as exc:
        found = [(e["field"], e["message"]) for e in field_errors(list(exc.errors()), lang)]
    except CaseInvalid as exc:
        found = [(p.path, t(p.key, lang, **p.params)) for p in exc.problems]
    for path, message in found:
        if (name := filled.input_name(path)) not in filled.filled:
            errors.setdefault(name, message)
