"""Idempotency keys: the same key and request get the first answer back, never a second effect.

The key is claimed in the request's own transaction, so a concurrent duplicate waits for the
first to commit and then gets its answer; a first attempt that fails rolls back and frees the
key. The JSON API (app/api/idempotency.py, the `Idempotency-Key` header) and the pages' forms
(a key rendered into each form) both claim through `claim_key`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.cases.models import IdempotencyKey
from app.db import utcnow
from app.errors import Invalid
from app.i18n import Message, msg

log = logging.getLogger(__name__)


class Replayed(Exception):
    """The key was answered before: send that answer again, act no more."""

    def __init__(self, status_code: int, body: Any) -> None:
        super().__init__(f"replayed {status_code}")
        self.status_code = status_code
        self.body = body


@dataclass
class KeyClaim:
    """This request's claim on its key (none without a key)."""

    db: Session
    row_id: int | None

    def keep(self, content: Any, *, status_code: int = 200, case_id: int | None = None) -> Any:
        """Store the answer (JSON-able `content`) against the key, so a repeat gets it back;
        `case_id`: the case a report made (the call-taker's drafts and cases find it by it)."""
        if self.row_id is not None:
            row = self.db.get_one(IdempotencyKey, self.row_id)
            row.response_status = status_code
            row.response_body = content
            if case_id is not None:
                row.case_id = case_id
            self.db.flush()
        return content


def request_digest(method: str, path: str, body: bytes) -> str:
    """The request's identity: route and body, the body's JSON canonical whatever its format."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except (ValueError, RecursionError, ArithmeticError):
        # Not JSON, nested past Python's stack, or a number past what it holds: as sent.
        canonical = body.decode("utf-8", "surrogateescape")
    text = f"{method} {path}\n{canonical}"
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def claim_key(
    db: Session,
    *,
    user_id: int,
    key: str,
    action: str,
    digest: str,
    ttl_s: int,
    mismatch: Message | None = None,
) -> KeyClaim:
    """Claim `key` for this user's `action` (a request whose identity is `digest`).

    Raises Replayed with the first answer when the key was answered for the same request,
    Invalid (saying `mismatch`) when it was used for another, or its first request is still
    without an answer.
    """
    claimed = db.execute(
        pg_insert(IdempotencyKey)
        .values(
            user_id=user_id,
            key=key,
            action=action[:200],
            request_hash=digest,
            expires_at=utcnow() + dt.timedelta(seconds=ttl_s),
        )
        .on_conflict_do_nothing(index_elements=[IdempotencyKey.user_id, IdempotencyKey.key])
        .returning(IdempotencyKey.id)
    ).scalar_one_or_none()
    if claimed is not None:
        return KeyClaim(db, claimed)
    row = db.execute(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    ).scalar_one()
    if row.request_hash != digest or row.response_status is None:
        message = mismatch or msg("action.idempotency_mismatch")
        error = {"field": "Idempotency-Key", "message": message, "type": "idempotency_mismatch"}
        raise Invalid(message, errors=[error])
    log.info("action replayed for a repeated Idempotency-Key: %s", action)
    raise Replayed(row.response_status, row.response_body)
