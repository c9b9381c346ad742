"""Log-in and log-out for people (session cookie), bearer tokens for API clients."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.auth.admin_service import scopes_refused
from app.auth.models import Scope, User
from app.auth.schemas import TokenCreate, TokenRead, UserRead
from app.auth.service import (
    ScopesBeyondRole,
    authenticate,
    create_api_token,
    create_session,
    csrf_matches,
    end_session,
    lock_out,
    minutes_of,
    record_login,
)
from app.deps import (
    SESSION_COOKIE,
    Admin,
    AppSettings,
    CurrentPrincipal,
    DbSession,
    NoStore,
    Principal,
    SignedIn,
)
from app.errors import LANGUAGE_COOKIE, Forbidden, problem, request_language
from app.i18n import LANGUAGES, N_, Language, t
from app.web import render

LOGIN_CSRF_COOKIE = "stopay_login_csrf"

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["auth"])


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a fresh log-in to another host."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def _login_page(request: Request, *, next_: str, error: str | None, status: int) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {"csrf_token": token, "next": next_, "error": error, "user": None},
        status_code=status,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return response


@pages.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    next: str | None = None,  # noqa: A002
    lang: Language | None = None,
) -> HTMLResponse:
    if lang is not None:
        request.state.language = lang
    response = _login_page(request, next_=_safe_next(next), error=None, status=200)
    if lang is not None:
        response.set_cookie(LANGUAGE_COOKIE, lang, samesite="lax", max_age=365 * 24 * 3600)
    return response


@pages.post("/login", response_model=None)
def login(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",  # noqa: A002
) -> Response:
    lang = request_language(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not csrf_matches(csrf_token, expected):
        return _login_page(request, next_=_safe_next(next), error=t("auth.csrf", lang), status=403)
    address = _address(request)
    if (wait_s := lock_out(db, username=username, address=address, settings=settings)) is not None:
        error = t("auth.locked_out", lang, minutes=minutes_of(wait_s))
        return _login_page(request, next_=_safe_next(next), error=error, status=429)
    user = authenticate(db, username=username, password=password)
    record_login(db, username=username, address=address, user=user, via="page")
    if user is None:
        # An answer, not an exception: the failure's audit event must be committed.
        return _login_page(
            request, next_=_safe_next(next), error=t("auth.bad_credentials", lang), status=401
        )
    token, _session = create_session(db, user=user, max_age_s=settings.session_max_age_s)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_max_age_s,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


CsrfField = Annotated[str, Form(max_length=100)]


def _csrf_checked(principal: Principal, sent: str) -> User:
    session = principal.session
    if session is None or not csrf_matches(sent, session.csrf_token):
        raise Forbidden(t("auth.csrf", principal.user.language))  # type: ignore[arg-type]
    return principal.user


def csrf_form(principal: CurrentPrincipal, _user: SignedIn, csrf_token: CsrfField = "") -> User:
    """Form posts from our pages carry the session's CSRF token in a hidden field."""
    return _csrf_checked(principal, csrf_token)


def admin_csrf_form(principal: CurrentPrincipal, _admin: Admin, csrf_token: CsrfField = "") -> User:
    """The admin pages' form posts: the admin role first (403), then the CSRF field (403)."""
    return _csrf_checked(principal, csrf_token)


FormUser = Annotated[User, Depends(csrf_form)]
AdminForm = Annotated[User, Depends(admin_csrf_form)]


@pages.post("/logout", dependencies=[Depends(csrf_form)])
def logout(request: Request, db: DbSession) -> RedirectResponse:
    end_session(db, token=request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@pages.post("/language")
def set_language(
    user: FormUser,
    language: Annotated[str, Form(max_length=8)],
    next: Annotated[str, Form(max_length=500)] = "/",  # noqa: A002
) -> RedirectResponse:
    """Remember the user's language; every page and message follows it."""
    if language in LANGUAGES:
        user.language = language
    return RedirectResponse(_safe_next(next), status_code=303)


@api.post(
    "/auth/tokens",
    status_code=201,
    response_model=TokenRead,
    dependencies=[NoStore],
    responses={
        401: {"description": "Wrong username or password"},
        429: {"description": "Too many failed log-ins: locked out for a while (Retry-After)"},
    },
)
def issue_token(
    request: Request, db: DbSession, settings: AppSettings, body: TokenCreate
) -> TokenRead | JSONResponse:
    """Exchange a username and password for a bearer token (for API clients).

    The token gets the `scopes` asked for, or else every scope the user's role may hold
    but `pii:reveal` (personal data in clear), which must be asked for by name; asking
    for one the role may not hold is a 422 on `scopes`.
    """
    address = _address(request)
    wait_s = lock_out(db, username=body.username, address=address, settings=settings)
    if wait_s is not None:
        detail = t("auth.locked_out", request_language(request), minutes=minutes_of(wait_s))
        return problem(
            request,
            status=429,
            title_key=N_("problem.too_many_log_ins"),
            detail=detail,
            headers={"Retry-After": str(wait_s)},
        )
    user = authenticate(db, username=body.username, password=body.password)
    record_login(db, username=body.username, address=address, user=user, via="token")
    if user is None:
        # An answer, not an exception: the failure's audit event must be committed.
        return problem(
            request,
            status=401,
            title_key=N_("problem.unauthorized"),
            detail=t("auth.bad_credentials", request_language(request)),
        )
    try:
        token, row = create_api_token(
            db,
            user=user,
            name=body.name,
            scopes=body.scopes,
            max_age_s=settings.api_token_max_age_s,
        )
    except ScopesBeyondRole as exc:
        raise scopes_refused(exc.role, exc.beyond, request_language(request)) from exc
    return TokenRead(
        access_token=token,
        expires_in=settings.api_token_max_age_s,
        scopes=[Scope(scope) for scope in row.scopes],
    )


@api.get("/me")
def me(db: DbSession, user: SignedIn) -> UserRead:
    """The signed-in user, with their unit and role."""
    loaded = db.scalars(select(User).options(selectinload(User.unit)).where(User.id == user.id))
    return UserRead.model_validate(loaded.one())


def _address(request: Request) -> str:
    # The peer's address; X-Forwarded-For only when the peer is one of the proxies named in
    # STOPAY_TRUSTED_PROXIES (app/main.py), so a client cannot choose the address that its
    # failures count against, nor the one the audit trail records.
    return request.client.host if request.client else "unknown"
