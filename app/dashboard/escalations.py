"""Escalated instructions, with whom to phone, and the duty officer's note that they did."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.audit.service import record_event
from app.auth.models import User
from app.cases.models import Account, Case
from app.cases.reads import victim_anywhere
from app.dashboard.schemas import DeskContact, Escalation
from app.dashboard.service import visible, with_account
from app.dispatch.failures import FailureClass
from app.dispatch.models import Instruction, InstructionState
from app.errors import Conflict
from app.i18n import msg
from app.institutions.desks import desks
from app.institutions.models import Institution
from app.privacy import shown_account_no

HANDLED = "escalation.handled"


class NotEscalated(Conflict):
    """The instruction is not (or no longer) escalated."""

    def __init__(self, instruction_id: int) -> None:
        super().__init__(msg("dash.not_escalated", id=instruction_id))


class AlreadyHandled(Conflict):
    """Someone already marked this escalation handled."""

    def __init__(self, instruction_id: int) -> None:
        super().__init__(msg("dash.already_handled", id=instruction_id))


def _handled(db: Session, ids: list[int]) -> dict[int, tuple[Event, str | None]]:
    """The latest `escalation.handled` event of each instruction, with who recorded it."""
    rows = db.execute(
        select(Event, User.username)
        .join(User, User.id == Event.actor_user_id, isouter=True)
        .where(Event.kind == HANDLED, Event.instruction_id.in_(ids))
        .order_by(Event.instruction_id, Event.id.desc())
        .ext(distinct_on(Event.instruction_id))
    )
    return {e.instruction_id: (e, name) for e, name in rows if e.instruction_id is not None}


def _read(
    i: Instruction,
    case: Case,
    inst: Institution,
    account_no: str | None,
    handled: tuple[Event, str | None] | None,
) -> Escalation:
    desk = desks().get(inst.code)
    event, by = handled or (None, None)
    # A note from an earlier escalation of the same instruction does not cover this one.
    if event is not None and i.escalated_at is not None and event.occurred_at < i.escalated_at:
        event, by = None, None
    return Escalation(
        instruction_id=i.id,
        case_no=case.case_no,
        priority=case.priority,
        kind=i.kind,
        institution=inst.code,
        institution_name_zh=inst.name_zh,
        institution_name_en=inst.name_en,
        contact=DeskContact(
            desk_zh=desk.desk_zh if desk else None,
            desk_en=desk.desk_en if desk else None,
            phone=desk.phone if desk else None,
        ),
        account_no=account_no,
        amount=i.amount_requested,
        escalated_at=i.escalated_at,
        attempts=i.attempts,
        last_error=i.last_error,
        failure=FailureClass(i.last_failure) if i.last_failure else None,
        handled_at=event.occurred_at if event else None,
        handled_by=by,
        note=str(event.data.get("note")) if event else None,
    )


def _query(user: User) -> Select[Instruction, Case, Institution, str | None, bool]:
    """Each instruction with its case, institution, account number and whether the account is
    a victim's own somewhere (its number is then masked)."""
    query = (
        select(Instruction, Case, Institution, Account.account_no, victim_anywhere(Account.id))
        .join(Case, Case.id == Instruction.case_id)
        .join(Institution, Institution.id == Instruction.institution_id)
        .where(visible(user))
    )
    return with_account(query)


def _shown(account_no: str | None, victim: bool | None) -> str | None:
    return None if account_no is None else shown_account_no(account_no, victim=victim)


def escalations(db: Session, *, user: User) -> list[Escalation]:
    """Open escalations, the ones nobody has handled first, then the oldest."""
    rows = list(
        db.execute(
            _query(user)
            .where(Instruction.state == InstructionState.escalated.value)
            .order_by(Instruction.escalated_at, Instruction.id)
        )
    )
    handled = _handled(db, [i.id for i, *_ in rows])
    found = [
        _read(i, c, inst, _shown(no, victim), handled.get(i.id)) for i, c, inst, no, victim in rows
    ]
    return sorted(found, key=lambda e: e.handled_at is not None)


def mark_handled(db: Session, *, user: User, instruction_id: int, note: str) -> Escalation | None:
    """Record that the duty officer dealt with it by phone; None when the user cannot see it."""
    row = db.execute(
        _query(user).where(Instruction.id == instruction_id).with_for_update(of=Instruction)
    ).first()
    if row is None:
        return None
    i, case, inst, number, victim = row
    account_no = _shown(number, victim)
    if i.state != InstructionState.escalated.value:
        raise NotEscalated(instruction_id)
    if _read(i, case, inst, account_no, _handled(db, [i.id]).get(i.id)).handled_at is not None:
        raise AlreadyHandled(instruction_id)
    event = record_event(
        db,
        kind=HANDLED,
        user=user,
        case_id=case.id,
        instruction_id=i.id,
        data={"note": note, "institution": inst.code},
    )
    db.flush()
    return _read(i, case, inst, account_no, (event, user.username))
