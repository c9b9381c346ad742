"""The dashboard's figures: each panel one or a few set-based queries, never a loop per case.

Every query is limited to the cases the supervisor's unit may see (its own and those under
it; the municipal centre sees all), as the case list is.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Select, case, extract, func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.service import unit_subtree
from app.callbacks.refusals import refused_counts
from app.casefile.reach import interceptions
from app.cases.models import Account, Case, CaseAccount, Priority
from app.dashboard import figures
from app.dashboard.holds import first_stops
from app.dashboard.schemas import CompletionPoint, Overview, Queue, QueueItem
from app.dispatch.models import Instruction
from app.institutions.models import Institution
from app.legal.holds import held_sums
from app.legal.models import ReturnState, VictimReturn

ZERO = Decimal("0.00")
PRIORITY_RANK = case(
    {p.value: rank for rank, p in enumerate(Priority)}, value=Case.priority, else_=len(Priority)
)


AnySelect = TypeVar("AnySelect", bound=Select[*tuple[Any, ...]])


def visible(user: User) -> Any:
    """The condition on Case for the cases the user's unit may see."""
    return Case.unit_id.in_(unit_subtree(user.unit_id))


def with_account(query: AnySelect) -> AnySelect:
    """`query` over Instruction, with its account (number) and that account's link to the
    instruction's case (role, level) outer-joined: a registration has no account."""
    return query.join(Account, Account.id == Instruction.account_id, isouter=True).join(
        CaseAccount,
        (CaseAccount.account_id == Instruction.account_id)
        & (CaseAccount.case_id == Instruction.case_id),
        isouter=True,
    )


