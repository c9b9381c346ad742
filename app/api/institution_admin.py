"""Admins manage an institution's access: rotate its callback secret, disable or enable it."""

from __future__ import annotations

import base64
import secrets
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from app.audit.service import record_event
from app.deps import Admin, DbSession, NoStore
from app.errors import NotFound
from app.i18n import msg
from app.institutions.models import Institution
from app.params import StrictBool

router = APIRouter(prefix="/api/v1/institutions", tags=["institutions"])

Code = Annotated[str, Path(min_length=1, max_length=16, examples=["CCB"])]


class SecretRotated(BaseModel):
    code: str
    callback_secret: str = Field(description="Give this to the institution; it signs with it.")
    previous_still_valid: bool = Field(
        description="The old secret verifies too until the rotation is finished."
    )


class AccessChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    is_active: StrictBool = Field(description="false: its callbacks are refused (403).")


class AccessRead(BaseModel):
    code: str
    is_active: bool
    rotation_under_way: bool


def _institution(db: DbSession, code: str) -> Institution:
    found = db.scalar(select(Institution).where(Institution.code == code.upper()).with_for_update())
    if found is None:
        raise NotFound(msg("callback.unknown_institution", code=code))
    return found


def new_callback_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@router.post(
    "/{code}/secret-rotations",
    status_code=201,
    dependencies=[NoStore],
    summary="Start a callback secret rotation: a new secret, the old one valid until finished",
    responses={404: {"description": "No such institution"}},
)
def rotate_secret(db: DbSession, user: Admin, code: Code) -> SecretRotated:
    institution = _institution(db, code)
    institution.callback_secret_previous = institution.callback_secret
    institution.callback_secret = new_callback_secret()
    record_event(db, kind="institution.secret_rotated", user=user, institution_id=institution.id)
    return SecretRotated(
        code=institution.code,
        callback_secret=institution.callback_secret,
        previous_still_valid=True,
    )


@router.delete(
    "/{code}/previous-secret",
    status_code=204,
    summary="Finish the rotation: the old callback secret stops verifying",
    responses={404: {"description": "No such institution"}},
)
def finish_rotation(db: DbSession, user: Admin, code: Code) -> Response:
    institution = _institution(db, code)
    if institution.callback_secret_previous is not None:
        institution.callback_secret_previous = None
        record_event(
            db, kind="institution.rotation_finished", user=user, institution_id=institution.id
        )
    return Response(status_code=204)


@router.patch(
    "/{code}",
    summary="Disable an institution (its callbacks are refused) or enable it again",
    responses={404: {"description": "No such institution"}},
)
def change_access(db: DbSession, user: Admin, code: Code, body: AccessChange) -> AccessRead:
    institution = _institution(db, code)
    if institution.is_active != body.is_active:
        institution.is_active = body.is_active
        kind = "institution.enabled" if body.is_active else "institution.disabled"
        record_event(db, kind=kind, user=user, institution_id=institution.id)
    return AccessRead(
        code=institution.code,
        is_active=institution.is_active,
        rotation_under_way=institution.callback_secret_previous is not None,
    )
