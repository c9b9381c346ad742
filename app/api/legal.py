"""Supervisor endpoints of the legal clock: freeze, renew, release, and returns to victims;
and, for tests and demos, the settable clock."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import JSONResponse

from app import flows
from app.api.idempotency import ActionOnce
from app.cases.models import Account, Case
from app.deps import (
    AppRules,
    AppSettings,
    DbSession,
    LegalNow,
    SupervisorAction,
    VisibleCase,
    require_supervisor,
)
from app.dispatch.reads import read_back
from app.dispatch.schemas import InstructionRead
from app.dispatch.service import lock_case_account
from app.errors import NotFound
from app.i18n import msg
from app.legal import return_service
from app.legal.models import Document, VictimReturn
from app.legal.schemas import (
    REFUSALS,
    AccountChoice,
    FreezeRequest,
    ReleaseRequest,
    RenewRequest,
    ReturnCompletion,
    ReturnConfirm,
    ReturnProposalRead,
    ReturnRead,
    ReturnShareRead,
    ScanIn,
)
from app.legal.service import Scan, find_case_account
from app.params import BigDbId
from app.web import content_disposition

# Something besides spaces, and no NUL: the account is looked up by what is left stripped.
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"
router = APIRouter(prefix="/api/v1/cases", tags=["legal clock"])

ReturnId = Annotated[BigDbId, Path()]


def _account(db: DbSession, case: Case, choice: AccountChoice) -> Account:
    found = find_case_account(
        db, case_id=case.id, institution=choice.institution, account_no=choice.account_no
    )
    if found is None:
        raise NotFound(msg("trace.account_not_in_case"))
    return found[0]


def _locked_account(db: DbSession, case: Case, choice: AccountChoice) -> Account:
    """The account, its turn in the case taken: a concurrent action on it waits for this one."""
    account = _account(db, case, choice)
    lock_case_account(db, case_id=case.id, account_id=account.id)
    return account


def _scan(scan: ScanIn | None) -> Scan | None:
    return None if scan is None else Scan(scan.filename, scan.content_type, scan.content_base64)


def _today(now: dt.datetime, settings: AppSettings) -> dt.date:
    return now.astimezone(ZoneInfo(settings.timezone)).date()


@router.post(
    "/{case_no}/freezes",
    status_code=201,
    response_model=InstructionRead,
    summary="Freeze an account: convert its stop-payment, with the freeze document",
    description="Sends a `freeze` instruction citing the document number (and keeps the "
    "optional scan). A freeze runs 6 months by default from when the institution confirms it. "
    "Supervisors only; audited.",
    responses=REFUSALS,
)
def freeze_account(
    db: DbSession,
    user: SupervisorAction,
    case: VisibleCase,
    body: FreezeRequest,
    now: LegalNow,
    once: ActionOnce,
) -> JSONResponse:
    account = _locked_account(db, case, body)
    return once.answer(
        read_back(
            db,
            flows.freeze(
                db,
                case=case,
                account=account,
                user=user,
                now=now,
                document_no=body.document_no,
                amount=body.amount,
                scan=_scan(body.scan),
            ),
        ),
        status_code=201,
    )


@router.post(
    "/{case_no}/renewals",
    status_code=201,
    response_model=InstructionRead,
    summary="Renew a stop-payment (once) or a freeze before it runs out",
    description="A stop-payment can be renewed once (at most two per account per case, by "
    "default); the renewal runs from the end of the first. A freeze renewal needs its new "
    "document number. Supervisors only; audited.",
    responses=REFUSALS,
)
def renew_hold(
    db: DbSession,
    rules: AppRules,
    user: SupervisorAction,
    case: VisibleCase,
    body: RenewRequest,
    now: LegalNow,
    once: ActionOnce,
) -> JSONResponse:
    account = _locked_account(db, case, body)
    return once.answer(
        read_back(
            db,
            flows.renew(
                db,
                case=case,
                account=account,
                user=user,
                rules=rules,
                now=now,
                document_no=body.document_no,
                scan=_scan(body.scan),
            ),
        ),
        status_code=201,
    )


@router.post(
    "/{case_no}/releases",
    status_code=201,
    response_model=InstructionRead,
    summary="Release the case's stop-payment or freeze on an account early",
    description="Sends a `release` instruction; when the institution confirms it, the "
    "case's holds on the account end. Supervisors only; audited with the reason.",
    responses=REFUSALS,
)
def release_account(
    db: DbSession,
    user: SupervisorAction,
    case: VisibleCase,
    body: ReleaseRequest,
    now: LegalNow,
    once: ActionOnce,
) -> JSONResponse:
    account = _locked_account(db, case, body)
    return once.answer(
        read_back(
            db,
            flows.release(db, case=case, account=account, user=user, now=now, reason=body.reason),
        ),
        status_code=201,
    )


def _proposal_read(
    proposal: return_service.Proposal, institution: str, account_no: str
) -> ReturnProposalRead:
    return ReturnProposalRead(
        institution=institution,
        account_no=account_no,
        frozen=proposal.frozen,
        already_returned=proposal.already_returned,
        rule=proposal.rule,
        total=proposal.total,
        payable_from=proposal.payable_from,
        notice_until=proposal.notice_until,
        shares=[
            ReturnShareRead(
                case_no=s.case_no,
                victim_name=s.victim_name,
                traced_in=s.traced_in,
                already_returned=s.already,
                amount=s.amount,
            )
            for s in proposal.shares
        ],
        fingerprint=proposal.fingerprint,
    )


@router.get(
    "/{case_no}/returns/proposal",
    summary="Propose how a frozen account's money goes back to the victims it came from",
    description="Every victim whose money reached the account, whichever case reported them. "
    "Rule `single_victim`: straight back. `by_time`: every movement of the account is known, "
    "so it is traced by time (money out takes the earliest money in). `pro_rata`: otherwise, "
    "in proportion to each loss, payable after a 30-day public notice. Supervisors only.",
    responses=REFUSALS,
    dependencies=[Depends(require_supervisor)],
)
def propose_return(
    db: DbSession,
    settings: AppSettings,
    rules: AppRules,
    case: VisibleCase,
    now: LegalNow,
    institution: Annotated[str, Query(min_length=1, max_length=16, pattern=NOT_BLANK)],
    account_no: Annotated[str, Query(min_length=1, max_length=64, pattern=NOT_BLANK)],
) -> ReturnProposalRead:
    account = _account(db, case, AccountChoice(institution=institution, account_no=account_no))
    proposal = return_service.propose(
        db,
        account_id=account.id,
        now=now,
        today=_today(now, settings),
        rules=rules.legal,
    )
    return _proposal_read(proposal, institution.strip().upper(), account.account_no)


@router.post(
    "/{case_no}/returns",
    status_code=201,
    response_model=list[ReturnRead],
    summary="Confirm the proposed split: one return per victim, to be paid by the bank",
    description="Send the proposal's fingerprint: if the split changed since, 409 and the new "
    "proposal is to be reviewed. Returns never exceed what is frozen. Supervisors only; "
    "audited in every victim's case.",
    responses=REFUSALS,
)
def confirm_returns(
    db: DbSession,
    settings: AppSettings,
    rules: AppRules,
    user: SupervisorAction,
    case: VisibleCase,
    body: ReturnConfirm,
    now: LegalNow,
    once: ActionOnce,
) -> JSONResponse:
    account = _account(db, case, body)
    rows = flows.confirm_returns(
        db,
        account_id=account.id,
        fingerprint=body.fingerprint,
        user=user,
        now=now,
        today=_today(now, settings),
        rules=rules,
    )
    created = return_service.read_returns(db, VictimReturn.id.in_([row.id for row in rows]))
    return once.answer(created, status_code=201)


@router.post(
    "/{case_no}/returns/{return_id}/completion",
    response_model=ReturnRead,
    summary="Record that the bank paid a return to the victim",
    description="Refused before a pro-rata return's public notice has ended. Supervisors "
    "only; audited.",
    responses={
        404: {"description": "No such return in this case"},
        409: REFUSALS[409],
    },
)
def complete_return(
    db: DbSession,
    settings: AppSettings,
    user: SupervisorAction,
    case: VisibleCase,
    return_id: ReturnId,
    body: ReturnCompletion,
    now: LegalNow,
    once: ActionOnce,
) -> JSONResponse:
    row = flows.complete_return(
        db,
        case=case,
        return_id=return_id,
        reference=body.reference,
        user=user,
        now=now,
        today=_today(now, settings),
    )
    if row is None:
        raise NotFound(msg("legal.return_not_found", id=return_id))
    [read] = return_service.read_returns(db, VictimReturn.id == row.id)
    return once.answer(read)


@router.get(
    "/{case_no}/documents/{document_id}",
    summary="A freeze document's scan, as uploaded",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}, "image/png": {}, "image/jpeg": {}}},
        404: {"description": "No such document in this case"},
    },
    dependencies=[Depends(require_supervisor)],
)
def document(
    db: DbSession,
    case: VisibleCase,
    document_id: Annotated[BigDbId, Path()],
) -> Response:
    """The scan of a freeze document as it was uploaded, with its own content type. Supervisors
    and admins."""
    found = db.get(Document, document_id)
    if found is None or found.case_id != case.id:
        raise NotFound(msg("legal.document_not_found", id=document_id))
    disposition = content_disposition(found.filename, disposition="inline")
    return Response(
        found.content,
        media_type=found.content_type,
        headers={"Content-Disposition": disposition},
    )
