"""Refused callbacks: stored once per webhook-id, audited, counted for supervisors."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.audit.service import record_event
from app.callbacks.body import storable
from app.callbacks.models import RefusedCallback
from app.cases.validation import FieldProblem
from app.dispatch.models import Instruction
from app.institutions.models import Institution

log = logging.getLogger(__name__)
PATH_MAX = 200
# How many of an institution's latest refusals its dashboard row lists.
LISTED = 5


def reasons(problems: list[FieldProblem]) -> list[dict[str, Any]]:
    """`{field, rule, params}` for each problem, bounded and storable."""
    return [
        storable({"field": p.path[:PATH_MAX], "rule": p.key, "params": p.params}, masked=False)
        for p in problems
    ]


def refuse(
    db: Session,
    *,
    institution: Institution,
    instruction: Instruction | None,
    webhook_id: str,
    problems: list[FieldProblem],
    payload: Any,
) -> None:
    """Keep the refusal (once per webhook-id) and audit it; nothing of the outcome is written.

    The caller has written nothing else in this transaction, so committing it keeps the
    refusal and only the refusal.
    """
    stored = db.scalar(
        pg_insert(RefusedCallback)
        .values(
            institution_id=institution.id,
            instruction_id=instruction.id if instruction is not None else None,
            webhook_id=webhook_id,
            reasons=reasons(problems),
            payload=storable(payload, masked=True),
        )
        .on_conflict_do_nothing(
            index_elements=[RefusedCallback.institution_id, RefusedCallback.webhook_id]
        )
        .returning(RefusedCallback.id)
    )
    fields = sorted({p.path[:PATH_MAX] for p in problems})
    log.warning("callback %s from %s refused: %s", webhook_id, institution.code, ", ".join(fields))
    if stored is None:
        return
    record_event(
        db,
        kind="callback.refused",
        institution_id=institution.id,
        case_id=instruction.case_id if instruction is not None else None,
        instruction_id=instruction.id if instruction is not None else None,
        data={"refused_callback": stored, "webhook_id": webhook_id, "fields": fields},
    )


def refused_counts(db: Session) -> dict[int, int]:
    """Refused callbacks by institution id."""
    rows = db.execute(
        select(RefusedCallback.institution_id, func.count()).group_by(
            RefusedCallback.institution_id
        )
    )
    return {int(institution_id): int(count) for institution_id, count in rows.tuples()}


def latest_refused(
    db: Session, *, institution_id: int, limit: int = LISTED
) -> list[RefusedCallback]:
    return list(
        db.scalars(
            select(RefusedCallback)
            .where(RefusedCallback.institution_id == institution_id)
            .order_by(RefusedCallback.id.desc())
            .limit(limit)
        )
    )
