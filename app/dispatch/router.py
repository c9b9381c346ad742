"""Acting on one instruction: correct and resend a stop-payment the institution bounced."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request
from sqlalchemy import select

from app.cases.router import VisibleCase
from app.cases.schemas import InstructionRead
from app.cases.service import read_back, rollup_status
from app.deps import AppSettings, DbSession, IntakeUser
from app.dispatch.models import Instruction
from app.dispatch.schemas import InstructionCorrection
from app.dispatch.service import resend_corrected
from app.errors import Conflict, NotFound, request_language
from app.i18n import t
from app.params import BigDbId

router = APIRouter(prefix="/api/v1/cases", tags=["instructions"])


@router.post(
    "/{case_no}/instructions/{instruction_id}/resend",
    status_code=201,
    summary="Correct the field an institution reported as not matching, and send again",
    responses={
        409: {
            "description": "Only a stop-payment answered mismatch or rejected can be corrected "
            "and resent"
        }
    },
)
def resend(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    user: IntakeUser,
    case: VisibleCase,
    instruction_id: Annotated[BigDbId, Path()],
    body: InstructionCorrection,
) -> InstructionRead:
    lang = request_language(request)
    original = db.scalar(
        select(Instruction)
        .where(Instruction.id == instruction_id, Instruction.case_id == case.id)
        .with_for_update()
    )
    if original is None:
        raise NotFound(t("instruction.not_found", lang, id=instruction_id))
    transaction_time = body.transaction_time
    if transaction_time is not None and transaction_time.tzinfo is None:
        transaction_time = transaction_time.replace(tzinfo=ZoneInfo(settings.timezone))
    resent = resend_corrected(
        db,
        original=original,
        priority=case.priority,
        holder_name=body.holder_name,
        amount=body.amount,
        transaction_time=transaction_time,
        user=user,
    )
    if resent is None:
        raise Conflict(t("instruction.not_resendable", lang))
    rollup_status(db, case_id=case.id)
    return read_back(db, resent)
