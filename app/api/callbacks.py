"""POST /api/v1/callbacks/{institution_code}: where institutions report outcomes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from app.callbacks.service import CallbackRefused
from app.db import utcnow
from app.deps import AppRules, OneHop
from app.dispatch.wire import CallbackAnswer, CallbackStatus
from app.errors import problem
from app.flows import outcome_received

router = APIRouter(prefix="/api/v1/callbacks", tags=["callbacks"])

DESCRIPTION = """
An institution reports the outcome of an instruction it received (`webhooks.instruction`).
The body is `CallbackEnvelope`, signed per [Standard Webhooks](https://www.standardwebhooks.com/)
with the institution's `whsec_` secret: sign the exact bytes you send. The whole protocol,
with every rule an outcome is checked against: [/docs/protocol](/docs/protocol); what to do
about each problem `type`: [/docs/problems](/docs/problems).

- **200** `applied`: recorded. `duplicate`: this `webhook-id` (or this very outcome) is on
  record already, nothing changed. `ignored`: the instruction expired first (`reason`).
- **401**: the signature cannot be verified; the `type` says why (a bad signature, a
  timestamp off by more than 5 minutes, one in milliseconds, a missing header). Fix and send
  again.
- **409** `unknown-instruction`: not one of your instructions. **409** `outcome-disputed`: the
  instruction is done with another outcome; yours is kept as a *disputed outcome* for our
  supervisors, never applied. Do not retry either: call the centre.
- **422**: signed, but not an outcome that can be true of its instruction (`errors` names each
  field and rule). Kept as a refused callback. Correct it and send it as a new event.
- **5xx** or no answer: retry with backoff, the same body and `webhook-id`.

Answers are in English unless you send `Accept-Language: zh-CN`.
"""


async def raw_body(request: Request) -> bytes:
    """The exact bytes the institution signed."""
    return await request.body()


@router.post(
    "/{institution_code}",
    response_model=CallbackAnswer,
    response_model_exclude_none=True,
    summary="An institution reports an outcome (signed per Standard Webhooks)",
    description=DESCRIPTION,
    responses={
        401: {"description": "The signature cannot be verified; `type` says why"},
        403: {"description": "The institution is disabled; its callbacks are refused"},
        404: {"description": "No institution has this code"},
        409: {
            "description": "Not one of your instructions (kept as a refused callback), or "
            "a contradicting outcome for a done instruction (kept as a disputed outcome)"
        },
        422: {
            "description": "The outcome cannot be true of its instruction, or the body is not "
            "a readable outcome: stored as a refused callback, never applied"
        },
    },
)
async def callback(
    request: Request,
    rules: AppRules,
    writer: OneHop,
    institution_code: Annotated[str, Path(max_length=16)],
    body: Annotated[bytes, Depends(raw_body)],
) -> CallbackAnswer | JSONResponse:
    now = utcnow()

    def receive(db: Session) -> CallbackStatus | CallbackRefused:
        try:
            return outcome_received(
                db, code=institution_code, body=body, headers=request.headers, now=now, rules=rules
            )
        except CallbackRefused as refused:
            return refused  # stored as a refused callback: committed like an applied one

    result = await writer.run(receive)
    if isinstance(result, CallbackRefused):
        return problem(
            request,
            status=result.status,
            title_key=result.title_key,
            detail=result.detail,
            errors=result.errors,
            kind=result.kind,
        )
    if result == "ignored":
        return CallbackAnswer(status=result, reason="instruction_expired")
    return CallbackAnswer(status=result)
