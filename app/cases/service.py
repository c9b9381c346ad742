"""Cases on file: the institution directory, a report's plan and priority, and the other
cases an account appears in."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import (
    delete,
    select,
)
from sqlalchemy.orm import Session

from app.cases.models import (
    Account,
    Case,
    CaseAccount,
    IdempotencyKey,
    Priority,
)
from app.cases.priority import compute_priority
from app.cases.schemas import CaseCreate
from app.cases.validation import Directory, ResolvedAccount, ResolvedCase, resolve_case
from app.db import among, utcnow
from app.institutions.models import Institution

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
    return case_priority(plan, now=now, known_mules=len(known))


def case_priority(plan: ResolvedCase, *, now: dt.datetime, known_mules: int) -> Priority:
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


def shared_cases(db: Session, account_ids: Iterable[int]) -> dict[int, list[str]]:
    """For each account, the other cases it already appears in (newest first)."""
    rows = db.execute(
        select(CaseAccount.account_id, Case.case_no)
        .join(Case, Case.id == CaseAccount.case_id)
        .where(among(CaseAccount.account_id, account_ids))
        .order_by(Case.id.desc())
    )
    shared: dict[int, list[str]] = defaultdict(list)
    for account_id, case_no in rows:
        shared[account_id].append(case_no)
    return shared


def purge_expired_keys(db: Session, *, now: dt.datetime) -> int:
    """Forget Idempotency-Keys past their time (kept at least 24 h); returns how many."""
    result = db.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at < now))
    return int(getattr(result, "rowcount", 0) or 0)
