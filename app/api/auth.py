"""Bearer tokens for API clients, and who the caller is."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.auth.models import Scope, User
from app.auth.schemas import TokenCreate, TokenRead, UserRead
from app.auth.service import (
    authenticate,
    create_api_token,
    lock_out,
    minutes_of,
    record_login,
)
from app.deps import AppSettings, DbSession, NoStore, SignedIn, client_address
from app.errors import problem
from app.i18n import N_, msg

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post(
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
    address = client_address(request)
    wait_s = lock_out(db, username=body.username, address=address, settings=settings)
    if wait_s is not None:
        detail = msg("auth.locked_out", minutes=minutes_of(wait_s))
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
            detail=msg("auth.bad_credentials"),
        )
    token, row = create_api_token(
        db,
        user=user,
        name=body.name,
        scopes=body.scopes,
        max_age_s=settings.api_token_max_age_s,
    )
    return TokenRead(
        access_token=token,
        expires_in=settings.api_token_max_age_s,
        scopes=[Scope(scope) for scope in row.scopes],
    )


@router.get("/me")
def me(db: DbSession, user: SignedIn) -> UserRead:
    """The signed-in user, with their unit and role."""
    loaded = db.scalars(select(User).options(selectinload(User.unit)).where(User.id == user.id))
    return UserRead.model_validate(loaded.one())