def day_start(now: dt.datetime, timezone: str) -> dt.datetime:
    """Midnight of `now`'s day in the centre's time zone."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def overview(db: Session, *, user: User, now: dt.datetime, timezone: str) -> Overview:
    start = day_start(now, timezone)
    today: Select[int] = select(Case.id).where(Case.received_at >= start, visible(user))
    cases, lost = db.execute(
        select(func.count(), func.coalesce(func.sum(Case.total_amount), ZERO)).where(
            Case.id.in_(today)
        )
    ).one()
    held = held_sums(today, now=now).subquery()
    stopped, frozen = db.execute(
        select(
            func.coalesce(func.sum(held.c.stopped), ZERO),
            func.coalesce(func.sum(held.c.frozen), ZERO),
        )
    ).one()
    returned = db.scalar(
        select(func.coalesce(func.sum(VictimReturn.amount), ZERO)).where(
            VictimReturn.case_id.in_(today), VictimReturn.state == ReturnState.completed.value
        )
    )
    first = first_stops(today).subquery()
    median = db.scalar(
        select(
            func.percentile_cont(0.5).within_group(
                extract("epoch", first.c.first_stop_at - Case.received_at)
            )
        )
        .select_from(first)
        .join(Case, Case.id == first.c.case_id)
    )
    in_flight, escalated = db.execute(figures.instruction_counts(visible(user))).one()
    return Overview(
        day=start.date(),
        cases_received=cases,
        cases_open=db.scalar(figures.open_cases(visible(user))) or 0,
        instructions_in_flight=in_flight,
        escalations_open=escalated,
        lost=Decimal(lost),
        stopped=Decimal(stopped),
        frozen=Decimal(frozen),
        returned=Decimal(returned or 0),
        first_stop_p50_s=None if median is None else round(float(median), 1),
        refused_callbacks=sum(refused_counts(db, since=start).values()),
    )


def _open_cases(user: User) -> Select[Any]:
    return select(Case).where(figures.open_case(), visible(user))


def queue(db: Session, *, user: User, now: dt.datetime, limit: int) -> Queue:
    """Open cases by priority, then the oldest call first."""
    total = db.scalar(figures.open_cases(visible(user))) or 0
    rows = list(
        db.scalars(
            _open_cases(user).order_by(PRIORITY_RANK, Case.received_at, Case.id).limit(limit)
        )
    )
    ids: Select[int] = select(Case.id).where(Case.id.in_([c.id for c in rows]))
    held = {r.case_id: r.stopped + r.frozen for r in db.execute(held_sums(ids, now=now))}
    first = dict(db.execute(first_stops(ids)).all())
    counts = {
        case_id: (flying, escalated)
        for case_id, flying, escalated in db.execute(figures.instruction_counts_by_case(ids))
    }
    shared = dict(db.execute(_shared_accounts(ids)).all())
    figures_of = interceptions(db, cases=rows, now=now, held=held)
    items = []
    for c in rows:
        first_at = first.get(c.id)
        in_flight, escalated = counts.get(c.id, (0, 0))
        items.append(
            QueueItem(
                case_no=c.case_no,
                priority=c.priority,
                status=c.status,
                fraud_type=c.fraud_type,
                victim_name=c.victim_name,
                received_at=c.received_at,
                since_call_s=figures.since_call_s(c.received_at, now),
                first_stop_s=None
                if first_at is None
                else round((first_at - c.received_at).total_seconds(), 1),
                lost=c.total_amount,
                held=Decimal(held.get(c.id, ZERO)),
                interception=figures_of.get(c.id),
                instructions_in_flight=in_flight,
                escalated=escalated,
                shared_accounts=shared.get(c.id, 0),
            )
        )
    return Queue(total=total, items=items)


def _shared_accounts(case_ids: Select[int]) -> Select[int, int]:
    """Per case: how many of its suspect accounts appear in another case too."""
    mine = CaseAccount.__table__.alias("mine")
    theirs = CaseAccount.__table__.alias("theirs")
    return (
        select(mine.c.case_id, func.count(func.distinct(mine.c.account_id)))
        .join(
            theirs,
            (theirs.c.account_id == mine.c.account_id) & (theirs.c.case_id != mine.c.case_id),
        )
        .where(mine.c.case_id.in_(case_ids), mine.c.level > 0)
        .group_by(mine.c.case_id)
    )


# The windows the chart offers, each with its bucket (about 24-30 points across).
WINDOWS = {1: 2, 2: 5, 6: 15, 12: 30, 24: 60, 48: 120}


def completion_window(db: Session, *, user: User, now: dt.datetime) -> int:
    """The smallest window (hours) holding every instruction completed in the last 48 h, so
    a quiet hour is not drawn across a nearly empty six; 6 when there is none."""
    oldest = db.scalar(
        select(func.min(Instruction.created_at))
        .join(Case, Case.id == Instruction.case_id)
        .where(
            Instruction.created_at >= now - dt.timedelta(hours=max(WINDOWS)),
            Instruction.completed_at.is_not(None),
            visible(user),
        )
    )
    if oldest is None:
        return 6
    span_h = (now - oldest).total_seconds() / 3600
    return next(h for h in sorted(WINDOWS) if span_h <= h or h == max(WINDOWS))


def completion_series(
    db: Session, *, user: User, now: dt.datetime, hours: int, bucket_minutes: int
) -> list[CompletionPoint]:
    """Completion time (created → outcome) by institution, in buckets of creation time."""
    since = now - dt.timedelta(hours=hours)
    bucket = func.date_bin(
        dt.timedelta(minutes=bucket_minutes),
        Instruction.created_at,
        dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
    ).label("bucket")
    done_s = extract("epoch", Instruction.completed_at - Instruction.created_at)
    rows = db.execute(
        select(
            Institution.code,
            bucket,
            func.count(),
            func.percentile_cont(0.5).within_group(done_s),
            func.percentile_cont(0.95).within_group(done_s),
        )
        .join(Institution, Institution.id == Instruction.institution_id)
        .join(Case, Case.id == Instruction.case_id)
        .where(
            Instruction.created_at >= since, Instruction.completed_at.is_not(None), visible(user)
        )
        .group_by(Institution.code, bucket)
        .order_by(bucket, Institution.code)
    )
    return [
        CompletionPoint(
            institution=code,
            bucket_start=start,
            instructions=n,
            completion_p50_ms=round(p50 * 1000),
            completion_p95_ms=round(p95 * 1000),
        )
        for code, start, n, p50, p95 in rows
    ]
