"""Following the money: onward transfers an institution reports become the next level's
stop-payments, in the same transaction as the outcome that reported them.

A branch ends at the configured depth, below the configured amount, at a cash-out, or at an
account another case already holds. An account gets one stop-payment per case: money from a
second branch is added to it while it is still waiting to be sent, and noted on the case
(`trace.merged_after_send`) once it has gone.

Here the report is recorded: the accounts it names join the case a level below the source,
with the transfers into them. What is stopped there is `app.trace.next_level`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.audit.service import record_event
from app.auth.models import User
from app.cases.models import (
    Account,
    AccountKind,
    AccountRole,
    Case,
    CaseAccount,
    Transfer,
    TransferChannel,
    TransferSource,
)
from app.cases.validation import ascii_digits, normalise_account_no
from app.dispatch.models import Instruction
from app.institutions.models import Institution, InstitutionKind
from app.trace.next_level import stop_next_level
from app.trace.service import Onward, TraceRules

# An account as the report names it: (institution id, normalised number).
Key = tuple[int, str]


def follow_onward(
    db: Session,
    *,
    source: Instruction,
    onward: list[Onward],
    cashed_out: Decimal | None,
    source_kind: TransferSource,
    now: dt.datetime,
    rules: TraceRules,
    user: User | None = None,
) -> list[Instruction]:
    """Record where money went from `source`'s account and stop it at the next level.

    Returns the stop-payments created. Safe to run again with the same report: known
    transfers are not recorded twice and an account is never stopped twice in one case.
    """
    if source.account_id is None or (not onward and not cashed_out):
        return []
    # One follow at a time per case: two branches reaching one account see each other.
    case = db.get_one(Case, source.case_id, with_for_update={"key_share": True})
    if cashed_out:
        record_event(
            db,
            kind="trace.cashed_out",
            user=user,
            case_id=case.id,
            instruction_id=source.id,
            data={"amount": str(cashed_out)},
        )
    if not onward:
        return []
    next_level = _level_of(db, case_id=case.id, account_id=source.account_id) + 1
    institutions = _institutions(db, case=case, source=source, onward=onward, user=user)
    ids = _accounts_reached(db, source=source, onward=onward, institutions=institutions)
    if not ids:
        return []
    reached = _reached(onward, ids=ids, institutions=institutions)
    _add_to_case(db, case_id=case.id, reached=reached, level=next_level)
    _record_transfers(
        db,
        case_id=case.id,
        source=source,
        onward=onward,
        ids=ids,
        institutions=institutions,
        source_kind=source_kind,
    )
    return stop_next_level(
        db,
        case=case,
        source=source,
        reached=reached,
        institutions=institutions,
        now=now,
        rules=rules,
        user=user,
    )


def _level_of(db: Session, *, case_id: int, account_id: int) -> int:
    level = db.scalar(
        select(CaseAccount.level).where(
            CaseAccount.case_id == case_id, CaseAccount.account_id == account_id
        )
    )
    return level or 0


def _institutions(
    db: Session, *, case: Case, source: Instruction, onward: list[Onward], user: User | None
) -> dict[str, Institution]:
    """The institutions the report names, by code; codes the directory lacks noted on the case."""
    institutions = {
        i.code: i
        for i in db.scalars(
            select(Institution).where(Institution.code.in_({o.institution for o in onward}))
        )
    }
    unknown = sorted({o.institution for o in onward} - set(institutions))
    if unknown:
        record_event(
            db,
            kind="trace.unknown_institution",
            user=user,
            case_id=case.id,
            instruction_id=source.id,
            data={"institutions": unknown},
        )
    return institutions


def _accounts_reached(
    db: Session, *, source: Instruction, onward: list[Onward], institutions: dict[str, Institution]
) -> dict[Key, int]:
    """Account ids of the accounts the money went to (not back to the source's own)."""
    wanted: dict[Key, tuple[Institution, Onward]] = {}
    for o in onward:
        institution = institutions.get(o.institution)
        norm = normalise_account_no(o.account_no)
        if institution is not None and norm:
            wanted.setdefault((institution.id, norm), (institution, o))
    ids = _upsert_accounts(db, wanted)
    return {key: account_id for key, account_id in ids.items() if account_id != source.account_id}


def _account_kind(institution: Institution, norm: str) -> AccountKind:
    if institution.kind == InstitutionKind.bank.value:
        return AccountKind.bank_card if ascii_digits(norm) else AccountKind.bank_account
    return AccountKind.payment_account


def _upsert_accounts(db: Session, wanted: dict[Key, tuple[Institution, Onward]]) -> dict[Key, int]:
    """Account ids by (institution id, normalised number), inserting the new ones."""
    keys = sorted(wanted)
    for institution_id, norm in keys:
        institution, onward = wanted[(institution_id, norm)]
        db.execute(
            pg_insert(Account)
            .values(
                institution_id=institution_id,
                account_no=onward.account_no,
                account_no_norm=norm,
                holder_name=onward.holder_name,
                kind=_account_kind(institution, norm).value,
            )
            .on_conflict_do_nothing(
                index_elements=[Account.institution_id, Account.account_no_norm]
            )
        )
    rows = db.execute(
        select(Account.id, Account.institution_id, Account.account_no_norm).where(
            tuple_(Account.institution_id, Account.account_no_norm).in_(keys)
        )
    )
    return {(r.institution_id, r.account_no_norm): r.id for r in rows}


def _add_to_case(db: Session, *, case_id: int, reached: dict[int, Onward], level: int) -> None:
    """The accounts join the case as suspects at `level`, with the holder name the bank gave
    this case, unless they are in it already (a name it lacked is learnt then)."""
    insert = pg_insert(CaseAccount).values(
        [
            {
                "case_id": case_id,
                "account_id": account_id,
                "role": AccountRole.suspect.value,
                "level": level,
                "holder_name": reached[account_id].holder_name,
            }
            for account_id in sorted(reached)
        ]
    )
    db.execute(
        insert.on_conflict_do_update(
            index_elements=[CaseAccount.case_id, CaseAccount.account_id],
            set_={"holder_name": insert.excluded.holder_name},
            where=CaseAccount.holder_name.is_(None),
        )
    )


def _key(o: Onward, institutions: dict[str, Institution]) -> Key | None:
    institution = institutions.get(o.institution)
    if institution is None:
        return None
    return (institution.id, normalise_account_no(o.account_no))


def _record_transfers(
    db: Session,
    *,
    case_id: int,
    source: Instruction,
    onward: list[Onward],
    ids: dict[Key, int],
    institutions: dict[str, Institution],
    source_kind: TransferSource,
) -> None:
    """Transfer edges from the source account, each once however often it is reported."""
    known = {
        (t.to_account_id, t.amount, t.occurred_at)
        for t in db.execute(
            select(Transfer.to_account_id, Transfer.amount, Transfer.occurred_at).where(
                Transfer.case_id == case_id, Transfer.from_account_id == source.account_id
            )
        )
    }
    for o in onward:
        key = _key(o, institutions)
        to_id = ids.get(key) if key else None
        if to_id is None or (to_id, o.amount, o.occurred_at) in known:
            continue
        known.add((to_id, o.amount, o.occurred_at))
        db.add(
            Transfer(
                case_id=case_id,
                from_account_id=source.account_id,
                to_account_id=to_id,
                amount=o.amount,
                occurred_at=o.occurred_at,
                reference=o.reference,
                channel=TransferChannel.other.value,
                source=source_kind.value,
            )
        )
    db.flush()


def _reached(
    onward: list[Onward], *, ids: dict[Key, int], institutions: dict[str, Institution]
) -> dict[int, Onward]:
    """Each account's transfer in the report (its last): the name and time to match."""
    latest: dict[int, Onward] = {}
    for o in onward:
        key = _key(o, institutions)
        if key in ids:
            latest[ids[key]] = o
    return latest
