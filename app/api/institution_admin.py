"""Admins manage an institution's access: rotate its callback secret, disable or enable it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from app.api.idempotency import REPLAYED_HEADER, RotationKey
from app.audit.service import record_event
from app.db import utcnow
from app.deps import Admin, AppSettings, DbSession, NoStore
from app.errors import NotFound
from app.flows.rotation import rotate_once
from app.i18n import msg
from app.institutions.models import Institution
from app.params import StrictBool

router = APIRouter(prefix="/api/v1/institutions", tags=["institutions"])

Code = Annotated[str, Path(min_length=1, max_length=16, examples=["CCB"])]


class SecretRotated(BaseModel):
    code: str
    callback_secret: str = Field(description="Give this to the institution; it signs with it.")
    previous_still_valid: bool = Field(
        description="The old secret verifies too, until `previous_valid_until` or until the "
        "rotation is finished, whichever comes first."
    )
    previous_valid_until: dt.datetime | None = Field(
        default=None,
        description="When the old secret stops verifying (`STOPAY_CALLBACK_SECRET_OVERLAP_S` "
        "after the rotation).",
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


@router.post(
    "/{code}/secret-rotations",
    status_code=201,
    dependencies=[NoStore],
    summary="Start a callback secret rotation: a new secret, the old one valid until finished",
    responses={
        404: {"description": "No such institution"},
        409: {"description": "This Idempotency-Key's rotation was followed by another one"},
        422: {"description": "This Idempotency-Key was used for another request"},
    },
)
def rotate_secret(
    db: DbSession,
    user: Admin,
    settings: AppSettings,
    code: Code,
    response: Response,
    key: RotationKey = None,
) -> SecretRotated:
    """A new callback secret, shown once in the answer. The previous secret still verifies
    callbacks for the stated overlap (STOPAY_CALLBACK_SECRET_OVERLAP_S), or until the rotation is
    finished, so the institution can switch without losing any. Audited. Repeated with the same
    `Idempotency-Key`, it rotates once and answers with the same secret."""
    institution = _institution(db, code)
    rotation = rotate_once(
        db,
        institution=institution,
        user=user,
        now=utcnow(),
        overlap=dt.timedelta(seconds=settings.callback_secret_overlap_s),
        by="admin",
        key=key,
        action=f"POST /api/v1/institutions/{institution.code}/secret-rotations",
        ttl_s=settings.idempotency_ttl_s,
    )
    if rotation.replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return SecretRotated(
        code=institution.code,
        callback_secret=rotation.secret,
        previous_still_valid=rotation.previous_valid_until is not None,
        previous_valid_until=rotation.previous_valid_until,
    )


@router.delete(
    "/{code}/previous-secret",
    status_code=204,
    summary="Finish the rotation: the old callback secret stops verifying",
    responses={404: {"description": "No such institution"}},
)
def finish_rotation(db: DbSession, user: Admin, code: Code) -> Response:
    """The previous callback secret stops verifying: only the current one is accepted from now on.
    Audited."""
    institution = _institution(db, code)
    if institution.callback_secret_previous is not None:
        institution.callback_secret_previous = None
        institution.callback_secret_previous_until = None
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
    """A disabled institution's callbacks are refused (403 `institution-disabled`); enabling it
    again accepts them. Audited."""
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
