"""Case intake: one transaction writes the case, its money trail and its first instructions."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import logs
from app.audit.service import record_event
from app.auth.models import User
from app.casefile.fates import decide
from app.casefile.schemas import AccountRead, CaseCreated
from app.casefile.trail import insert_trail, upsert_accounts
from app.cases.models import (
    CASE_NO_SEQUENCE,
    AccountRole,
    Case,
    CaseStatus,
    Priority,
)
from app.cases.once import Replayed, claim_key
from app.cases.reads import victim_accounts
from app.cases.schemas import CaseCreate
from app.cases.service import case_priority, load_directory, shared_cases
from app.cases.validation import Directory, ResolvedCase, resolve_case
from app.db import utcnow
from app.dispatch.models import Instruction, InstructionKind
from app.dispatch.publish import lane_of
from app.dispatch.reads import hold_read, instruction_read
from app.dispatch.service import InstructionOrder, create_instructions
from app.i18n import msg
from app.institutions.models import InstitutionKind
from app.privacy import shown_account_no
from app.trace.service import held_elsewhere

log = logging.getLogger(__name__)

NATIONAL_PLATFORM = InstitutionKind.national_platform
# The action an intake Idempotency-Key is claimed for, by the API and the form alike.
INTAKE_ACTION = "POST /api/v1/cases"


def _role(level: int) -> str:
    return (AccountRole.victim if level == 0 else AccountRole.suspect).value


def _next_case_no(db: Session, *, now: dt.datetime, zone: ZoneInfo) -> str:
    """ZF-<date>-<serial>. The serial comes from a sequence: it never waits on another intake."""
    serial = db.scalar(select(CASE_NO_SEQUENCE.next_value()))
    return f"ZF-{now.astimezone(zone):%Y%m%d}-{serial:06d}"


@dataclass(frozen=True)
class _Trail:
    """What intake learnt of the case's accounts: their ids, the other cases that share
    them, the suspects' keys (by level), and those another case holds already."""

    ids: dict[tuple[int, str], int]
    shared: dict[int, list[str]]
    suspects: list[tuple[int, str]]
    held: dict[int, tuple[Instruction, str]]
    victims: set[int]  # a victim's own here or in another case: shown masked


def create_case(
    db: Session, *, data: CaseCreate, user: User, zone: ZoneInfo, now: dt.datetime | None = None
) -> tuple[int, CaseCreated]:
    """Write a whole report atomically: nothing here commits, so it lands whole or not at all.

    Returns the new case's id and the answer for the call-taker.
    """
    now = now or utcnow()
    directory = load_directory(db)
    plan = resolve_case(data, directory=directory, now=now, zone=zone)

    account_ids = upsert_accounts(db, plan=plan)
    shared = shared_cases(db, account_ids.values())
    suspect_keys = sorted(
        (k for k in plan.accounts if plan.levels[k] > 0), key=lambda k: (plan.levels[k], k)
    )
    known_mules = sum(1 for k in suspect_keys if shared.get(account_ids[k]))
    priority = case_priority(plan, now=now, known_mules=known_mules)
    case = _add_case(db, data=data, plan=plan, user=user, priority=priority, now=now, zone=zone)
    insert_trail(db, case_id=case.id, data=data, plan=plan, account_ids=account_ids)

    # An account another case already stops or freezes is not stopped twice (scenario 7).
    held = held_elsewhere(db, (account_ids[k] for k in suspect_keys), case_id=None, now=now)
    victims = {i for k, i in account_ids.items() if plan.levels[k] == 0}
    trail = _Trail(account_ids, shared, suspect_keys, held, victims | victim_accounts(db, shared))
    instructions = _first_instructions(db, case=case, plan=plan, directory=directory, trail=trail)
    _record_created(db, case=case, user=user, plan=plan, trail=trail, instructions=instructions)
    db.flush()
    # Counts only: the victim's name, ID number, phone and accounts never go into a log.
    log.info(
        "case received: priority %s, %d account(s), %d transfer(s), %d instruction(s)",
        case.priority,
        len(account_ids),
        len(plan.transfers),
        len(instructions),
    )
    answer = _created(case, plan=plan, directory=directory, trail=trail, instructions=instructions)
    return case.id, answer


def _add_case(
    db: Session,
    *,
    data: CaseCreate,
    plan: ResolvedCase,
    user: User,
    priority: Priority,
    now: dt.datetime,
    zone: ZoneInfo,
) -> Case:
    victim = data.victim
    case = Case(
        case_no=_next_case_no(db, now=now, zone=zone),
        received_at=plan.received_at,
        channel=data.channel.value,
        victim_name=victim.name,
        victim_id_no=plan.victim_id_no,
        victim_phone=plan.victim_phone,
        victim_is_enterprise=victim.is_enterprise,
        victim_enterprise_name=victim.enterprise_name,
        fraud_type=data.fraud_type.value,
        narrative=data.narrative,
        total_amount=plan.total_amount,
        priority=priority.value,
        status=CaseStatus.stopping.value,
        unit_id=user.unit_id,
        call_taker_id=user.id,
    )
    db.add(case)
    db.flush()
    logs.bind(case_no=case.case_no)
    return case


