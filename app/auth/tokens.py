"""Admins issue API tokens with scopes for a user, list them, and revoke them.

A token's value is shown once, in the answer that creates it; only its SHA-256 is stored,
and neither appears in a listing or an audit event.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy import select

from app.audit.service import record_event
from app.auth.admin import load_user
from app.auth.models import ApiToken, Role, Scope, User
from app.auth.schemas import ApiTokenCreate, ApiTokenCreated, ApiTokenRead
from app.auth.service import create_api_token, scopes_beyond
from app.db import utcnow
from app.deps import Admin, AppSettings, DbSession
from app.errors import Conflict, Invalid, NotFound, request_language
from app.i18n import Language, t

router = APIRouter(prefix="/api/v1/admin", tags=["API tokens"])

Username = Annotated[str, Path(min_length=1, max_length=64)]
TokenId = Annotated[int, Path(ge=1, le=2**62)]


def scopes_refused(role: Role, beyond: list[Scope], lang: Language) -> Invalid:
    """422 on `scopes`: the role may not hold these."""
    message = t("auth.scope_not_for_role", lang, role=t(f"role.{role.value}", lang),
                scopes=", ".join(scope.value for scope in beyond))  # fmt: skip
    return Invalid(message, errors=[{"field": "scopes", "message": message,
                                     "type": "auth.scope_not_for_role"}])  # fmt: skip


@router.post(
    "/users/{username}/tokens",
    status_code=201,
    summary="Issue an API token for a user, with the scopes it may use",
    description="The token (`access_token`) is in this answer only; it cannot be read again. "
    "Its scopes must be ones the user's role may hold. Audited as `token.created`.",
    responses={
        404: {"description": "No such user"},
        409: {"description": "The user is deactivated"},
    },
)
def issue_token(
    request: Request, db: DbSession, settings: AppSettings, admin: Admin, username: Username,
    body: ApiTokenCreate,
) -> ApiTokenCreated:  # fmt: skip
    lang = request_language(request)
    user, _ = load_user(request, db, username)
    if not user.is_active:
        raise Conflict(t("admin.user_inactive", lang, username=username))
    role = Role(user.role)
    if beyond := scopes_beyond(role, body.scopes):
        raise scopes_refused(role, beyond, lang)
    max_age_s = settings.api_token_max_age_s
    if body.expires_in_days is not None:
        max_age_s = body.expires_in_days * 24 * 3600
    token, row = create_api_token(db, user=user, name=body.name, max_age_s=max_age_s,
                                  scopes=body.scopes)  # fmt: skip
    db.refresh(row)  # created_at comes from the database
    record_event(db, kind="token.created", user=admin, data={
        "token_id": row.id, "username": username, "name": row.name, "scopes": row.scopes,
        "expires_at": row.expires_at.isoformat()})  # fmt: skip
    return ApiTokenCreated(**ApiTokenRead.model_validate(row).model_dump(), access_token=token)


@router.get(
    "/users/{username}/tokens",
    summary="A user's API tokens, newest first, revoked and expired ones too",
    description="Name, scopes, when created, when it expires, when last used and when "
    "revoked; never the token or its hash.",
    responses={404: {"description": "No such user"}},
)
def list_tokens(
    request: Request, db: DbSession, admin: Admin, username: Username
) -> list[ApiTokenRead]:
    user, _ = load_user(request, db, username)
    rows = db.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return [ApiTokenRead.model_validate(row) for row in rows]


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    summary="Revoke an API token: its next call is refused (401)",
    description="Revoking a token already revoked changes nothing. Audited as `token.revoked`.",
    responses={404: {"description": "No such token"}},
)
def revoke_token(request: Request, db: DbSession, admin: Admin, token_id: TokenId) -> Response:
    found = db.execute(
        select(ApiToken, User.username)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.id == token_id)
        .with_for_update(of=ApiToken)
    ).first()
    if found is None:
        raise NotFound(t("admin.no_such_token", request_language(request), id=token_id))
    row, username = found
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record_event(db, kind="token.revoked", user=admin,
                     data={"token_id": row.id, "username": username, "name": row.name})  # fmt: skip
    return Response(status_code=204)
