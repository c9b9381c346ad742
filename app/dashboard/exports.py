"""CSV exports of a case (one row per instruction) and of the institution scorecard.

Cells that a spreadsheet would run as a formula (starting =, +, -, @, tab, CR or LF, or their
full-width forms, also after spaces) get a leading apostrophe (OWASP's advice on CSV
injection): names and account numbers come from victims and institutions, verbatim.
A victim's own account number is masked, as on every page.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.casefile.fates import case_fates
from app.cases.models import Account, Case, CaseAccount
from app.cases.reads import victim_anywhere
from app.dashboard.scorecard import scorecards
from app.db import utcnow
from app.dispatch.models import Instruction
from app.institutions.models import Institution
from app.privacy import shown_account_no

FORMULA_START = frozenset("=+-@\t\r\n＝＋－＠")
CASE_COLUMNS = (
    "case_no",
    "instruction_id",
    "kind",
    "level",
    "institution",
    "account_no",
    "holder_name",
    "state",
    "outcome",
    "amount_requested",
    "amount_stopped",
    "mismatch_field",
    "created_at",
    "acked_at",
    "completed_at",
    "effective_at",
    "expires_at",
    "escalated_at",
    "released_at",
    "document_no",
    "fate",
)
SCORECARD_COLUMNS = (
    "code",
    "name_zh",
    "name_en",
    "kind",
    "stationed",
    "breaker_state",
    "instructions",
    "ack_p50_ms",
    "ack_p95_ms",
    "completion_p50_ms",
    "completion_p95_ms",
    "success_rate",
    "mismatch_rate",
    "open_escalations",
)
Cell = str | int | float | bool | Decimal | dt.datetime | None


def csv_cell(value: Cell) -> str:
    """One cell's text; a string a spreadsheet would take for a formula is made plain text."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    text = str(value)
    if isinstance(value, str) and text.lstrip(" \u3000")[:1] in FORMULA_START:
        return "'" + text
    return text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    # A byte-order mark so that spreadsheet programs read the Chinese names as UTF-8.
    return "\ufeff" + out.getvalue()


def case_csv(db: Session, *, case: Case, now: dt.datetime | None = None) -> str:
    """One row per instruction, then one per receiving account the case sent none to; each
    with its account's fate (app/casefile/fates.py), as the pages show it."""
    fates = case_fates(db, case=case, now=now or utcnow())
    accounts = {
        account_id: (level, code, shown_account_no(number, victim=victim), holder)
        for account_id, level, code, number, victim, holder in db.execute(
            select(
                CaseAccount.account_id,
                CaseAccount.level,
                Institution.code,
                Account.account_no,
                victim_anywhere(Account.id),
                CaseAccount.holder_name,
            )
            .join(Account, Account.id == CaseAccount.account_id)
            .join(Institution, Institution.id == Account.institution_id)
            .where(CaseAccount.case_id == case.id)
            .order_by(CaseAccount.level, CaseAccount.id)
        )
    }
    rows: list[tuple[Cell, ...]] = []
    sent_to: set[int | None] = set()
    for i, code in db.execute(
        select(Instruction, Institution.code)
        .join(Institution, Institution.id == Instruction.institution_id)
        .where(Instruction.case_id == case.id)
        .order_by(Instruction.id)
    ):
        level, _, number, _ = accounts.get(i.account_id or 0, (None, code, None, None))
        word = fates[i.account_id].fate if i.account_id in fates else None
        rows.append(_instruction_row(case, i, level, code, number, word))
        sent_to.add(i.account_id)
    for account_id, fate in fates.items():
        if account_id not in sent_to:
            level, code, number, holder = accounts[account_id]
            empty = (None,) * (len(CASE_COLUMNS) - 8)
            rows.append((case.case_no, None, None, level, code, number, holder, *empty, fate.fate))
    return to_csv(CASE_COLUMNS, rows)


def _instruction_row(
    case: Case,
    i: Instruction,
    level: int | None,
    code: str,
    number: str | None,
    fate: str | None,
) -> tuple[Cell, ...]:
    return (
        case.case_no,
        i.id,
        i.kind,
        level,
        code,
        number,
        i.holder_name,
        i.state,
        i.outcome,
        i.amount_requested,
        i.amount_stopped,
        i.mismatch_field,
        i.created_at,
        i.acked_at,
        i.completed_at,
        i.effective_at,
        i.expires_at,
        i.escalated_at,
        i.released_at,
        i.document_no,
        fate,
    )


def scorecard_csv(db: Session, *, since: dt.datetime) -> str:
    cards = scorecards(db, since=since)
    rows = []
    for inst in db.scalars(
        select(Institution).where(Institution.is_active).order_by(Institution.code)
    ):
        c = cards.get(inst.id)
        stats: tuple[Cell, ...] = (
            (
                c.instructions,
                c.ack_p50_ms,
                c.ack_p95_ms,
                c.completion_p50_ms,
                c.completion_p95_ms,
                c.success_rate,
                c.mismatch_rate,
                c.open_escalations,
            )
            if c
            else (0, None, None, None, None, None, None, 0)
        )
        rows.append(
            (
                inst.code,
                inst.name_zh,
                inst.name_en,
                inst.kind,
                inst.stationed,
                inst.breaker_state,
                *stats,
            )
        )
    return to_csv(SCORECARD_COLUMNS, rows)
