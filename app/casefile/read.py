"""Reading one case back whole: accounts by level with their holds, transfers, instructions,
returns, totals and events."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.audit.models import Event
from app.auth.models import Unit, User
from app.casefile.fates import AccountFate, case_fates
from app.casefile.reach import interceptions
from app.casefile.schemas import AccountRead, CaseRead, CaseTotals, LevelRead
from app.cases.models import Account, Case, CaseAccount, SuspectContact, Transfer
from app.cases.reads import case_summary, victim_accounts
from app.cases.schemas import ContactRead, EventRead, TransferRead, VictimRead
from app.cases.service import shared_cases
from app.db import utcnow
from app.dispatch.models import Instruction
from app.dispatch.reads import hold_read, instruction_read
from app.dispatch.schemas import InstructionRead
from app.institutions.models import Institution
from app.legal.holds import hold_totals
from app.legal.models import ReturnState, VictimReturn
from app.legal.return_service import read_returns
from app.legal.schemas import ReturnRead
from app.privacy import mask_id_no, mask_phone, shown_account_no
from app.trace.service import held_elsewhere

# Each account's institution code and its number as shown, by account id.
Numbers = dict[int, tuple[str, str]]


def read_case(db: Session, *, case: Case, now: dt.datetime | None = None) -> CaseRead:
    now = now or utcnow()
    unit_code, username = _people(db, case)
    by_level, numbers = _accounts(db, case=case, now=now, fates=case_fates(db, case=case, now=now))
    transfers = _transfers(db, case_id=case.id, numbers=numbers)
    instructions = _instructions(db, case_id=case.id, numbers=numbers)
    events = _events(db, case_id=case.id)
    contacts = [
        ContactRead(kind=c.kind, value=c.value)
        for c in db.scalars(
            select(SuspectContact)
            .where(SuspectContact.case_id == case.id)
            .order_by(SuspectContact.id)
        )
    ]
    returns = read_returns(db, VictimReturn.case_id == case.id)
    return CaseRead(
        **case_summary(case, unit_code, username).model_dump(),
        victim=VictimRead(
            name=case.victim_name,
            id_no=mask_id_no(case.victim_id_no),
            phone=mask_phone(case.victim_phone),
            is_enterprise=case.victim_is_enterprise,
            enterprise_name=case.victim_enterprise_name,
        ),
        narrative=case.narrative,
        totals=_totals(db, case=case, now=now, returns=returns),
        interception=interceptions(db, cases=[case], now=now).get(case.id),
        levels=[LevelRead(level=lvl, accounts=accs) for lvl, accs in sorted(by_level.items())],
        transfers=transfers,
        contacts=contacts,
        instructions=instructions,
        returns=returns,
        events=events,
    )


def _people(db: Session, case: Case) -> tuple[str, str]:
    """The case's unit and its call-taker, each by its own key: the call-taker's own unit
    need not be the case's."""
    unit_code, username = db.execute(
        select(
            select(Unit.code).where(Unit.id == case.unit_id).scalar_subquery(),
            select(User.username).where(User.id == case.call_taker_id).scalar_subquery(),
        )
    ).one()
    return unit_code, username


def _accounts(
    db: Session, *, case: Case, now: dt.datetime, fates: dict[int, AccountFate]
) -> tuple[dict[int, list[AccountRead]], Numbers]:
    """The case's accounts by level, with the other cases they appear in and the holds
    other cases have on them; and the numbers as shown, for the transfers and instructions."""
    accounts = db.execute(
        select(CaseAccount, Account, Institution.code)
        .join(Account, Account.id == CaseAccount.account_id)
        .join(Institution, Institution.id == Account.institution_id)
        .where(CaseAccount.case_id == case.id)
        .order_by(CaseAccount.level, Institution.code, Account.account_no_norm)
    ).all()
    shared = shared_cases(db, [acc.id for _, acc, _ in accounts])
    victims = victim_accounts(db, [acc.id for _, acc, _ in accounts])
    held = held_elsewhere(
        db, [acc.id for link, acc, _ in accounts if link.level > 0], case_id=case.id, now=now
    )
    by_level: dict[int, list[AccountRead]] = defaultdict(list)
    numbers: Numbers = {}
    for link, acc, code in accounts:
        numbers[acc.id] = (code, shown_account_no(acc.account_no, victim=acc.id in victims))
        by_level[link.level].append(
            AccountRead(
                account_id=acc.id,
                institution=code,
                account_no=numbers[acc.id][1],
                holder_name=link.holder_name,
                kind=acc.kind,
                role=link.role,
                masked=acc.id in victims,
                level=link.level,
                shared_with=[n for n in shared.get(acc.id, []) if n != case.case_no],
                held_by=hold_read(*held[acc.id]) if acc.id in held else None,
                fate=fates.get(acc.id),
            )
        )
    return by_level, numbers


def _transfers(db: Session, *, case_id: int, numbers: Numbers) -> list[TransferRead]:
    return [
        TransferRead(
            occurred_at=t.occurred_at,
            amount=t.amount,
            from_account_id=t.from_account_id,
            from_institution=numbers[t.from_account_id][0],
            from_account_no=numbers[t.from_account_id][1],
            to_account_id=t.to_account_id,
            to_institution=numbers[t.to_account_id][0],
            to_account_no=numbers[t.to_account_id][1],
            channel=t.channel,
            reference=t.reference,
            source=t.source,
        )
        for t in db.scalars(
            select(Transfer).where(Transfer.case_id == case_id).order_by(Transfer.occurred_at)
        )
    ]


def _instructions(db: Session, *, case_id: int, numbers: Numbers) -> list[InstructionRead]:
    return [
        instruction_read(
            i, institution_code=code, account_no=numbers[i.account_id][1] if i.account_id else None
        )
        for i, code in db.execute(
            select(Instruction, Institution.code)
            .join(Institution, Institution.id == Instruction.institution_id)
            .where(Instruction.case_id == case_id)
            .order_by(Instruction.id)
        )
    ]


def _events(db: Session, *, case_id: int) -> list[EventRead]:
    actor = aliased(User)
    # Columns, not Event objects: a big case has thousands of events.
    rows = db.execute(
        select(
            Event.occurred_at,
            Event.kind,
            Event.actor_kind,
            actor.username,
            actor.display_name,
            actor.role,
            Event.instruction_id,
            Event.data,
        )
        .join(actor, actor.id == Event.actor_user_id, isouter=True)
        .where(Event.case_id == case_id)
        .order_by(Event.id)
    )
    return [
        EventRead(
            occurred_at=occurred_at,
            kind=kind,
            actor_kind=actor_kind,
            actor=name,
            actor_name=display_name,
            actor_role=role,
            instruction_id=instruction_id,
            data=data,
        )
        for occurred_at, kind, actor_kind, name, display_name, role, instruction_id, data in rows
    ]


def _totals(db: Session, *, case: Case, now: dt.datetime, returns: list[ReturnRead]) -> CaseTotals:
    holds = hold_totals(db, case_id=case.id, now=now)
    completed = [r.amount for r in returns if r.state == ReturnState.completed]
    return CaseTotals(
        lost=case.total_amount,
        stopped=holds.stopped,
        frozen=holds.frozen,
        returned=sum(completed, Decimal("0.00")),
        lapsed=holds.lapsed,
    )
