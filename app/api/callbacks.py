"""POST /api/v1/callbacks/{institution_code}: where institutions report outcomes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.callbacks.service import CallbackRefused
from app.db import utcnow
from app.deps import AppRules, DbSession
from app.errors import problem
from app.flows import outcome_received

router = APIRouter(prefix="/api/v1/callbacks", tags=["callbacks"])


class CallbackAccepted(BaseModel):
    status: str


async def raw_body(request: Request) -> bytes:
    """The exact bytes the institution signed."""
    return await request.body()


@router.post(
    "/{institution_code}",
    response_model=CallbackAccepted,
    summary="An institution reports an outcome (signed per Standard Webhooks)",
    description="Headers `webhook-id`, `webhook-timestamp`, `webhook-signature` "
    "(`v1,<base64 HMAC-SHA256>` with the institution's `whsec_` secret). A repeated "
    "`webhook-id` is answered 200 and changes nothing. See docs/institution-protocol.md.",
    responses={
        401: {"description": "Bad signature, or the timestamp is more than 5 minutes off"},
        403: {"description": "The institution is disabled; its callbacks are refused"},
        409: {"description": "No such instruction for this institution (stored as refused)"},
        422: {
            "description": "The outcome cannot be true of its instruction, or the body is not "
            "a readable outcome: stored as a refused callback, never applied"
        },
    },
)
def callback(
    request: Request,
    db: DbSession,
    rules: AppRules,
    institution_code: Annotated[str, Path(max_length=16)],
    body: Annotated[bytes, Depends(raw_body)],
) -> CallbackAccepted | JSONResponse:
    try:
        status = outcome_received(
            db,
            code=institution_code,
            body=body,
            headers=request.headers,
            now=utcnow(),
            rules=rules,
        )
    except CallbackRefused as exc:
        # Answered, not raised: the request's transaction commits the refusal record. The
        # problem is rendered as the one handler renders an AppError, in the reader's language.
        return problem(
            request,
            status=exc.status,
            title_key=exc.title_key,
            detail=exc.detail,
            errors=exc.errors,
        )
    return CallbackAccepted(status=status)
