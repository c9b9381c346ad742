"""Creating instructions: each with its idempotency key, its outbox row and its audit event."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.service import record_event
from app.auth.models import User
from app.cases.models import CaseAccount
from app.db import insert_rows, unnest_insert
from app.dispatch.models import Instruction, InstructionKind, InstructionState, Outbox, Outcome
from app.dispatch.publish import SEND_TASK, Item, Lane, lane_of, publish_after_commit
from app.errors import Conflict
from app.i18n import Language, Message, msg
from app.i18n.labels import KIND_LABEL
from app.institutions.models import Institution


@dataclass(frozen=True)
class InstructionOrder:
    """What to ask of whom: the fields the institution will match against its records."""

    kind: InstructionKind
    institution_id: int
    account_id: int | None = None
    amount: Decimal | None = None
    holder_name: str | None = None
    transaction_time: dt.datetime | None = None
    parent_id: int | None = None
    replaces_id: int | None = None
    document_no: str | None = None
    document_id: int | None = None
    # Which workers send it, when the caller already knows the institution's kind (intake
    # does); otherwise looked up.
    lane: Lane | None = None


def create_instructions(
    db: Session,
    *,
    case_id: int,
    priority: str,
    orders: list[InstructionOrder],
) -> list[Instruction]:
    """Create one instruction per order, each with a fresh idempotency key and an outbox row.

    The outbox row means the relay sends it even if the fast-path publish never happens.
    """
    rows = [
        {
            "case_id": case_id,
            "institution_id": order.institution_id,
            "account_id": order.account_id,
            "kind": order.kind.value,
            "amount_requested": order.amount,
            "holder_name": order.holder_name,
            "transaction_time": order.transaction_time,
            "parent_id": order.parent_id,
            "replaces_id": order.replaces_id,
            "document_no": order.document_no,
            "document_id": order.document_id,
            "idempotency_key": uuid.uuid4().hex,
        }
        for order in orders
    ]
    instructions = list(db.scalars(unnest_insert(Instruction, rows).returning(Instruction)))
    insert_rows(db, Outbox, [{"instruction_id": i.id, "task": SEND_TASK} for i in instructions])
    known = {o.institution_id: o.lane for o in orders if o.lane is not None}
    unknown = {o.institution_id for o in orders} - known.keys()
    lanes = known | (institution_lanes(db, unknown) if unknown else {})
    publish_after_commit(
        db,
        [
            Item(i.id, priority, lanes[i.institution_id], i.amount_requested or Decimal(0))
            for i in instructions
        ],
    )
    return instructions


def lock_case_account(db: Session, *, case_id: int, account_id: int) -> None:
    """Take the account's turn in the case: actions on it (freeze, renew, release,
    query) run one after the other, so a second one sees what the first did."""
    db.execute(
        select(CaseAccount.id)
        .where(CaseAccount.case_id == case_id, CaseAccount.account_id == account_id)
        .with_for_update()
    )


# An action on an account waits for these to be answered: one of them under way at a time.
ACCOUNT_ACTIONS = (
    InstructionKind.stop_payment.value,
    InstructionKind.freeze.value,
    InstructionKind.release.value,
)
OPEN_STATES = (
    InstructionState.pending.value,
    InstructionState.sent.value,
    InstructionState.escalated.value,
)


def under_way(db: Session, *, case_id: int, account_id: int) -> Instruction | None:
    """A stop-payment, freeze or release of the account in the case still waiting for its
    outcome (read with the account's turn held, so it is still so when the caller acts)."""
    return db.scalar(
        select(Instruction)
        .where(
            Instruction.case_id == case_id,
            Instruction.account_id == account_id,
            Instruction.kind.in_(ACCOUNT_ACTIONS),
            Instruction.state.in_(OPEN_STATES),
        )
        .order_by(Instruction.id)
        .limit(1)
    )


def institution_lanes(db: Session, institution_ids: set[int]) -> dict[int, Lane]:
    kinds = db.execute(
        select(Institution.id, Institution.kind).where(Institution.id.in_(institution_ids))
    )
    return {row.id: lane_of(row.kind) for row in kinds}


RESENDABLE = (Outcome.mismatch.value, Outcome.rejected.value)


class NotResendable(Conflict):
    """Only a finished stop-payment answered mismatch or rejected can be corrected."""

    def __init__(self) -> None:
        super().__init__(msg("instruction.not_resendable"))


class AlreadyResent(Conflict):
    """The original was corrected and resent before: once per original."""

    def __init__(self, replacement_id: int) -> None:
        super().__init__(
            msg("instruction.already_resent", replacement_id=replacement_id),
            extra={"replacement_id": replacement_id},
        )
        self.args = (f"already resent as instruction {replacement_id}",)
        self.replacement_id = replacement_id


@dataclass(frozen=True)
class _InLowerCase(Message):
    """A label set inside a sentence ("a stop-payment"), in lower case in any language."""

    def in_language(self, lang: Language) -> str:
        return super().in_language(lang).lower()


class UnderWay(Conflict):
    """Another instruction on the account is waiting for its outcome: one at a time."""

    def __init__(self, busy: Instruction) -> None:
        kind = _InLowerCase(KIND_LABEL[busy.kind])
        super().__init__(
            msg("instruction.account_under_way", kind=kind, id=busy.id),
            extra={"under_way_id": busy.id},
        )
        self.args = (f"{busy.kind} {busy.id} is under way on the account",)
        self.instruction_id = busy.id
        self.kind = busy.kind


def replacement_of(db: Session, *, original_id: int) -> int | None:
    return db.scalar(select(Instruction.id).where(Instruction.replaces_id == original_id))


def resend_corrected(
    db: Session,
    *,
    original: Instruction,
    priority: str,
    holder_name: str | None,
    amount: Decimal | None,
    transaction_time: dt.datetime | None,
    user: User,
) -> Instruction:
    """A new stop-payment with the corrected fields (a new key: it is a new request).

    Once per original: the caller holds the original's row lock, and the unique
    `replaces_id` stops a second resend that got past it. One instruction under way per
    account: the caller holds the account's turn (`lock_case_account`), and a stop-payment,
    freeze or release of it still waiting for its outcome refuses the resend.
    """
    _refuse_unless_resendable(db, original)
    resent = _create_once(
        db,
        original=original,
        priority=priority,
        order=InstructionOrder(
            kind=InstructionKind.stop_payment,
            institution_id=original.institution_id,
            account_id=original.account_id,
            amount=amount if amount is not None else original.amount_requested,
            holder_name=holder_name if holder_name is not None else original.holder_name,
            transaction_time=transaction_time or original.transaction_time,
            parent_id=original.id,
            replaces_id=original.id,
        ),
    )
    fields = {"holder_name": holder_name, "amount": amount, "transaction_time": transaction_time}
    record_event(
        db,
        kind="instruction.resent",
        user=user,
        case_id=original.case_id,
        instruction_id=resent.id,
        data={
            "replaces": original.id,
            "mismatch_field": original.mismatch_field,
            "corrected": [name for name, value in fields.items() if value is not None],
        },
    )
    return resent


def _refuse_unless_resendable(db: Session, original: Instruction) -> None:
    """A finished stop-payment answered mismatch or rejected, not resent yet, and nothing
    else on its account waiting for an outcome."""
    if (
        original.kind != InstructionKind.stop_payment.value
        or original.state != InstructionState.done.value
        or original.outcome not in RESENDABLE
    ):
        raise NotResendable
    earlier = replacement_of(db, original_id=original.id)
    if earlier is not None:
        raise AlreadyResent(earlier)
    if original.account_id is not None:
        busy = under_way(db, case_id=original.case_id, account_id=original.account_id)
        if busy is not None:
            raise UnderWay(busy)


def _create_once(
    db: Session, *, original: Instruction, priority: str, order: InstructionOrder
) -> Instruction:
    """The resend, or AlreadyResent when another got past the caller's lock first: the
    unique `replaces_id` refuses the second, and only its savepoint is rolled back."""
    try:
        with db.begin_nested():
            [resent] = create_instructions(
                db, case_id=original.case_id, priority=priority, orders=[order]
            )
    except IntegrityError as exc:
        earlier = replacement_of(db, original_id=original.id)
        if earlier is None:
            raise
        raise AlreadyResent(earlier) from exc
    return resent
