"""The admin API for API tokens: issue one with scopes for a user, list them, revoke one.

The logic is in app/auth/admin_service.py, which the admin pages call as well. A token's
value is shown once, in the answer that creates it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from app.auth import admin_service as people
from app.auth.schemas import ApiTokenCreate, ApiTokenCreated, ApiTokenRead
from app.deps import Admin, AppSettings, DbSession, NoStore, require_admin
from app.params import DbId

router = APIRouter(prefix="/api/v1/admin", tags=["API tokens"])

Username = Annotated[str, Path(min_length=1, max_length=64)]
TokenId = Annotated[DbId, Path()]


@router.post(
    "/users/{username}/tokens",
    status_code=201,
    dependencies=[NoStore],
    summary="Issue an API token for a user, with the scopes it may use",
    description="The token (`access_token`) is in this answer only; it cannot be read again. "
    "Its scopes must be ones the user's role may hold. Audited as `token.created`.",
    responses={
        404: {"description": "No such user"},
        409: {"description": "The user is deactivated"},
    },
)
def issue_token(
    db: DbSession,
    settings: AppSettings,
    admin: Admin,
    username: Username,
    body: ApiTokenCreate,
) -> ApiTokenCreated:
    token, row = people.issue_token(
        db,
        username=username,
        data=body,
        admin=admin,
        default_max_age_s=settings.api_token_max_age_s,
    )
    return ApiTokenCreated(**ApiTokenRead.model_validate(row).model_dump(), access_token=token)


@router.get(
    "/users/{username}/tokens",
    summary="A user's API tokens, newest first, revoked and expired ones too",
    description="Name, scopes, when created, when it expires, when last used and when "
    "revoked; never the token or its hash.",
    responses={404: {"description": "No such user"}},
    dependencies=[Depends(require_admin)],
)
def list_tokens(db: DbSession, username: Username) -> list[ApiTokenRead]:
    user, _ = people.load_user(db, username=username)
    rows = people.list_tokens(db, user_ids=[user.id])[user.id]
    return [ApiTokenRead.model_validate(row) for row in rows]


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    summary="Revoke an API token: its next call is refused (401)",
    description="Revoking a token already revoked changes nothing. Audited as `token.revoked`.",
    responses={404: {"description": "No such token"}},
)
def revoke_token(db: DbSession, admin: Admin, token_id: TokenId) -> Response:
    people.revoke_token(db, token_id=token_id, admin=admin)
    return Response(status_code=204)
