"""Case intake: one transaction writes the case, its money trail and its first instructions."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    DateTime,
    bindparam,
    delete,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import Executable

from app import logs
from app.audit.service import record_event
from app.auth.models import User
from app.cases.models import (
    CASE_NO_SEQUENCE,
    Account,
    AccountRole,
    Case,
    CaseAccount,
    CaseStatus,
    IdempotencyKey,
    Priority,
    SuspectContact,
    Transfer,
    TransferSource,
)
from app.cases.priority import compute_priority
from app.cases.schemas import AccountRead, CaseCreate, CaseCreated, HoldRead, InstructionRead
from app.cases.validation import Directory, ResolvedAccount, ResolvedCase, resolve_case
from app.db import insert_rows, unnest_insert, utcnow
from app.dispatch.models import Instruction, InstructionKind, InstructionState, Outcome
from app.dispatch.publish import lane_of
from app.dispatch.service import InstructionOrder, create_instructions
from app.errors import Invalid
from app.institutions.models import Institution, InstitutionKind
from app.legal.models import ReturnState, VictimReturn
from app.legal.service import in_force
from app.privacy import shown_account_no
from app.trace.service import held_elsewhere

log = logging.getLogger(__name__)

NATIONAL_PLATFORM = InstitutionKind.national_platform


DIRECTORY_TTL_S = 30.0
_directories: dict[str, tuple[float, Directory]] = {}


def load_directory(db: Session) -> Directory:
    """The active institutions, cached per database for half a minute (they rarely change)."""
    key = str(db.get_bind().engine.url)
    cached = _directories.get(key)
    if cached is not None and time.monotonic() - cached[0] < DIRECTORY_TTL_S:
        return cached[1]
    directory = Directory(list(db.scalars(select(Institution).where(Institution.is_active))))
    _directories[key] = (time.monotonic(), directory)
    return directory


def plan_case(
    db: Session, *, data: CaseCreate, zone: ZoneInfo, now: dt.datetime | None = None
) -> ResolvedCase:
    """Every intake rule, without writing anything (raises CaseInvalid)."""
    return resolve_case(data, directory=load_directory(db), now=now or utcnow(), zone=zone)


def preview_priority(db: Session, *, plan: ResolvedCase, now: dt.datetime) -> Priority:
    """The priority the case would get, judged against the accounts already on file."""
    suspects = [a for key, a in plan.accounts.items() if plan.levels[key] > 0]
    known = _known_accounts(db, suspects)
    return _priority(plan, now=now, known_mules=len(known))


def _priority(plan: ResolvedCase, *, now: dt.datetime, known_mules: int) -> Priority:
    minutes = (now - plan.last_transfer_at).total_seconds() / 60
    return compute_priority(
        total=plan.total_amount,
        is_enterprise=plan.data.victim.is_enterprise,
        minutes_since_last_transfer=max(minutes, 0.0),
        known_mule_accounts=known_mules,
    )


def _known_accounts(db: Session, accounts: Iterable[ResolvedAccount]) -> set[tuple[int, str]]:
    pairs = [a.key for a in accounts]
    if not pairs:
        return set()
    rows = db.execute(
        select(Account.institution_id, Account.account_no_norm)
        .join(CaseAccount, CaseAccount.account_id == Account.id)
        .where(Account.institution_id.in_({p[0] for p in pairs}))
        .where(Account.account_no_norm.in_({p[1] for p in pairs}))
    )
    return {(r[0], r[1]) for r in rows} & set(pairs)


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


def shared_cases(db: Session, account_ids: Iterable[int]) -> dict[int, list[str]]:
    """For each account, the other cases it already appears in (newest first)."""
    rows = db.execute(
        select(CaseAccount.account_id, Case.case_no)
        .join(Case, Case.id == CaseAccount.case_id)
        .where(CaseAccount.account_id.in_(list(account_ids)))
        .order_by(Case.id.desc())
    )
    shared: dict[int, list[str]] = defaultdict(list)
    for account_id, case_no in rows:
        shared[account_id].append(case_no)
    return shared


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
    priority = _priority(plan, now=now, known_mules=known_mules)

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


def hold_read(instruction: Instruction, case_no: str) -> HoldRead:
    return HoldRead(
        case_no=case_no,
        instruction_id=instruction.id,
        kind=InstructionKind(instruction.kind),
        state=InstructionState(instruction.state),
        outcome=Outcome(instruction.outcome) if instruction.outcome else None,
        amount_requested=instruction.amount_requested,
        amount_stopped=instruction.amount_stopped,
        expires_at=instruction.expires_at,
    )


def _ms(start: dt.datetime | None, end: dt.datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return int((end - start).total_seconds() * 1000)


def instruction_read(
    instruction: Instruction, *, institution_code: str, account_no: str | None
) -> InstructionRead:
    i = instruction
    return InstructionRead(
        id=i.id,
        kind=i.kind,
        state=i.state,
        outcome=i.outcome,
        institution=institution_code,
        account_no=account_no,
        amount_requested=i.amount_requested,
        amount_stopped=i.amount_stopped,
        balance=i.balance,
        mismatch_field=i.mismatch_field,
        institution_ref=i.institution_ref,
        attempts=i.attempts,
        last_error=i.last_error,
        created_at=i.created_at,
        first_attempt_at=i.first_attempt_at,
        acked_at=i.acked_at,
        completed_at=i.completed_at,
        effective_at=i.effective_at,
        expires_at=i.expires_at,
        escalated_at=i.escalated_at,
        released_at=i.released_at,
        parent_id=i.parent_id,
        document_no=i.document_no,
        document_id=i.document_id,
        dispatch_delay_ms=_ms(i.created_at, i.first_attempt_at),
        ack_ms=_ms(i.created_at, i.acked_at),
        completion_ms=_ms(i.created_at, i.completed_at),
    )


def read_back(db: Session, instruction: Instruction) -> InstructionRead:
    """An instruction just made in this request, as the API shows it."""
    db.flush()
    db.refresh(instruction)
    code, number, role = db.execute(
        select(Institution.code, Account.account_no, CaseAccount.role)
        .select_from(Institution)
        .join(Account, Account.id == instruction.account_id, isouter=True)
        .join(
            CaseAccount,
            (CaseAccount.account_id == Account.id) & (CaseAccount.case_id == instruction.case_id),
            isouter=True,
        )
        .where(Institution.id == instruction.institution_id)
    ).one()
    if number is not None:
        number = shown_account_no(number, role=role)
    return instruction_read(instruction, institution_code=code, account_no=number)


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
    mismatch_message: str,
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


def purge_expired_keys(db: Session, *, now: dt.datetime) -> int:
    """Forget Idempotency-Keys past their time (kept at least 24 h); returns how many."""
    result = db.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at < now))
    return int(getattr(result, "rowcount", 0) or 0)


@cache
def _rollup_counts() -> Executable:
    """The counts a case's status follows from, in one row (p_case_id, p_now).

    Built once: every callback rolls its case up, and building this statement cost the API
    more than running it. Counted by the database: reading every stop-payment back for each
    callback would cost O(n²) for an n-account case.
    """
    case_id = bindparam("p_case_id", type_=BigInteger)
    now = bindparam("p_now", type_=DateTime(timezone=True))
    # A stop-payment corrected and resent (or renewed) counts through its replacement only:
    # a stop-payment whose parent is about the same account. (The next level's stop-payments
    # and queries have parents too, about other accounts or of another kind.)
    parent = aliased(Instruction)
    replaced = (
        select(Instruction.parent_id)
        .join(parent, parent.id == Instruction.parent_id)
        .where(
            Instruction.case_id == case_id,
            Instruction.kind == InstructionKind.stop_payment.value,
            Instruction.account_id == parent.account_id,
        )
    )
    is_stop = Instruction.kind == InstructionKind.stop_payment.value
    is_freeze = Instruction.kind == InstructionKind.freeze.value
    is_open = Instruction.state.in_(
        [
            s.value
            for s in (InstructionState.pending, InstructionState.sent, InstructionState.escalated)
        ]
    )
    returns = select(func.count()).where(VictimReturn.case_id == case_id)
    return select(
        func.count().filter(is_stop),
        func.count().filter(is_stop, is_open),
        func.count().filter(is_stop, Instruction.outcome == Outcome.stopped_full.value),
        func.count().filter(is_stop, Instruction.amount_stopped > 0),
        func.count().filter(is_freeze, is_open),
        func.count().filter(is_freeze, in_force(now)),
        returns.scalar_subquery(),
        returns.where(VictimReturn.state == ReturnState.confirmed.value).scalar_subquery(),
    ).where(
        Instruction.case_id == case_id,
        Instruction.kind.in_([InstructionKind.stop_payment.value, InstructionKind.freeze.value]),
        Instruction.id.not_in(replaced),
    )


def rollup_status(db: Session, *, case_id: int, now: dt.datetime | None = None) -> None:
    """The case's status from its instructions and returns.

    stopping → stopped / partly stopped / nothing stopped, from the stop-payments' outcomes;
    then freezing (a freeze under way) → frozen (a freeze in force); returning (returns
    confirmed) → closed (every return paid, and every account the case froze returned from).
    """
    now = now or utcnow()
    # FOR NO KEY UPDATE: it queues concurrent roll-ups of one case, but does not conflict
    # with the KEY SHARE locks that inserting this transaction's events already took on the
    # case row (FOR UPDATE would, and two callbacks of one case would deadlock upgrading).
    case = db.get_one(Case, case_id, with_for_update={"key_share": True})
    if case.status == CaseStatus.closed:
        return
    params = {"p_case_id": case_id, "p_now": now}
    counts = db.connection().execute(_rollup_counts(), params).one()
    total, still_open, full, some, freezing, frozen, returned, unpaid = counts
    if returned:
        paid_all = not unpaid and not _frozen_not_returned(db, case_id=case_id, now=now)
        status = CaseStatus.closed if paid_all else CaseStatus.returning
    elif freezing:
        status = CaseStatus.freezing
    elif frozen:
        status = CaseStatus.frozen
    elif not total or still_open:
        status = CaseStatus.stopping
    elif full == total:
        status = CaseStatus.stopped
    elif some:
        status = CaseStatus.partly_stopped
    else:
        status = CaseStatus.nothing_stopped
    if case.status != status:
        record_event(
            db,
            kind="case.status_changed",
            case_id=case.id,
            data={"from": case.status, "to": status.value},
        )
        case.status = status.value


def _frozen_not_returned(db: Session, *, case_id: int, now: dt.datetime) -> bool:
    """Whether the case has a freeze in force on an account nothing was returned from yet."""
    returned_from = select(VictimReturn.account_id).where(VictimReturn.case_id == case_id)
    return bool(
        db.scalar(
            select(
                select(Instruction.id)
                .where(
                    Instruction.case_id == case_id,
                    Instruction.kind == InstructionKind.freeze.value,
                    in_force(now),
                    Instruction.account_id.not_in(returned_from),
                )
                .exists()
            )
        )
    )
