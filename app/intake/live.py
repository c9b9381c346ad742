"""A case's live status after submit: one read of its instructions, and the SSE stream of it.

The stream polls the database (every POLL_S) in a short session of its own each time, so an
open status page holds no connection between polls, and sends the rendered fragment only
when it changed. It ends when the client goes away, when every instruction has an outcome
(the page then has nothing left to wait for), or after MAX_STREAM_S (the browser reconnects).

Every live stream (these and the dashboard's) goes through `live_response`
(app/pages/streams.py): at most so many open at once per user and per token or log-in
session (StreamCaps, 429 past them), and their polls run on threads of their own
(app/sse.py), so open streams never take the threads that requests need.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal

import anyio
from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.models import Account, Case, CaseAccount
from app.dispatch.models import Instruction, InstructionState, Outcome
from app.institutions.models import Institution
from app.privacy import shown_account_no
from app.sse import poll_limiter, sse_event

POLL_S = 0.5
KEEPALIVE_S = 15.0
MAX_STREAM_S = 600.0
OPEN_STATES = {InstructionState.pending, InstructionState.sent, InstructionState.escalated}
BAD_OUTCOMES = {Outcome.mismatch, Outcome.rejected, Outcome.account_not_found, Outcome.no_funds}


@dataclass(frozen=True)
class InstructionRow:
    id: int
    kind: str
    state: str
    outcome: str | None
    institution: str
    institution_name_zh: str
    institution_name_en: str
    account_no: str | None
    level: int | None
    amount_requested: Decimal | None
    amount_stopped: Decimal | None
    mismatch_field: str | None
    created_at: dt.datetime
    completed_at: dt.datetime | None
    resendable: bool

    @property
    def elapsed_s(self) -> float | None:
        if self.completed_at is None:
            return None
        return (self.completed_at - self.created_at).total_seconds()


@dataclass(frozen=True)
class CaseStatusView:
    case_no: str
    status: str
    priority: str
    received_at: dt.datetime
    total_amount: Decimal
    amount_stopped: Decimal
    instructions: list[InstructionRow]

    @property
    def settled(self) -> bool:
        return not any(i.state in OPEN_STATES for i in self.instructions)


def read_status(db: Session, *, case_id: int) -> CaseStatusView:
    case = db.get_one(Case, case_id)
    instructions = _instruction_rows(db, case_id=case_id)
    return CaseStatusView(
        case_no=case.case_no,
        status=case.status,
        priority=case.priority,
        received_at=case.received_at,
        total_amount=case.total_amount,
        amount_stopped=sum(
            (i.amount_stopped or Decimal(0) for i in instructions if i.kind == "stop_payment"),
            Decimal(0),
        ),
        instructions=instructions,
    )


def _instruction_rows(db: Session, *, case_id: int) -> list[InstructionRow]:
    links = {
        row.account_id: row
        for row in db.execute(
            select(CaseAccount.account_id, CaseAccount.level, CaseAccount.role).where(
                CaseAccount.case_id == case_id
            )
        )
    }
    found: list[tuple[Instruction, Institution, str | None]] = [
        (i, inst, no)
        for i, inst, no in db.execute(
            select(Instruction, Institution, Account.account_no)
            .join(Institution, Institution.id == Instruction.institution_id)
            .join(Account, Account.id == Instruction.account_id, isouter=True)
            .where(Instruction.case_id == case_id)
            .order_by(Instruction.id)
        )
    ]
    replaced = _replaced([i for i, _, _ in found])
    return [
        InstructionRow(
            id=i.id,
            kind=i.kind,
            state=i.state,
            outcome=i.outcome,
            institution=inst.code,
            institution_name_zh=inst.name_zh,
            institution_name_en=inst.name_en,
            account_no=(
                shown_account_no(account_no, role=links[i.account_id].role)
                if account_no is not None and i.account_id in links
                else account_no
            ),
            level=links[i.account_id].level if i.account_id in links else None,
            amount_requested=i.amount_requested,
            amount_stopped=i.amount_stopped,
            mismatch_field=i.mismatch_field,
            created_at=i.created_at,
            completed_at=i.completed_at,
            resendable=i.outcome == Outcome.mismatch and i.id not in replaced,
        )
        for i, inst, account_no in found
    ]


def _replaced(instructions: list[Instruction]) -> set[int]:
    """The instructions a corrected resend replaced.

    A corrected resend is a new instruction on the same account, naming the first as parent.
    """
    resent = {i.parent_id for i in instructions if i.parent_id is not None} & {
        i.id for i in instructions
    }
    by_id = {i.id: i for i in instructions}
    return {
        p
        for p in resent
        if any(c.parent_id == p and c.account_id == by_id[p].account_id for c in instructions)
    }


async def status_events(
    request: Request,
    *,
    factory: Callable[[], AbstractContextManager[Session]],
    case_id: int,
    render: Callable[[CaseStatusView], str],
    poll_s: float = POLL_S,
    max_s: float = MAX_STREAM_S,
) -> AsyncIterator[str]:
    """The case's status fragment each time it changes, until the client leaves."""

    def snapshot() -> CaseStatusView:
        with factory() as db:  # a connection only for the length of one read
            return read_status(db, case_id=case_id)

    started = last_sent = time.monotonic()
    previous = ""
    while time.monotonic() - started < max_s:
        if await request.is_disconnected():
            return
        view = await anyio.to_thread.run_sync(snapshot, limiter=poll_limiter())
        fragment = render(view)
        if fragment != previous:
            previous, last_sent = fragment, time.monotonic()
            yield sse_event("status", fragment)
        elif time.monotonic() - last_sent > KEEPALIVE_S:
            last_sent = time.monotonic()
            yield ": keep-alive\n\n"
        if view.settled:
            yield sse_event("end", "settled")
            return
        await asyncio.sleep(poll_s)
