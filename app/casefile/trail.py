"""The case's money trail as rows: its accounts (shared across cases), the case's links to
them, its transfers and the suspects' contacts."""

from __future__ import annotations

from sqlalchemy import select, tuple_, update
from sqlalchemy.orm import Session

from app.cases.models import (
    Account,
    AccountRole,
    CaseAccount,
    SuspectContact,
    Transfer,
    TransferSource,
)
from app.cases.schemas import CaseCreate
from app.cases.validation import ResolvedCase
from app.db import insert_rows, unnest_insert


def upsert_accounts(db: Session, *, plan: ResolvedCase) -> dict[tuple[int, str], int]:
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


def insert_trail(
    db: Session,
    *,
    case_id: int,
    data: CaseCreate,
    plan: ResolvedCase,
    account_ids: dict[tuple[int, str], int],
) -> None:
    """The case's accounts, transfers and contacts."""
    # Plain multi-row INSERTs: these rows are not needed as objects afterwards.
    insert_rows(
        db,
        CaseAccount,
        [
            {
                "case_id": case_id,
                "account_id": account_id,
                "role": (
                    AccountRole.victim if plan.levels[key] == 0 else AccountRole.suspect
                ).value,
                "level": plan.levels[key],
                "holder_name": plan.accounts[key].holder_name,
            }
            for key, account_id in account_ids.items()
        ],
    )
    insert_rows(
        db,
        Transfer,
        [
            {
                "case_id": case_id,
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
        [{"case_id": case_id, "kind": c.kind.value, "value": c.value} for c in data.contacts],
    )
