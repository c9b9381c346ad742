"""Callback secrets: a new one is shown once, and the one before it keeps verifying for a
stated overlap (STOPAY_CALLBACK_SECRET_OVERLAP_S) so the institution can switch without
losing a callback. Admins rotate any institution's; an institution user rotates its own."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.audit.service import Actor, record_event
from app.institutions.models import Institution


@dataclass(frozen=True)
class Rotation:
    """A rotation's answer: the new secret (shown once, never stored elsewhere nor logged)
    and until when the previous one still verifies (None: there was none)."""

    secret: str
    previous_valid_until: dt.datetime | None
    replayed: bool = False  # the first answer again, for a repeated request


def new_callback_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def rotate_callback_secret(
    db: Session,
    *,
    institution: Institution,
    user: Actor | None,
    now: dt.datetime,
    overlap: dt.timedelta,
    by: str = "admin",
) -> Rotation:
    """A new secret; the current one verifies for `overlap` more (zero: stops at once).

    `by` says who: "admin", "institution" (its own user) or "cli" (the first handover).
    The caller holds the institution's row locked. Audited, without either secret.
    """
    until = now + overlap if overlap > dt.timedelta(0) else None
    institution.callback_secret_previous = institution.callback_secret if until else None
    institution.callback_secret_previous_until = until
    institution.callback_secret = new_callback_secret()
    institution.updated_at = now
    record_event(
        db,
        kind="institution.secret_rotated",
        user=user,
        institution_id=institution.id,
        data={
            "by": by,
            "previous_valid_until": until.isoformat() if until else None,
        },
    )
    return Rotation(institution.callback_secret, until)


def fingerprint(secret: str) -> str:
    """What an answer kept for a repeated request remembers of a secret: never the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def kept_answer(rotation: Rotation) -> dict[str, Any]:
    """A rotation as kept against its idempotency key: the new secret's fingerprint only."""
    until = rotation.previous_valid_until
    return {
        "secret_sha256": fingerprint(rotation.secret),
        "previous_valid_until": None if until is None else until.isoformat(),
    }


def rotation_again(institution: Institution, kept: dict[str, Any]) -> Rotation | None:
    """The first answer of a repeated rotation (a double press, a retry after a lost answer):
    the institution's current secret, if it is still the one that rotation made; None when it
    has been rotated again since (that secret is no longer this request's to show)."""
    if kept.get("secret_sha256") != fingerprint(institution.callback_secret):
        return None
    until = kept.get("previous_valid_until")
    return Rotation(
        institution.callback_secret,
        None if until is None else dt.datetime.fromisoformat(until),
        replayed=True,
    )
