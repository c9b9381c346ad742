"""Log-in and log-out for people (session cookie), and the language they read in."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth.models import Role
from app.auth.service import (
    authenticate,
    create_session,
    csrf_matches,
    end_session,
    lock_out,
    minutes_of,
    record_login,
)
from app.deps import SESSION_COOKIE, AppSettings, DbSession, FormUser, client_address, csrf_form
from app.errors import LANGUAGE_COOKIE
from app.i18n import LANGUAGES, Language, Message, msg
from app.web import render

LOGIN_CSRF_COOKIE = "stopay_login_csrf"
INSTITUTION_PAGE = "/institution"

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a fresh log-in to another host."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def _login_page(
    request: Request, *, next_: str, error: Message | None, status: int
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {"csrf_token": token, "next": next_, "error": error, "user": None},
        status_code=status,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return response


@router.get("/login", response_class=HTMLResponse)
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


@router.post("/login", response_model=None)
def login(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",  # noqa: A002
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not csrf_matches(csrf_token, expected):
        return _login_page(request, next_=_safe_next(next), error=msg("auth.csrf"), status=403)
    address = client_address(request)
    if (wait_s := lock_out(db, username=username, address=address, settings=settings)) is not None:
        error = msg("auth.locked_out", minutes=minutes_of(wait_s))
        return _login_page(request, next_=_safe_next(next), error=error, status=429)
    user = authenticate(db, username=username, password=password)
    record_login(db, username=username, address=address, user=user, via="page")
    if user is None:
        # An answer, not an exception: the failure's audit event must be committed.
        return _login_page(
            request, next_=_safe_next(next), error=msg("auth.bad_credentials"), status=401
        )
    token, _session = create_session(db, user=user, max_age_s=settings.session_max_age_s)
    target = _safe_next(next)
    if user.role == Role.institution and not target.startswith(INSTITUTION_PAGE):
        target = INSTITUTION_PAGE  # the only page an institution's user may open
    response = RedirectResponse(target, status_code=303)
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


@router.post("/logout", dependencies=[Depends(csrf_form)])
def logout(request: Request, db: DbSession) -> RedirectResponse:
    end_session(db, token=request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post("/language")
def set_language(
    user: FormUser,
    language: Annotated[str, Form(max_length=8)],
    next: Annotated[str, Form(max_length=500)] = "/",  # noqa: A002
) -> RedirectResponse:
    """Remember the user's language; every page and message follows it."""
    if language in LANGUAGES:
        user.language = language
    return RedirectResponse(_safe_next(next), status_code=303)
