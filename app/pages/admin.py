"""The admin's pages: people and their API tokens at /admin/users.

Plain forms that work without JavaScript: each posts, and the answer is a 303 back to
/admin/users with a flash message, or the page again with each error beside its input
(409/422). With htmx the same forms are boosted and swap the page in place. Every change
goes through app/auth/admin_service.py: the admin API's functions and audit events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import admin_service as people
from app.auth.models import ROLE_SCOPES, ApiToken, Role, Scope, Unit, User
from app.auth.schemas import ApiTokenCreate, PasswordReset, UserChange, UserCreate
from app.config import Settings
from app.db import utcnow
from app.deps import Admin, AdminForm, AppSettings, CurrentPrincipal, DbSession, Lang
from app.errors import AppError, field_errors, localised
from app.i18n import LANGUAGES, Language, t
from app.i18n.labels import ADMIN_FLASH
from app.params import DbId
from app.web import render

router = APIRouter(include_in_schema=False)

FLASH_COOKIE = "stopay_flash"
FLASHES = frozenset(
    {
        "created",
        "password_reset",
        "role_changed",
        "deactivated",
        "activated",
        "token_issued",
        "token_revoked",
    }
)
# Each form's inputs in page order: the first one in error gets the focus.
INPUTS = {
    "create": ("username", "display_name", "role", "unit", "language", "password"),
    "password": ("password",),
    "role": ("role",),
    "active": ("is_active",),
    "token": ("name", "scopes", "expires_in_days"),
}

Username = Annotated[str, Path(min_length=1, max_length=64)]
TokenId = Annotated[DbId, Path()]
# Bounded generously; the schemas' own limits speak to the person beside the input.
Text = Annotated[str, Form(max_length=500)]


@dataclass(frozen=True)
class FormState:
    """The form a page answers: whose (a username, or "" for the new-user form), which one,
    what was typed in it (never a password) and what was wrong, by input ("" for the form)."""

    username: str = ""
    form: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def focus(self) -> tuple[str, str, str]:
        """(username, form, input) to focus: the first input in error, else the person."""
        wrong = [name for name in INPUTS.get(self.form, ()) if name in self.errors]
        if wrong:
            return self.username, self.form, wrong[0]
        if not self.username:
            return "", "create", "username"
        return self.username, "person", "summary"


@dataclass(frozen=True)
class Person:
    user: User
    unit: Unit
    tokens: list[ApiToken]
    scopes: list[Scope]  # what the role may hold, in Scope's order


def _errors(exc: ValidationError | AppError, lang: Language) -> dict[str, str]:
    if isinstance(exc, AppError):
        if not exc.errors:
            return {"": localised(exc.detail, lang) or ""}
        return {str(e["field"]): localised(e["message"], lang) for e in reversed(exc.errors)}
    found: dict[str, str] = {}
    for err in reversed(field_errors(list(exc.errors()), lang)):
        message = err["message"]
        if (err["field"], err["type"]) == ("username", "string_pattern_mismatch"):
            message = t("admin.username_chars", lang)
        found[err["field"].split(".")[0]] = message
    return found


def _filled(values: dict[str, str]) -> dict[str, str]:
    """What was typed: a blank input is a missing field (so the message says "required")."""
    return {name: value for name, value in values.items() if value.strip()}


def _take_flash(request: Request, lang: Language) -> tuple[str, str] | None:
    """(message, username) from the 303 that brought the admin here, once."""
    kind, _, username = request.cookies.get(FLASH_COOKIE, "").partition(":")
    if kind not in FLASHES or not username:
        return None
    username = unquote(username)[:64]
    return t(ADMIN_FLASH[kind], lang, username=username), username


def _set_flash(response: Response, request: Request, kind: str, username: str) -> None:
    response.set_cookie(
        FLASH_COOKIE,
        f"{kind}:{quote(username, safe='')}",
        max_age=60,
        path="/admin",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def _back(request: Request, kind: str, username: str) -> RedirectResponse:
    """Done: back to the list, which says so and opens that person."""
    response = RedirectResponse("/admin/users", status_code=303)
    _set_flash(response, request, kind, username)
    return response


def _helpers(lang: Language, zone: str, state: FormState) -> dict[str, Any]:
    tz = ZoneInfo(zone)
    focus = state.focus()

    def when(value: dt.datetime | None, empty: str = "—") -> str:
        return empty if value is None else value.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    def mine(username: str, form: str) -> bool:
        return (state.username, state.form) == (username, form)

    def err(username: str, form: str, name: str) -> str:
        return state.errors.get(name, "") if mine(username, form) else ""

    def val(username: str, form: str, name: str, default: Any = "") -> Any:
        return state.values.get(name, default) if mine(username, form) else default

    def autofocus(username: str, form: str, name: str) -> Markup:
        return Markup(" autofocus") if focus == (username, form, name) else Markup("")

    def unit_name(unit: Unit) -> str:
        return unit.name_zh if lang == "zh-CN" else unit.name_en

    return {"when": when, "err": err, "val": val, "autofocus": autofocus, "unit_name": unit_name}


def _people_page(
    request: Request,
    db: Session,
    *,
    settings: Settings,
    admin: User,
    csrf: str,
    lang: Language,
    state: FormState | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    flash = _take_flash(request, lang) if state is None else None
    if state is None:
        state = FormState(username=flash[1], form="person") if flash else FormState()
    rows = people.list_people(db)
    tokens = people.list_tokens(db, user_ids=[user.id for user, _ in rows])
    persons = [
        Person(user, unit, tokens[user.id], [s for s in Scope if s in ROLE_SCOPES[Role(user.role)]])
        for user, unit in rows
    ]
    context = {
        "user": admin,
        "csrf_token": csrf,
        "people": persons,
        "units": db.scalars(select(Unit).order_by(Unit.code)).all(),
        # An institution's user is made with `stopay institution-user` (it names the bank).
        "roles": [r for r in Role if r != Role.institution],
        "languages": LANGUAGES,
        "flash": flash[0] if flash else None,
        "state": state,
        "now": utcnow(),
        "default_days": settings.api_token_max_age_s // 86400,
        **_helpers(lang, settings.timezone, state),
    }
    response = render(request, "admin/users.html", context, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/admin")
    return response


@router.get("/admin/users", response_class=HTMLResponse)
def people_page(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    admin: Admin,
    principal: CurrentPrincipal,
    lang: Lang,
) -> HTMLResponse:
    """Everyone, with the forms to create, reset, change, deactivate and issue tokens."""
    return _people_page(
        request, db, settings=settings, admin=admin, csrf=principal.csrf_token, lang=lang
    )


def _refused(
    request: Request,
    db: Session,
    settings: Settings,
    admin: User,
    principal: CurrentPrincipal,
    exc: ValidationError | AppError,
    state: FormState,
    lang: Language,
) -> HTMLResponse:
    """The page again, with the errors beside their inputs; nothing was stored."""
    status = exc.status_code if isinstance(exc, AppError) else 422
    state = FormState(state.username, state.form, state.values, _errors(exc, lang))
    return _people_page(
        request,
        db,
        settings=settings,
        admin=admin,
        csrf=principal.csrf_token,
        lang=lang,
        state=state,
        status_code=status,
    )


@router.post("/admin/users", response_class=HTMLResponse, response_model=None)
def create_user_form(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    admin: AdminForm,
    principal: CurrentPrincipal,
    lang: Lang,
    username: Text = "",
    display_name: Text = "",
    role: Text = "",
    unit: Text = "",
    language: Text = "",
    password: Text = "",
) -> Response:
    typed = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "unit": unit,
        "language": language,
    }
    try:
        # A savepoint: a refused form stores nothing, whatever the service had begun.
        with db.begin_nested():
            data = UserCreate.model_validate(_filled({**typed, "password": password}))
            user, _ = people.create_user(db, data=data, admin=admin)
    except (ValidationError, AppError) as exc:
        state = FormState("", "create", typed)
        return _refused(request, db, settings, admin, principal, exc, state, lang)
    return _back(request, "created", user.username)


@router.post("/admin/users/{username}/password", response_class=HTMLResponse, response_model=None)
def reset_password_form(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    admin: AdminForm,
    principal: CurrentPrincipal,
    lang: Lang,
    username: Username,
    password: Text = "",
) -> Response:
    try:
        with db.begin_nested():
            data = PasswordReset.model_validate(_filled({"password": password}))
            people.reset_password(db, username=username, data=data, admin=admin)
    except ValidationError as exc:
        state = FormState(username, "password")
        return _refused(request, db, settings, admin, principal, exc, state, lang)
    return _back(request, "password_reset", username)


@router.post("/admin/users/{username}", response_class=HTMLResponse, response_model=None)
def change_user_form(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    admin: AdminForm,
    principal: CurrentPrincipal,
    lang: Lang,
    username: Username,
    role: Text = "",
    is_active: Text = "",
) -> Response:
    """The role form (`role`) and the deactivate / reactivate button (`is_active`)."""
    form = "active" if is_active else "role"
    try:
        with db.begin_nested():
            # A form sends text: "true" / "false" is how its button says it (JSON is strict).
            typed = _filled({"role": role, "is_active": is_active})
            data = UserChange.model_validate(typed, strict=False)
            people.change_user(db, username=username, data=data, admin=admin)
    except (ValidationError, AppError) as exc:
        if isinstance(exc, AppError) and exc.status_code == 404:
            raise
        state = FormState(username, form, {"role": role})
        return _refused(request, db, settings, admin, principal, exc, state, lang)
    if data.is_active is not None:
        return _back(request, "activated" if data.is_active else "deactivated", username)
    return _back(request, "role_changed", username)


@router.post("/admin/users/{username}/tokens", response_class=HTMLResponse, response_model=None)
def issue_token_form(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    admin: AdminForm,
    principal: CurrentPrincipal,
    lang: Lang,
    username: Username,
    name: Text = "",
    scopes: Annotated[list[str] | None, Form(max_length=8)] = None,
    expires_in_days: Text = "",
) -> Response:
    """The new token on a page of its own, shown this once (never in a URL or a cookie)."""
    typed = {"name": name, "scopes": scopes or [], "expires_in_days": expires_in_days}
    try:
        with db.begin_nested():
            body: dict[str, Any] = {
                **_filled({"name": name, "expires_in_days": expires_in_days}),
                "scopes": scopes or [],
            }
            data = ApiTokenCreate.model_validate(body)
            token, row = people.issue_token(
                db,
                username=username,
                data=data,
                admin=admin,
                default_max_age_s=settings.api_token_max_age_s,
            )
    except (ValidationError, AppError) as exc:
        if isinstance(exc, AppError) and exc.status_code == 404:
            raise
        state = FormState(username, "token", typed)
        return _refused(request, db, settings, admin, principal, exc, state, lang)
    context = {
        "user": admin,
        "csrf_token": principal.csrf_token,
        "row": row,
        "owner": db.get_one(User, row.user_id),
        "token": token,
        **_helpers(lang, settings.timezone, FormState()),
    }
    response = render(request, "admin/token.html", context, status_code=201)
    response.headers["Cache-Control"] = "no-store"
    # Back on the list, this person is open again.
    _set_flash(response, request, "token_issued", username)
    return response


@router.post("/admin/tokens/{token_id}/revoke", response_class=HTMLResponse, response_model=None)
def revoke_token_form(
    request: Request, db: DbSession, admin: AdminForm, token_id: TokenId
) -> Response:
    _, username = people.revoke_token(db, token_id=token_id, admin=admin)
    return _back(request, "token_revoked", username)
