"""Case intake: one transaction writes the case, its money trail and its first instructions."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from zoneinfo import ZoneInfo

from sqlalchemy import (
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app import logs
from app.audit.service import record_event
from app.auth.models import User
from app.casefile.schemas import AccountRead, CaseCreated
from app.cases.models import (
    CASE_NO_SEQUENCE,
    Account,
    AccountRole,
    Case,
    CaseAccount,
    CaseStatus,
    IdempotencyKey,
    SuspectContact,
    Transfer,
    TransferSource,
)
from app.cases.schemas import CaseCreate
from app.cases.service import case_priority, load_directory, shared_cases
from app.cases.validation import ResolvedCase, resolve_case
from app.db import insert_rows, unnest_insert, utcnow
from app.dispatch.models import InstructionKind
from app.dispatch.publish import lane_of
from app.dispatch.reads import hold_read, instruction_read
from app.dispatch.service import InstructionOrder, create_instructions
from app.errors import Invalid
from app.i18n import Message
from app.institutions.models import InstitutionKind
from app.privacy import shown_account_no
from app.trace.service import held_elsewhere

log = logging.getLogger(__name__)

NATIONAL_PLATFORM = InstitutionKind.national_platform


def _upsert_accounts(db: Session, plan: ResolvedCase) -> dict[tuple[int, str], int]:
    """One row per account across all cases; returns their ids by (institution, number).

    New accounts are inserted; known ones are only read (no row is rewritten or locked, so
    intakes sharing a mule account do not wait for each other). A holder name learnt now
    fills a gap on file; a name already on file is kept.
    """
    accounts = sorted(plan.accounts.values(), key=lambda a: a.key)
    values = [
        {
            "institution_id": a.institution.id,
            "account_no": a.account_no,
            "account_no_norm": a.norm,
            "holder_name": a.holder_name,
            "kind": a.kind.value,
        }
        for a in accounts
    ]
    inserted = db.execute(
        unnest_insert(Account, values)
        .on_conflict_do_nothing(index_elements=[Account.institution_id, Account.account_no_norm])
        .returning(Account.id, Account.institution_id, Account.account_no_norm)
    )
    ids = {(r.institution_id, r.account_no_norm): r.id for r in inserted}
    known = [a.key for a in accounts if a.key not in ids]
    if known:
        rows = db.execute(
            select(
                Account.id, Account.institution_id, Account.account_no_norm, Account.holder_name
            ).where(tuple_(Account.institution_id, Account.account_no_norm).in_(known))
        ).all()
        for row in rows:
            ids[(row.institution_id, row.account_no_norm)] = row.id
            learnt = plan.accounts[(row.institution_id, row.account_no_norm)].holder_name
            if row.holder_name is None and learnt:
                db.execute(
                    update(Account)
                    .where(Account.id == row.id, Account.holder_name.is_(None))
                    .values(holder_name=learnt)
                )
    return ids


def _role(level: int) -> str:
    return (AccountRole.victim if level == 0 else AccountRole.suspect).value


def _next_case_no(db: Session, *, now: dt.datetime, zone: ZoneInfo) -> str:
    """ZF-<date>-<serial>. The serial comes from a sequence: it never waits on another intake."""
    serial = db.scalar(select(CASE_NO_SEQUENCE.next_value()))
    return f"ZF-{now.astimezone(zone):%Y%m%d}-{serial:06d}"


def create_case(
    db: Session, *, data: CaseCreate, user: User, zone: ZoneInfo, now: dt.datetime | None = None
) -> tuple[int, CaseCreated]:
    """Write a whole report atomically: nothing here commits, so it lands whole or not at all.

    Returns the new case's id and the answer for the call-taker.
    """
    now = now or utcnow()
    directory = load_directory(db)
    plan = resolve_case(data, directory=directory, now=now, zone=zone)

    account_ids = _upsert_accounts(db, plan)
    shared = shared_cases(db, account_ids.values())
    suspect_keys = sorted(
        (k for k in plan.accounts if plan.levels[k] > 0), key=lambda k: (plan.levels[k], k)
    )
    known_mules = sum(1 for k in suspect_keys if shared.get(account_ids[k]))
    priority = case_priority(plan, now=now, known_mules=known_mules)

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

    # Plain multi-row INSERTs: these rows are not needed as objects afterwards.
    insert_rows(
        db,
        CaseAccount,
        [
            {
                "case_id": case.id,
                "account_id": account_id,
                "role": (
                    AccountRole.victim if plan.levels[key] == 0 else AccountRole.suspect
                ).value,
                "level": plan.levels[key],
            }
            for key, account_id in account_ids.items()
        ],
    )
    insert_rows(
        db,
        Transfer,
        [
            {
                "case_id": case.id,
                "from_account_id": account_ids[t.from_.key],
                "to_account_id": account_ids[t.to.key],
                "amount": t.amount,
                "occurred_at": t.occurred_at,
                "reference": data.transfers[t.index].reference,
                "channel": data.transfers[t.index].channel.value,
                "source": TransferSource.reported.value,
            }
            for t in plan.transfers
        ],
    )
    insert_rows(
        db,
        SuspectContact,
        [{"case_id": case.id, "kind": c.kind.value, "value": c.value} for c in data.contacts],
    )

    # An account another case already stops or freezes is not stopped twice (scenario 7).
    held = held_elsewhere(db, (account_ids[k] for k in suspect_keys), case_id=None, now=now)
    lane = {i.id: lane_of(i.kind) for i in directory.by_code.values()}
    orders = [
        InstructionOrder(
            kind=InstructionKind.stop_payment,
            institution_id=key[0],
            account_id=account_ids[key],
            amount=plan.inflow(key),
            holder_name=plan.accounts[key].holder_name,
            transaction_time=plan.last_inflow_at(key),
            lane=lane[key[0]],
        )
        for key in suspect_keys
        if account_ids[key] not in held
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
    instructions = create_instructions(db, case_id=case.id, priority=case.priority, orders=orders)
    record_event(
        db,
        kind="case.created",
        user=user,
        case_id=case.id,
        data={
            "case_no": case.case_no,
            "priority": case.priority,
            "transfers": len(plan.transfers),
            "accounts": len(account_ids),
            "instructions": [i.id for i in instructions],
        },
    )
    if held:
        record_event(
            db,
            kind="trace.held_by_other_case",
            user=user,
            case_id=case.id,
            data={
                "accounts": [
                    {"account_id": account_id, "case_no": case_no, "instruction_id": hold.id}
                    for account_id, (hold, case_no) in sorted(held.items())
                ]
            },
        )
    db.flush()
    # Counts only: the victim's name, ID number, phone and accounts never go into a log.
    log.info(
        "case received: priority %s, %d account(s), %d transfer(s), %d instruction(s)",
        case.priority,
        len(account_ids),
        len(plan.transfers),
        len(instructions),
    )

    by_id = {i.id: i for i in directory.by_code.values()}
    # The answer is what the call-taker typed, but it is stored for Idempotency-Key replays
    # and read by integrators: the victim's own numbers are masked here as everywhere.
    roles = {key: _role(plan.levels[key]) for key in plan.accounts}
    numbers = {
        account_ids[k]: shown_account_no(a.account_no, role=roles[k])
        for k, a in plan.accounts.items()
    }
    accounts = [
        AccountRead(
            account_id=account_ids[key],
            institution=acc.institution.code,
            account_no=numbers[account_ids[key]],
            holder_name=acc.holder_name,
            kind=acc.kind,
            role=roles[key],
            level=plan.levels[key],
            shared_with=shared.get(account_ids[key], []),
            held_by=hold_read(*held[account_ids[key]]) if account_ids[key] in held else None,
        )
        for key, acc in sorted(plan.accounts.items(), key=lambda kv: (plan.levels[kv[0]], kv[0]))
    ]
    return case.id, CaseCreated(
        case_no=case.case_no,
        priority=priority,
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
    mismatch_message: Message,
) -> tuple[CaseCreated | dict[str, object], bool]:
    """Create the case, or replay the first answer to the same key and body.

    Returns (answer, replayed). The key row is claimed in this transaction, so a concurrent
    duplicate waits for the first to commit and then replays it; a failed first attempt
    rolls back and frees the key.
    """
    if idempotency_key is None:
        return create_case(db, data=data, user=user, zone=zone)[1], False
    digest = request_hash(data)
    now = utcnow()
    claim = (
        pg_insert(IdempotencyKey)
        .values(user_id=user.id, key=idempotency_key, request_hash=digest, expires_at=now + ttl)
        .on_conflict_do_nothing(index_elements=[IdempotencyKey.user_id, IdempotencyKey.key])
        .returning(IdempotencyKey.id)
    )
    claimed = db.execute(claim).scalar_one_or_none()
    if claimed is None:
        row = db.execute(
            select(IdempotencyKey).where(
                IdempotencyKey.user_id == user.id, IdempotencyKey.key == idempotency_key
            )
        ).scalar_one()
        if row.request_hash != digest or row.response_body is None:
            raise Invalid(
                mismatch_message,
                errors=[
                    {
                        "field": "Idempotency-Key",
                        "message": mismatch_message,
                        "type": "idempotency_mismatch",
                    }
                ],
            )
        logs.bind(case_no=row.response_body.get("case_no"))
        log.info("case replayed for a repeated Idempotency-Key")
        return row.response_body, True
    case_id, created = create_case(db, data=data, user=user, zone=zone, now=now)
    row = db.get_one(IdempotencyKey, claimed)
    row.case_id = case_id
    row.response_status = 201
    row.response_body = created.model_dump(mode="json")
    return created, False
