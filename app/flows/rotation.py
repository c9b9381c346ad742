"""Rotating an institution's callback secret once per request, whoever presses: an admin
(API), the institution's user (API or its page).

Rotating twice would retire the secret the institution still signs with (only the one just
before the current one keeps verifying). So a request that carries a key (the API's
`Idempotency-Key`, a key rendered into the page's form) rotates once; a repeat gets the first
answer back: the current secret, if it is still the one that first rotation made. What is
kept against the key is the secret's fingerprint, never the secret.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from app.auth.models import User
from app.cases.once import KeyClaim, Replayed, claim_key, request_digest
from app.config import Settings
from app.db import utcnow
from app.errors import Conflict
from app.i18n import msg
from app.institutions.models import Institution
from app.institutions.secrets import Rotation, kept_answer, rotate_callback_secret, rotation_again
from app.portal.reads import own_institution


def rotate_once(
    db: Session,
    *,
    institution: Institution,
    user: User,
    now: dt.datetime,
    overlap: dt.timedelta,
    by: str,
    key: str | None,
    action: str,
    ttl_s: int,
) -> Rotation:
    """A new secret for `institution` (its row locked by the caller), or the first answer again
    when `key` was used for this action before. Raises Conflict when the secret was rotated
    again since the first answer, Invalid when the key was used for another action."""
    claim: KeyClaim | None = None
    if key is not None:
        try:
            claim = claim_key(
                db,
                user_id=user.id,
                key=key,
                action=action,
                digest=request_digest("POST", action, b""),
                ttl_s=ttl_s,
            )
        except Replayed as first:
            again = rotation_again(institution, first.body)
            if again is None:
                raise Conflict(msg("institution.rotated_since")) from None
            return again
    rotation = rotate_callback_secret(
        db, institution=institution, user=user, now=now, overlap=overlap, by=by
    )
    if claim is not None:
        claim.keep(kept_answer(rotation), status_code=201)
    return rotation


def rotate_own_once(
    db: Session, *, user: User, settings: Settings, key: str | None, action: str
) -> Rotation:
    """An institution user's rotation of its own secret (its page and the API alike): its
    institution's row locked, the overlap and the key's lifetime from the settings."""
    return rotate_once(
        db,
        institution=own_institution(db, user=user, lock=True),
        user=user,
        now=utcnow(),
        overlap=dt.timedelta(seconds=settings.callback_secret_overlap_s),
        by="institution",
        key=key,
        action=action,
        ttl_s=settings.idempotency_ttl_s,
    )
