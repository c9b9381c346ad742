"""A person's actions on a case's hold: renew a stop-payment (once), or a freeze with a new
document; freeze an account (converting its stop-payment); release it early.

What a case holds, and the term of each hold, is in `app.legal.holds`; beat's watch over the
terms is in `app.legal.watch`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.service import record_event
from app.auth.models import User
from app.cases.models import Account, Case, CaseAccount, Transfer
from app.cases.validation import normalise_account_no
from app.dispatch.models import Instruction, InstructionKind
from app.dispatch.service import InstructionOrder, create_instructions, under_way
from app.errors import AppError, Conflict, Invalid
from app.i18n import N_, msg
from app.institutions.models import Institution
from app.legal.holds import current_holds, expiry
from app.legal.models import Document
from app.privacy import MASK, mask_account_no

SCAN_TYPES = {"application/pdf": b"%PDF", "image/png": b"\x89PNG", "image/jpeg": b"\xff\xd8"}
MAX_SCAN_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class LegalRules:
    hold: dt.timedelta = dt.timedelta(hours=48)
    freeze: dt.timedelta = dt.timedelta(days=180)
    max_stops: int = 2
    lapse_warning: dt.timedelta = dt.timedelta(hours=6)
    freeze_warning: dt.timedelta = dt.timedelta(days=15)
    notice_days: int = 30
    return_working_days: int = 3


class Refused(AppError):
    """The request cannot be done in the case's present state: `key` names the i18n reason.

    A field's problem is a 422 on that field; the case's state, a 409."""

    def __init__(self, key: str, *, field: str | None = None, **params: Any) -> None:
        reason = msg(key, **params)
        on_field = None if field is None else [{"field": field, "message": reason, "type": key}]
        super().__init__(reason, errors=on_field)
        self.args = (key,)
        answer = Conflict if field is None else Invalid
        self.status_code, self.title_key = answer.status_code, answer.title_key
        self.key, self.field, self.params = key, field, params


@dataclass(frozen=True)
class Scan:
    """An uploaded document, as the API received it (base64)."""

    filename: str
    content_type: str
    content_base64: str


def find_case_account(
    db: Session, *, case_id: int, institution: str, account_no: str
) -> tuple[Account, Institution] | None:
    """One of the case's accounts, by institution code and number as the user typed them, or
    as a page showed it masked (a victim's card): a masked number names the one account of
    the case at that institution that it masks, and none when two would match."""
    query = (
        select(Account, Institution)
        .join(Institution, Institution.id == Account.institution_id)
        .join(CaseAccount, CaseAccount.account_id == Account.id)
        .where(CaseAccount.case_id == case_id, Institution.code == institution.strip().upper())
    )
    if MASK in account_no:
        shown = mask_account_no(account_no)
        found = [
            (acc, inst)
            for acc, inst in db.execute(query)
            if mask_account_no(acc.account_no) == shown
        ]
        return found[0] if len(found) == 1 else None
    row = db.execute(
        query.where(Account.account_no_norm == normalise_account_no(account_no))
    ).first()
    return None if row is None else (row[0], row[1])


def case_holder_name(db: Session, case_id: int, account_id: int) -> str | None:
    """The account holder's name as this case knows it (not as another case reported it)."""
    return db.scalar(
        select(CaseAccount.holder_name).where(
            CaseAccount.case_id == case_id, CaseAccount.account_id == account_id
        )
    )


def _under_way(db: Session, *, case_id: int, account_id: int) -> Instruction | None:
    """A stop-payment, freeze or release of the account still waiting for its outcome."""
    return under_way(db, case_id=case_id, account_id=account_id)


def _latest_stop(db: Session, *, case_id: int, account_id: int) -> Instruction | None:
    return db.scalar(
        select(Instruction)
        .where(
            Instruction.case_id == case_id,
            Instruction.account_id == account_id,
            Instruction.kind == InstructionKind.stop_payment.value,
        )
        .order_by(Instruction.id.desc())
        .limit(1)
    )


def _refuse_if_under_way(db: Session, *, case: Case, account_id: int) -> None:
    """Asked before the account's holds are read, never after. The callback that answers the
    action under way ends it and changes the holds in one commit, and each statement sees
    what was committed when it began: read in this order, an action sees the one under way
    or what its answer did. Read the other way, the answer could commit between the two,
    and the action would act on holds that had already changed (a second release)."""
    busy = _under_way(db, case_id=case.id, account_id=account_id)
    if busy is not None:
        raise Refused(N_("legal.under_way"), kind=busy.kind, id=busy.id)


def _send(db: Session, case: Case, order: InstructionOrder) -> Instruction:
    [instruction] = create_instructions(db, case_id=case.id, priority=case.priority, orders=[order])
    return instruction


def renew(
    db: Session,
    *,
    case: Case,
    account: Account,
    user: User,
    rules: LegalRules,
    now: dt.datetime,
    document_no: str | None,
    scan: Scan | None,
) -> Instruction:
    """Renew the account's hold before it runs out: a second stop-payment (at most
    `max_stops` in all), or a freeze renewed with a new document."""
    _refuse_if_under_way(db, case=case, account_id=account.id)
    current = current_holds(db, case_id=case.id, now=now, account_id=account.id).get(account.id)
    if current is None:
        raise Refused(N_("legal.nothing_to_renew"))
    if current.kind == InstructionKind.stop_payment.value:
        _refuse_past_stop_limit(db, case=case, account=account, rules=rules)
        order = _renewal_of(current)
    else:
        if not document_no:
            raise Refused(N_("legal.document_required"), field="document_no")
        document_id = _store_scan(db, case=case, document_no=document_no, scan=scan, user=user)
        order = _renewal_of(current, document_no=document_no, document_id=document_id)
    renewal = _send(db, case, order)
    data = {
        "renews": current.id,
        "kind": current.kind,
        "expires_at": expiry(current),
        "document_no": document_no,
    }
    record_event(
        db,
        kind="hold.renewal_requested",
        user=user,
        case_id=case.id,
        instruction_id=renewal.id,
        data=data,
    )
    return renewal


def _refuse_past_stop_limit(
    db: Session, *, case: Case, account: Account, rules: LegalRules
) -> None:
    """A stop-payment is renewed by another, up to `max_stops` of them that took effect."""
    stops = db.scalar(
        select(func.count()).where(
            Instruction.case_id == case.id,
            Instruction.account_id == account.id,
            Instruction.kind == InstructionKind.stop_payment.value,
            Instruction.effective_at.is_not(None),
        )
    )
    if (stops or 0) >= rules.max_stops:
        raise Refused(N_("legal.stop_limit"), max=rules.max_stops)


def _renewal_of(
    current: Instruction, *, document_no: str | None = None, document_id: int | None = None
) -> InstructionOrder:
    """The same hold of the same money again, its term on from where `current` ends."""
    return InstructionOrder(
        kind=InstructionKind(current.kind),
        institution_id=current.institution_id,
        account_id=current.account_id,
        amount=current.amount_stopped,
        holder_name=current.holder_name,
        transaction_time=current.transaction_time,
        parent_id=current.id,
        document_no=document_no,
        document_id=document_id,
    )


def freeze(
    db: Session,
    *,
    case: Case,
    account: Account,
    user: User,
    now: dt.datetime,
    document_no: str,
    amount: Decimal | None,
    scan: Scan | None,
) -> Instruction:
    """Convert the account's stop-payment into a freeze (or freeze it outright): the amount
    held, unless another is given; without a hold, what the case traced into the account."""
    _refuse_if_under_way(db, case=case, account_id=account.id)
    current = current_holds(db, case_id=case.id, now=now, account_id=account.id).get(account.id)
    if current is not None and current.kind == InstructionKind.freeze.value:
        raise Refused(N_("legal.already_frozen"), expires_at=expiry(current))
    if amount is None:
        amount = (
            current.amount_stopped
            if current is not None
            else _traced_into(db, case_id=case.id, account_id=account.id)
        )
    if not amount:
        raise Refused(N_("legal.amount_required"), field="amount")
    stop = current or _latest_stop(db, case_id=case.id, account_id=account.id)
    document_id = _store_scan(db, case=case, document_no=document_no, scan=scan, user=user)
    order = InstructionOrder(
        kind=InstructionKind.freeze,
        institution_id=account.institution_id,
        account_id=account.id,
        amount=amount,
        holder_name=stop.holder_name if stop else case_holder_name(db, case.id, account.id),
        transaction_time=stop.transaction_time if stop else None,
        parent_id=current.id if current else None,
        document_no=document_no,
        document_id=document_id,
    )
    instruction = _send(db, case, order)
    record_event(
        db,
        kind="hold.freeze_requested",
        user=user,
        case_id=case.id,
        instruction_id=instruction.id,
        data={
            "converts": current.id if current else None,
            "amount": str(amount),
            "document_no": document_no,
            "scan": document_id is not None,
        },
    )
    return instruction


def release(
    db: Session, *, case: Case, account: Account, user: User, now: dt.datetime, reason: str
) -> Instruction:
    """End the case's hold on the account early (everything the case holds there)."""
    _refuse_if_under_way(db, case=case, account_id=account.id)
    current = current_holds(db, case_id=case.id, now=now, account_id=account.id).get(account.id)
    if current is None:
        raise Refused(N_("legal.nothing_to_release"))
    order = InstructionOrder(
        kind=InstructionKind.release,
        institution_id=current.institution_id,
        account_id=account.id,
        holder_name=current.holder_name,
        parent_id=current.id,
    )
    instruction = _send(db, case, order)
    record_event(
        db,
        kind="hold.release_requested",
        user=user,
        case_id=case.id,
        instruction_id=instruction.id,
        data={"releases": current.id, "kind": current.kind, "reason": reason},
    )
    return instruction


def _traced_into(db: Session, *, case_id: int, account_id: int) -> Decimal:
    total = db.scalar(
        select(func.sum(Transfer.amount)).where(
            Transfer.case_id == case_id, Transfer.to_account_id == account_id
        )
    )
    return total or Decimal("0")


def _store_scan(
    db: Session, *, case: Case, document_no: str, scan: Scan | None, user: User
) -> int | None:
    if scan is None:
        return None
    try:
        content = base64.b64decode(scan.content_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Refused(N_("legal.scan_not_base64"), field="scan.content_base64") from exc
    if not content:
        raise Refused(N_("legal.scan_empty"), field="scan.content_base64")
    if len(content) > MAX_SCAN_BYTES:
        raise Refused(
            N_("legal.scan_too_large"),
            field="scan.content_base64",
            max_mb=MAX_SCAN_BYTES // (1024 * 1024),
        )
    if not content.startswith(SCAN_TYPES[scan.content_type]):
        raise Refused(
            N_("legal.scan_wrong_type"), field="scan.content_type", type=scan.content_type
        )
    document = Document(
        case_id=case.id,
        document_no=document_no,
        filename=scan.filename,
        content_type=scan.content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_by=user.id,
    )
    db.add(document)
    db.flush()
    return document.id
