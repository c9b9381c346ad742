"""A supervisor asks an institution where an account's money went (a `query` instruction)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.api.idempotency import ActionOnce
from app.deps import DbSession, SupervisorAction, VisibleCase
from app.dispatch.reads import read_back
from app.dispatch.schemas import InstructionRead
from app.dispatch.service import lock_case_account
from app.errors import Conflict, NotFound
from app.i18n import msg
from app.legal.service import case_holder_name, find_case_account
from app.trace.service import request_query

router = APIRouter(prefix="/api/v1/cases", tags=["follow the money"])


class QueryRequest(BaseModel):
    """Which of the case's accounts to ask about."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"institution": "CMB", "account_no": "6225880201234567895"}]
        },
    )

    institution: str = Field(min_length=1, max_length=16)
    account_no: str = Field(min_length=1, max_length=64)


@router.post(
    "/{case_no}/queries",
    status_code=201,
    response_model=InstructionRead,
    summary="Ask an institution for an account's balance and recent outgoing transfers",
    description="The answer arrives by callback; onward transfers it reports are followed "
    "like those of a stop-payment (down to the configured depth and from the configured "
    "amount). Supervisors only.",
    responses={
        404: {"description": "No such case, or the account is not in this case"},
        409: {"description": "A query about this account is already under way"},
    },
)
def ask(
    db: DbSession,
    user: SupervisorAction,
    case: VisibleCase,
    body: QueryRequest,
    once: ActionOnce,
) -> JSONResponse:
    found = find_case_account(
        db, case_id=case.id, institution=body.institution, account_no=body.account_no
    )
    if found is None:
        raise NotFound(msg("trace.account_not_in_case"))
    account, institution = found
    # One query at a time per account: a second one then sees the first still open.
    lock_case_account(db, case_id=case.id, account_id=account.id)
    query = request_query(
        db,
        case=case,
        account_id=account.id,
        institution_id=institution.id,
        holder_name=case_holder_name(db, case.id, account.id),
        parent_id=None,
        user=user,
    )
    if query is None:
        raise Conflict(msg("trace.query_open"))
    return once.answer(read_back(db, query), status_code=201)
