"""GET /api/v1/institution/me/...: a partner institution's own view, over the API; and
rotating its own callback secret. Its user (or token) reaches its own institution only."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from app.api.idempotency import REPLAYED_HEADER, RotationKey
from app.callbacks.disputes import DisputedOutcomeRead, list_disputes
from app.db import utcnow
from app.deps import AppSettings, DbSession, InstitutionRotator, InstitutionUser, Lang, NoStore
from app.flows.rotation import rotate_own_once
from app.portal import reads
from app.portal.schemas import Delivery, OwnInstitution, OwnInstruction, OwnRefusal

router = APIRouter(prefix="/api/v1/institution/me", tags=["institution"])

Limit = Annotated[int, Query(ge=1, le=200, description="At most this many, newest first")]
WindowH = Annotated[int, Query(ge=1, le=24 * 90, description="Scorecard window, hours")]


class OwnSecretRotated(BaseModel):
    callback_secret: str = Field(
        description="Sign callbacks with this from now on. Shown once: it is never shown again."
    )
    previous_valid_until: dt.datetime | None = Field(
        description="The previous secret still verifies until then "
        "(`STOPAY_CALLBACK_SECRET_OVERLAP_S` after the rotation); null: it stopped at once."
    )


@router.get("", summary="My institution: its scorecard, SLA and callback secret's state")
def me(
    db: DbSession, user: InstitutionUser, settings: AppSettings, window_h: WindowH = 24
) -> OwnInstitution:
    """The same scorecard figures the centre's dashboard shows for this institution."""
    institution = reads.own_institution(db, user=user)
    return reads.summary(
        db,
        institution=institution,
        now=utcnow(),
        window_h=window_h,
        overlap_s=settings.callback_secret_overlap_s,
    )


@router.get("/instructions", summary="My open instructions, with their age against the SLA")
def open_instructions(
    db: DbSession, user: InstitutionUser, limit: Limit = 200
) -> list[OwnInstruction]:
    """Instructions sent to this institution still waiting for its outcome, the oldest first,
    each with its age and whether it is past the institution's SLA."""
    institution = reads.own_institution(db, user=user)
    return reads.open_instructions(db, institution=institution, now=utcnow(), limit=limit)


@router.get("/outcomes", summary="My answered instructions, the latest outcome first")
def outcomes(db: DbSession, user: InstitutionUser, limit: Limit = 200) -> list[OwnInstruction]:
    """Instructions this institution has answered, with the outcome we recorded for each."""
    institution = reads.own_institution(db, user=user)
    return reads.outcomes(db, institution=institution, now=utcnow(), limit=limit)


@router.get("/refused-callbacks", summary="My refused callbacks, with the reasons")
def refused_callbacks(
    db: DbSession, user: InstitutionUser, lang: Lang, limit: Limit = 200
) -> list[OwnRefusal]:
    """Callbacks of this institution we refused (nothing applied), each with the reasons in
    the reader's language: what to fix before sending the outcome again."""
    institution = reads.own_institution(db, user=user)
    return reads.refusals(db, institution=institution, lang=lang, limit=limit)


@router.get("/deliveries", summary="My last 200 callback deliveries and what we answered")
def deliveries(
    db: DbSession, user: InstitutionUser, lang: Lang, limit: Limit = 200
) -> list[Delivery]:
    """The latest callback deliveries and our answer to each: applied, duplicate (the same
    delivery or the same outcome again), ignored (the instruction had expired) or refused."""
    institution = reads.own_institution(db, user=user)
    return reads.deliveries(db, institution=institution, lang=lang, limit=limit)


@router.get(
    "/disputed-outcomes",
    summary="My outcomes that contradicted one already on record: kept, not applied",
)
def disputed_outcomes(
    db: DbSession, user: InstitutionUser, limit: Limit = 200
) -> list[DisputedOutcomeRead]:
    """Each outcome this institution sent for an instruction already done that disagreed with
    the recorded one (answered 409 `outcome-disputed`); the centre's supervisors see them too
    and settle them by phone."""
    institution = reads.own_institution(db, user=user)
    return list_disputes(db, institution_id=institution.id, limit=limit)


@router.post(
    "/secret-rotations",
    status_code=201,
    dependencies=[NoStore],
    summary="Rotate my callback secret: the new one shown once, the old one valid for the overlap",
    responses={
        409: {"description": "This Idempotency-Key's rotation was followed by another one"},
        422: {"description": "This Idempotency-Key was used for another request"},
    },
)
def rotate_own_secret(
    db: DbSession,
    user: InstitutionRotator,
    settings: AppSettings,
    response: Response,
    key: RotationKey = None,
) -> OwnSecretRotated:
    """Needs a token with `institution:rotate`, which is given only when asked for by name.
    Audited (`institution.secret_rotated`), never with the secret. Repeated with the same
    `Idempotency-Key` (send one: a lost answer is then safe to retry), it rotates once and
    answers with the same secret."""
    rotation = rotate_own_once(
        db,
        user=user,
        settings=settings,
        key=key,
        action="POST /api/v1/institution/me/secret-rotations",
    )
    if rotation.replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return OwnSecretRotated(
        callback_secret=rotation.secret, previous_valid_until=rotation.previous_valid_until
    )
