"""Idempotency-Key on every action: the same key and request get the first answer back.

One mechanism for every state-changing route (intake keeps its own, on the same table):
the route takes `once: ActionOnce` and answers with `once.answer(...)`. The key is claimed
in the request's own transaction, so a concurrent duplicate waits for the first to commit
and then replays its answer; a first attempt that fails rolls back and frees the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.cases.models import IdempotencyKey
from app.db import utcnow
from app.deps import AppSettings, CurrentUser, DbSession
from app.errors import Invalid
from app.i18n import msg

log = logging.getLogger(__name__)

REPLAYED_HEADER = "Idempotent-Replayed"
KEY_DESCRIPTION = (
    "Any unique string per action (a UUID). Sending the same key and body again returns the "
    "first answer (status and body, with `Idempotent-Replayed: true`) instead of acting "
    "twice; the same key with another body or on another route is a 422. Kept at least 24 h."
)


class Replayed(Exception):
    """The key was answered before: send that answer again, act no more."""

    def __init__(self, status_code: int, body: Any) -> None:
        super().__init__(f"replayed {status_code}")
        self.status_code = status_code
        self.body = body


@dataclass
class Once:
    """This request's claim on its key (none without a key), and how to answer it."""

    db: Session
    row_id: int | None

    def answer(self, result: Any, *, status_code: int = 200) -> JSONResponse:
        """The route's answer, stored against the key so a repeat gets it back."""
        content = jsonable_encoder(result)
        if self.row_id is not None:
            row = self.db.get_one(IdempotencyKey, self.row_id)
            row.response_status = status_code
            row.response_body = content
            self.db.flush()
        return JSONResponse(content, status_code=status_code)


def request_digest(method: str, path: str, body: bytes) -> str:
    """The request's identity: route and body, the body's JSON canonical whatever its format."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except (ValueError, RecursionError, ArithmeticError):
        # Not JSON, nested past Python's stack, or a number past what it holds: as sent.
        canonical = body.decode("utf-8", "surrogateescape")
    text = f"{method} {path}\n{canonical}"
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


async def _request_body(request: Request) -> bytes:
    # Already read for the route's body parameter; Starlette keeps it.
    return await request.body()


def claim_action_key(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    user: CurrentUser,
    body: Annotated[bytes, Depends(_request_body)],
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=200, description=KEY_DESCRIPTION)
    ] = None,
) -> Once:
    if idempotency_key is None:
        return Once(db, None)
    digest = request_digest(request.method, request.url.path, body)
    route = request.scope.get("route")
    action = f"{request.method} {getattr(route, 'path', request.url.path)}"[:200]
    expires_at = utcnow() + dt.timedelta(seconds=settings.idempotency_ttl_s)
    claimed = db.execute(
        pg_insert(IdempotencyKey)
        .values(
            user_id=user.id,
            key=idempotency_key,
            action=action,
            request_hash=digest,
            expires_at=expires_at,
        )
        .on_conflict_do_nothing(index_elements=[IdempotencyKey.user_id, IdempotencyKey.key])
        .returning(IdempotencyKey.id)
    ).scalar_one_or_none()
    if claimed is not None:
        return Once(db, claimed)
    row = db.execute(
        select(IdempotencyKey).where(
            IdempotencyKey.user_id == user.id, IdempotencyKey.key == idempotency_key
        )
    ).scalar_one()
    if row.request_hash != digest or row.response_status is None:
        message = msg("action.idempotency_mismatch")
        error = {"field": "Idempotency-Key", "message": message, "type": "idempotency_mismatch"}
        raise Invalid(message, errors=[error])
    log.info("action replayed for a repeated Idempotency-Key: %s", action)
    raise Replayed(row.response_status, row.response_body)


ActionOnce = Annotated[Once, Depends(claim_action_key)]


def install_replay(app: FastAPI) -> None:
    @app.exception_handler(Replayed)
    async def _replay(_request: Request, exc: Replayed) -> Response:
        headers = {REPLAYED_HEADER: "true"}
        return JSONResponse(exc.body, status_code=exc.status_code, headers=headers)
