"""The legal clock of a hold: renew a stop-payment (once), freeze, release, lapse, and the
watch beat runs over all of it.

A hold is a stop-payment or freeze the institution confirmed. It is in force from its
effective time until it expires (48 h for a stop-payment, 6 months for a freeze, by default)
or a confirmed release ends it. A renewal starts where the hold it renews ends. What an
account holds for a case is its latest hold (a renewal, or the freeze that converted a stop).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session, aliased

from app.audit.service import record_event
from app.auth.models import User
from app.cases.models import Account, Case, CaseAccount, Transfer
from app.cases.validation import normalise_account_no
from app.dispatch.models import Instruction, InstructionKind, InstructionState, Outcome
from app.dispatch.service import InstructionOrder, create_instructions, under_way
from app.dispatch.transitions import move
from app.errors import AppError, Conflict, Invalid
from app.i18n import N_, msg
from app.institutions.models import Institution
from app.legal.models import Document, ReturnState, VictimReturn
from app.legal.returns import add_working_days

OPEN = (
    InstructionState.pending.value,
    InstructionState.sent.value,
    InstructionState.escalated.value,
)
HOLD_KINDS = (InstructionKind.stop_payment.value, InstructionKind.freeze.value)
HOLDING = (
    Outcome.stopped_full.value,
    Outcome.stopped_partial.value,
    Outcome.frozen_full.value,
    Outcome.frozen_partial.value,
)
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


def in_force(now: dt.datetime | ColumnElement[dt.datetime]) -> Any:
    """Holds the institution confirmed that have neither run out nor been released."""
    return and_(
        Instruction.kind.in_(HOLD_KINDS),
        Instruction.state == InstructionState.done.value,
        Instruction.outcome.in_(HOLDING),
        Instruction.released_at.is_(None),
        Instruction.expires_at > now,
    )


def current_holds(
    db: Session, *, case_id: int, now: dt.datetime, account_id: int | None = None
) -> dict[int, Instruction]:
    """Each account's latest hold in force in the case."""
    query = (
        select(Instruction)
        .where(Instruction.case_id == case_id, in_force(now))
        .order_by(Instruction.account_id, Instruction.id.desc())
        .ext(distinct_on(Instruction.account_id))
    )
    if account_id is not None:
        query = query.where(Instruction.account_id == account_id)
    return {i.account_id: i for i in db.scalars(query) if i.account_id is not None}


