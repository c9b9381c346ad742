"""An institution user's own view: every query is limited to `institution.id`, and reuses
what the centre's dashboard computes for that institution (its scorecard, its refusals)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.callbacks.models import CallbackInbox, RefusedCallback
from app.callbacks.refusals import refused_counts
from app.callbacks.schemas import refused_read
from app.cases.models import Account, Case
from app.cases.reads import victim_anywhere
from app.dashboard.schemas import InstitutionStats
from app.dashboard.scorecard import scorecards
from app.dispatch.models import Instruction, InstructionState
from app.i18n import Language
from app.institutions.models import Institution
from app.portal.schemas import Delivery, OwnInstitution, OwnInstruction, OwnRefusal
from app.privacy import shown_account_no

OPEN = [
    InstructionState.pending.value,
    InstructionState.sent.value,
    InstructionState.escalated.value,
]
# The deliveries its view lists, newest first (issue 18).
DELIVERIES = 200


def own_institution(db: Session, *, user: User, lock: bool = False) -> Institution:
    """The institution the user belongs to (its role's guard has let only such users in)."""
    query = select(Institution).where(Institution.id == user.institution_id)
    return db.scalars(query.with_for_update() if lock else query).one()


def summary(
    db: Session, *, institution: Institution, now: dt.datetime, window_h: int, overlap_s: int
) -> OwnInstitution:
    """Its scorecard as the dashboard shows it, and where its callback secret stands."""
    since = now - dt.timedelta(hours=window_h)
    card = scorecards(db, since=since, institution_id=institution.id).get(institution.id)
    until = institution.callback_secret_previous_until
    under_way = institution.callback_secret_previous is not None and (until is None or until > now)
    return OwnInstitution(
        code=institution.code,
        name_zh=institution.name_zh,
        name_en=institution.name_en,
        sla_s=institution.sla_s,
        stats=InstitutionStats.model_validate(card) if card else None,
        window_h=window_h,
        refused_callbacks=refused_counts(db, since=since).get(institution.id, 0),
        rotation_under_way=under_way,
        previous_secret_valid_until=until if under_way else None,
        secret_overlap_s=overlap_s,
    )


def _instructions(institution: Institution) -> Select[Instruction, str, str | None, bool]:
    return (
        select(Instruction, Case.case_no, Account.account_no, victim_anywhere(Account.id))
        .join(Case, Case.id == Instruction.case_id)
        .join(Account, Account.id == Instruction.account_id, isouter=True)
        .where(Instruction.institution_id == institution.id)
    )


def _own(row: Any, *, sla: dt.timedelta, now: dt.datetime) -> OwnInstruction:
    i, case_no, account_no, victim = row
    end = i.completed_at or now
    return OwnInstruction(
        idempotency_key=i.idempotency_key,
        case_no=case_no,
        kind=i.kind,
        state=i.state,
        account_no=None if account_no is None else shown_account_no(account_no, victim=victim),
        amount_requested=i.amount_requested,
        created_at=i.created_at,
        due_at=i.created_at + sla,
        age_s=max(0, int((end - i.created_at).total_seconds())),
        over_sla=end - i.created_at > sla,
        attempts=i.attempts,
        outcome=i.outcome,
        amount_stopped=i.amount_stopped,
        completed_at=i.completed_at,
        reference=i.institution_ref,
    )


def open_instructions(
    db: Session, *, institution: Institution, now: dt.datetime, limit: int
) -> list[OwnInstruction]:
    """Sent to it and not answered yet, the oldest (the latest against its SLA) first."""
    rows = db.execute(
        _instructions(institution)
        .where(Instruction.state.in_(OPEN))
        .order_by(Instruction.created_at, Instruction.id)
        .limit(limit)
    )
    sla = dt.timedelta(seconds=institution.sla_s)
    return [_own(row, sla=sla, now=now) for row in rows]


def outcomes(
    db: Session, *, institution: Institution, now: dt.datetime, limit: int
) -> list[OwnInstruction]:
    """Its answered instructions, the latest outcome first."""
    rows = db.execute(
        _instructions(institution)
        .where(Instruction.completed_at.is_not(None))
        .order_by(Instruction.completed_at.desc(), Instruction.id.desc())
        .limit(limit)
    )
    sla = dt.timedelta(seconds=institution.sla_s)
    return [_own(row, sla=sla, now=now) for row in rows]


def refusals(
    db: Session, *, institution: Institution, lang: Language, limit: int
) -> list[OwnRefusal]:
    """Its refused callbacks, newest first, each reason in the reader's language."""
    rows = db.execute(
        select(RefusedCallback, Instruction.idempotency_key)
        .join(Instruction, Instruction.id == RefusedCallback.instruction_id, isouter=True)
        .where(RefusedCallback.institution_id == institution.id)
        .order_by(RefusedCallback.id.desc())
        .limit(limit)
    )
    return [
        OwnRefusal(
            webhook_id=row.webhook_id,
            received_at=row.received_at,
            idempotency_key=key,
            reasons=refused_read(row, lang).reasons,
        )
        for row, key in rows
    ]


def deliveries(
    db: Session, *, institution: Institution, lang: Language, limit: int = DELIVERIES
) -> list[Delivery]:
    """Its latest signed callbacks, accepted or refused, newest first, with our answers."""
    accepted = db.execute(
        select(CallbackInbox, Instruction.idempotency_key)
        .join(Instruction, Instruction.id == CallbackInbox.instruction_id, isouter=True)
        .where(CallbackInbox.institution_id == institution.id)
        .order_by(CallbackInbox.id.desc())
        .limit(limit)
    )
    found = [
        Delivery(
            webhook_id=row.webhook_id,
            received_at=row.received_at,
            idempotency_key=key,
            answer=row.answer or "unknown",
            repeats=row.repeats,
            repeated_at=row.repeated_at,
        )
        for row, key in accepted
    ]
    found += [
        Delivery(
            webhook_id=r.webhook_id,
            received_at=r.received_at,
            idempotency_key=r.idempotency_key,
            answer="refused",
            reasons=r.reasons,
        )
        for r in refusals(db, institution=institution, lang=lang, limit=limit)
    ]
    found.sort(key=lambda d: d.received_at, reverse=True)
    return found[:limit]
