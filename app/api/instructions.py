"""Acting on one instruction: correct and resend a stop-payment the institution bounced."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from sqlalchemy import select

from app import flows
from app.api.idempotency import ActionOnce
from app.cases.validation import (
    CaseInvalid,
    FieldProblem,
    check_holder_name,
    check_transaction_time,
)
from app.db import utcnow
from app.deps import AppSettings, DbSession, IntakeUser, VisibleCase
from app.dispatch.models import Instruction
from app.dispatch.reads import read_back
from app.dispatch.schemas import InstructionCorrection, InstructionRead
from app.dispatch.service import lock_case_account
from app.errors import NotFound
from app.i18n import msg
from app.params import BigDbId

router = APIRouter(prefix="/api/v1/cases", tags=["instructions"])


def _checked(
    body: InstructionCorrection, *, received_at: dt.datetime, zone: ZoneInfo
) -> InstructionCorrection:
    """The correction as intake would take it: times zoned and in the report's window."""
    transaction_time = body.transaction_time
    if transaction_time is not None and transaction_time.tzinfo is None:
        transaction_time = transaction_time.replace(tzinfo=zone)
    holder_name = body.holder_name.strip() if body.holder_name is not None else None
    problems: list[FieldProblem] = []
    if body.holder_name is not None:
        problems += check_holder_name(body.holder_name, where="holder_name")
    if transaction_time is not None:
        problems += check_transaction_time(
            transaction_time, where="transaction_time", received_at=received_at, now=utcnow()
        )
    if problems:
        raise CaseInvalid(problems)
    return InstructionCorrection.model_construct(
        holder_name=holder_name, amount=body.amount, transaction_time=transaction_time
    )


def _locked_original(db: DbSession, *, case_id: int, instruction_id: int) -> Instruction | None:
    """The instruction, with its account's turn in the case taken first (as freeze, renew and
    release take it, so they and a resend run one after the other) and then its own row."""
    account_id = db.scalar(
        select(Instruction.account_id).where(
            Instruction.id == instruction_id, Instruction.case_id == case_id
        )
    )
    if account_id is not None:
        lock_case_account(db, case_id=case_id, account_id=account_id)
    return db.scalar(
        select(Instruction)
        .where(Instruction.id == instruction_id, Instruction.case_id == case_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


@router.post(
    "/{case_no}/instructions/{instruction_id}/resend",
    status_code=201,
    response_model=InstructionRead,
    summary="Correct the field an institution reported as not matching, and send again",
    description="Once per instruction: the corrected stop-payment replaces the bounced one. "
    "The fields are checked as intake checks them (a transaction time in the report's window "
    "and not in the future, an amount in range, a holder name not blank).",
    responses={
        409: {
            "description": "Only a stop-payment answered mismatch or rejected can be corrected "
            "and resent, and only once: `replacement_id` names the resend already made; and "
            "not while another stop-payment, freeze or release of the account is under way: "
            "`under_way_id` names it"
        }
    },
)
def resend(
    db: DbSession,
    settings: AppSettings,
    user: IntakeUser,
    case: VisibleCase,
    instruction_id: Annotated[BigDbId, Path()],
    body: InstructionCorrection,
    once: ActionOnce,
) -> JSONResponse:
    # A refused correction (CaseInvalid), or a resend refused (NotResendable, AlreadyResent,
    # UnderWay), is an AppError with its message key: the error handler answers it.
    correction = _checked(body, received_at=case.received_at, zone=ZoneInfo(settings.timezone))
    original = _locked_original(db, case_id=case.id, instruction_id=instruction_id)
    if original is None:
        raise NotFound(msg("instruction.not_found", id=instruction_id))
    resent = flows.resend(
        db,
        case=case,
        original=original,
        holder_name=correction.holder_name,
        amount=correction.amount,
        transaction_time=correction.transaction_time,
        user=user,
    )
    return once.answer(read_back(db, resent), status_code=201)
