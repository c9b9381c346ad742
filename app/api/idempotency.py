"""Idempotency-Key on every action: the same key and request get the first answer back.

One mechanism for every state-changing route (intake keeps its own, on the same table):
the route takes `once: ActionOnce` and answers with `once.answer(...)`; the claim itself is
app/cases/once.py's, shared with the pages' forms.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from app.cases.once import KeyClaim, Replayed, claim_key, request_digest
from app.deps import AppSettings, CurrentUser, DbSession

REPLAYED_HEADER = "Idempotent-Replayed"
KEY_DESCRIPTION = (
    "Any unique string per action (a UUID). Sending the same key and body again returns the "
    "first answer (status and body, with `Idempotent-Replayed: true`) instead of acting "
    "twice; the same key with another body or on another route is a 422. Kept at least 24 h."
)


class Once(KeyClaim):
    """The claim, and how a route answers with it."""

    def answer(self, result: Any, *, status_code: int = 200) -> JSONResponse:
        """The route's answer, stored against the key so a repeat gets it back."""
        content = self.keep(jsonable_encoder(result), status_code=status_code)
        return JSONResponse(content, status_code=status_code)


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
    route = request.scope.get("route")
    claim = claim_key(
        db,
        user_id=user.id,
        key=idempotency_key,
        action=f"{request.method} {getattr(route, 'path', request.url.path)}",
        digest=request_digest(request.method, request.url.path, body),
        ttl_s=settings.idempotency_ttl_s,
    )
    return Once(db, claim.row_id)


ActionOnce = Annotated[Once, Depends(claim_action_key)]
# A secret rotation's key (app/flows/rotation.py): its answer is kept without the secret.
RotationKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=200, description=KEY_DESCRIPTION),
]


def install_replay(app: FastAPI) -> None:
    @app.exception_handler(Replayed)
    async def _replay(_request: Request, exc: Replayed) -> Response:
        headers = {REPLAYED_HEADER: "true"}
        return JSONResponse(exc.body, status_code=exc.status_code, headers=headers)