def find_case_account(
    db: Session, *, case_id: int, institution: str, account_no: str
) -> tuple[Account, Institution] | None:
    """One of the case's accounts, by institution code and number as the user typed them."""
    found = db.execute(
        select(Account, Institution)
        .join(Institution, Institution.id == Account.institution_id)
        .join(CaseAccount, CaseAccount.account_id == Account.id)
        .where(
            CaseAccount.case_id == case_id,
            Institution.code == institution.strip().upper(),
            Account.account_no_norm == normalise_account_no(account_no),
        )
    ).first()
    return None if found is None else (found[0], found[1])


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
    current = current_holds(db, case_id=case.id, now=now, account_id=account.id).get(account.id)
    if current is None:
        raise Refused(N_("legal.nothing_to_renew"))
    _refuse_if_under_way(db, case=case, account_id=account.id)
    if current.kind == InstructionKind.stop_payment.value:
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
        order = InstructionOrder(
            kind=InstructionKind.stop_payment,
            institution_id=current.institution_id,
            account_id=account.id,
            amount=current.amount_stopped,
            holder_name=current.holder_name,
            transaction_time=current.transaction_time,
            parent_id=current.id,
        )
    else:
        if not document_no:
            raise Refused(N_("legal.document_required"), field="document_no")
        document_id = _store_scan(db, case=case, document_no=document_no, scan=scan, user=user)
        order = InstructionOrder(
            kind=InstructionKind.freeze,
            institution_id=current.institution_id,
            account_id=account.id,
            amount=current.amount_stopped,
            holder_name=current.holder_name,
            transaction_time=current.transaction_time,
            parent_id=current.id,
            document_no=document_no,
            document_id=document_id,
        )
    renewal = _send(db, case, order)
    data = {
        "renews": current.id,
        "kind": current.kind,
        "expires_at": _iso(current.expires_at),
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
    current = current_holds(db, case_id=case.id, now=now, account_id=account.id).get(account.id)
    if current is not None and current.kind == InstructionKind.freeze.value:
        raise Refused(N_("legal.already_frozen"), expires_at=_iso(current.expires_at))
    _refuse_if_under_way(db, case=case, account_id=account.id)
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
        holder_name=stop.holder_name if stop else account.holder_name,
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
    current = current_holds(db, case_id=case.id, now=now, account_id=account.id).get(account.id)
    if current is None:
        raise Refused(N_("legal.nothing_to_release"))
    _refuse_if_under_way(db, case=case, account_id=account.id)
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


def end_holds(db: Session, release: Instruction, *, now: dt.datetime) -> None:
    """A confirmed release: the case's holds on the account end now."""
    db.execute(
        update(Instruction)
        .where(
            Instruction.case_id == release.case_id,
            Instruction.account_id == release.account_id,
            Instruction.kind.in_(HOLD_KINDS),
            Instruction.state == InstructionState.done.value,
            Instruction.released_at.is_(None),
        )
        .values(released_at=now)
    )


def term_start(db: Session, instruction: Instruction, effective_at: dt.datetime) -> dt.datetime:
    """A renewal's term starts where the hold it renews ends (if that is still ahead)."""
    if instruction.parent_id is None:
        return effective_at
    parent = db.get(Instruction, instruction.parent_id)
    if (
        parent is None
        or parent.kind != instruction.kind
        or parent.account_id != instruction.account_id
        or parent.expires_at is None
        or parent.released_at is not None
    ):
        return effective_at
    return max(effective_at, parent.expires_at)


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


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# ---- The watch: beat's pass over the legal clock --------------------------------------------


@dataclass
class Watch:
    """What one pass did; a second pass over the same state does nothing."""

    lapse_warnings: int = 0
    freeze_warnings: int = 0
    lapsed: int = 0
    ended: int = 0  # ran out, but a renewal or freeze holds the money on
    returns_overdue: int = 0
    cases: set[int] = field(default_factory=set)


def followed(*, holding_only: bool) -> Any:
    """A later stop-payment or freeze of the same account in the same case, under way (unless
    `holding_only`) or holding: a renewal, or a freeze (converting the stop, or made outright
    after a lapse), takes the hold over."""
    later = aliased(Instruction)
    holds = and_(
        later.state == InstructionState.done.value,
        later.outcome.in_(HOLDING),
        later.released_at.is_(None),
    )
    return exists().where(
        later.case_id == Instruction.case_id,
        later.account_id == Instruction.account_id,
        later.id > Instruction.id,
        later.kind.in_(HOLD_KINDS),
        holds if holding_only else or_(later.state.in_(OPEN), holds),
    )


def _due(query: Select[Any]) -> Select[Any]:
    # SKIP LOCKED: two beats (or a slow pass and the next) never warn or lapse one hold twice.
    return query.order_by(Instruction.expires_at).with_for_update(of=Instruction, skip_locked=True)


def watch(db: Session, *, now: dt.datetime, today: dt.date, rules: LegalRules) -> Watch:
    """Warn of stop-payments about to lapse without a freeze and of freezes to renew; mark
    the holds whose term is over `expired`; warn of confirmed returns the bank is late with."""
    done = Watch()
    for kind, lead, event in (
        (InstructionKind.stop_payment, rules.lapse_warning, "hold.lapse_warning"),
        (InstructionKind.freeze, rules.freeze_warning, "hold.freeze_renewal_due"),
    ):
        for hold in db.scalars(
            _due(
                select(Instruction).where(
                    in_force(now),
                    Instruction.kind == kind.value,
                    Instruction.warned_at.is_(None),
                    Instruction.expires_at <= now + lead,
                    ~followed(holding_only=False),
                )
            )
        ):
            hold.warned_at = now
            assert hold.expires_at is not None
            record_event(
                db,
                kind=event,
                case_id=hold.case_id,
                instruction_id=hold.id,
                data={
                    "kind": hold.kind,
                    "expires_at": _iso(hold.expires_at),
                    "hours_left": round((hold.expires_at - now).total_seconds() / 3600, 1),
                    "amount": str(hold.amount_stopped),
                },
            )
            done.cases.add(hold.case_id)
            if kind == InstructionKind.stop_payment:
                done.lapse_warnings += 1
            else:
                done.freeze_warnings += 1
    # Whether a later hold carried each one on comes in the same query, not one per hold.
    for hold, carried_on in db.execute(
        _due(
            select(Instruction, followed(holding_only=True)).where(
                Instruction.kind.in_(HOLD_KINDS),
                Instruction.state == InstructionState.done.value,
                Instruction.expires_at <= now,
                Instruction.released_at.is_(None),
            )
        )
    ):
        move(
            db,
            hold,
            InstructionState.expired,
            data={"expires_at": _iso(hold.expires_at), "carried_on": bool(carried_on)},
        )
        done.cases.add(hold.case_id)
        if carried_on:
            done.ended += 1
            continue
        done.lapsed += 1
        record_event(
            db,
            kind="hold.lapsed",
            case_id=hold.case_id,
            instruction_id=hold.id,
            data={
                "kind": hold.kind,
                "amount": str(hold.amount_stopped),
                "expires_at": _iso(hold.expires_at),
            },
        )
    for due in db.scalars(
        select(VictimReturn)
        .where(VictimReturn.state == ReturnState.confirmed.value, VictimReturn.warned_at.is_(None))
        .with_for_update(skip_locked=True)
    ):
        deadline = add_working_days(due.payable_from, rules.return_working_days)
        if today <= deadline:
            continue
        due.warned_at = now
        data = {"return_id": due.id, "amount": str(due.amount), "due": deadline.isoformat()}
        record_event(db, kind="return.overdue", case_id=due.case_id, data=data)
        done.returns_overdue += 1
    return done


def held_sums(case_ids: Select[int], *, now: dt.datetime) -> Select[Any]:
    """Per case: (case_id, stopped, frozen, lapsed), account by account through each
    account's latest confirmed hold. Stopped and frozen are held now; lapsed was held, but
    the term ran out with nothing after it. One aggregate for one case or a thousand."""
    hold = (
        select(
            Instruction.case_id,
            Instruction.kind,
            Instruction.state,
            Instruction.amount_stopped,
            Instruction.expires_at,
            Instruction.released_at,
        )
        .where(
            Instruction.case_id.in_(case_ids),
            Instruction.kind.in_(HOLD_KINDS),
            Instruction.outcome.in_(HOLDING),
            Instruction.state.in_([InstructionState.done.value, InstructionState.expired.value]),
        )
        .order_by(Instruction.case_id, Instruction.account_id, Instruction.id.desc())
        .ext(distinct_on(Instruction.case_id, Instruction.account_id))
        .subquery("latest_hold")
    )
    kept = hold.c.released_at.is_(None)
    live = and_(kept, hold.c.state == InstructionState.done.value, hold.c.expires_at > now)

    def total(*where: Any) -> Any:
        return func.coalesce(func.sum(hold.c.amount_stopped).filter(*where), Decimal("0.00"))

    return select(
        hold.c.case_id,
        total(live, hold.c.kind == InstructionKind.stop_payment.value).label("stopped"),
        total(live, hold.c.kind == InstructionKind.freeze.value).label("frozen"),
        total(kept, ~live).label("lapsed"),
    ).group_by(hold.c.case_id)


@dataclass(frozen=True)
class HoldTotals:
    stopped: Decimal  # held by stop-payments in force now
    frozen: Decimal  # held by freezes in force now
    lapsed: Decimal  # was held, but the term ran out with nothing after it


def hold_totals(db: Session, *, case_id: int, now: dt.datetime) -> HoldTotals:
    """Money the case holds (see `held_sums`)."""
    row = db.execute(held_sums(select(literal(case_id)), now=now)).first()
    if row is None:
        return HoldTotals(Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))
    return HoldTotals(row.stopped, row.frozen, row.lapsed)