def _first_instructions(
    db: Session, *, case: Case, plan: ResolvedCase, directory: Directory, trail: _Trail
) -> list[Instruction]:
    """A stop-payment for each suspect's account no other case holds, and the register."""
    ids = trail.ids
    lane = {i.id: lane_of(i.kind) for i in directory.by_code.values()}
    orders = [
        InstructionOrder(
            kind=InstructionKind.stop_payment,
            institution_id=key[0],
            account_id=ids[key],
            amount=plan.inflow(key),
            holder_name=plan.accounts[key].holder_name,
            transaction_time=plan.last_inflow_at(key),
            lane=lane[key[0]],
        )
        for key in trail.suspects
        if ids[key] not in trail.held
    ]
    platform = next(i for i in directory.by_code.values() if i.kind == NATIONAL_PLATFORM)
    orders.append(
        InstructionOrder(
            kind=InstructionKind.register,
            institution_id=platform.id,
            amount=plan.total_amount,
            lane=lane[platform.id],
        )
    )
    return create_instructions(db, case_id=case.id, priority=case.priority, orders=orders)


def _record_created(
    db: Session,
    *,
    case: Case,
    user: User,
    plan: ResolvedCase,
    trail: _Trail,
    instructions: list[Instruction],
) -> None:
    record_event(
        db,
        kind="case.created",
        user=user,
        case_id=case.id,
        data={
            "case_no": case.case_no,
            "priority": case.priority,
            "transfers": len(plan.transfers),
            "accounts": len(trail.ids),
            "instructions": [i.id for i in instructions],
        },
    )
    if trail.held:
        record_event(
            db,
            kind="trace.held_by_other_case",
            user=user,
            case_id=case.id,
            data={
                "accounts": [
                    {"account_id": account_id, "case_no": case_no, "instruction_id": hold.id}
                    for account_id, (hold, case_no) in sorted(trail.held.items())
                ]
            },
        )


def _created(
    case: Case,
    *,
    plan: ResolvedCase,
    directory: Directory,
    trail: _Trail,
    instructions: list[Instruction],
) -> CaseCreated:
    """The answer for the call-taker."""
    ids, held = trail.ids, trail.held
    by_id = {i.id: i for i in directory.by_code.values()}
    stops = {i.account_id: i for i in instructions if i.account_id is not None}
    # The answer is what the call-taker typed, but it is stored for Idempotency-Key replays
    # and read by integrators: the victim's own numbers are masked here as everywhere.
    roles = {key: _role(plan.levels[key]) for key in plan.accounts}
    numbers = {
        ids[k]: shown_account_no(a.account_no, victim=ids[k] in trail.victims)
        for k, a in plan.accounts.items()
    }
    accounts = [
        AccountRead(
            account_id=ids[key],
            institution=acc.institution.code,
            account_no=numbers[ids[key]],
            holder_name=acc.holder_name,
            kind=acc.kind,
            role=roles[key],
            level=plan.levels[key],
            masked=ids[key] in trail.victims,
            shared_with=trail.shared.get(ids[key], []),
            held_by=hold_read(*held[ids[key]]) if ids[key] in held else None,
            fate=decide(
                amount_in=plan.inflow(key), own=stops.get(ids[key]), held=held.get(ids[key])
            )
            if plan.levels[key]
            else None,
        )
        for key, acc in sorted(plan.accounts.items(), key=lambda kv: (plan.levels[kv[0]], kv[0]))
    ]
    return CaseCreated(
        case_no=case.case_no,
        priority=Priority(case.priority),
        status=CaseStatus.stopping,
        received_at=case.received_at,
        total_amount=case.total_amount,
        accounts=accounts,
        instructions=[
            instruction_read(
                i,
                institution_code=by_id[i.institution_id].code,
                account_no=numbers.get(i.account_id) if i.account_id else None,
            )
            for i in instructions
        ],
    )


def request_hash(data: CaseCreate) -> str:
    """The body's identity for Idempotency-Key: its canonical JSON, whatever the formatting."""
    return hashlib.sha256(data.model_dump_json(by_alias=True).encode()).hexdigest()


def submit_case(
    db: Session,
    *,
    data: CaseCreate,
    user: User,
    zone: ZoneInfo,
    idempotency_key: str | None,
    ttl: dt.timedelta,
) -> tuple[CaseCreated | dict[str, object], bool]:
    """Create the case, or replay the first answer to the same key and body.

    Returns (answer, replayed). The key is claimed in this transaction (`claim_key`, as every
    repeatable action's), so a concurrent duplicate waits for the first to commit and then
    replays it; a failed first attempt rolls back and frees the key. The API and the form
    claim the same action: a report is one, however it came.
    """
    if idempotency_key is None:
        return create_case(db, data=data, user=user, zone=zone)[1], False
    try:
        claim = claim_key(
            db,
            user_id=user.id,
            key=idempotency_key,
            action=INTAKE_ACTION,
            digest=request_hash(data),
            ttl_s=int(ttl.total_seconds()),
            mismatch=msg("case.idempotency_mismatch"),
        )
    except Replayed as first:
        logs.bind(case_no=first.body.get("case_no"))
        log.info("case replayed for a repeated Idempotency-Key")
        return first.body, True
    case_id, created = create_case(db, data=data, user=user, zone=zone)
    claim.keep(created.model_dump(mode="json"), status_code=201, case_id=case_id)
    return created, False
