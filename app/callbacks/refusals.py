"""Refused callbacks: stored once per webhook-id, audited, counted for supervisors."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.audit.service import record_event
from app.callbacks.body import storable
from app.callbacks.models import RefusedCallback
from app.callbacks.sender import Sender
from app.cases.validation import FieldProblem
from app.dispatch.models import Instruction
from app.i18n import N_, Message, Named, msg
from app.institutions.models import Institution

log = logging.getLogger(__name__)
PATH_MAX = 200
# How many of an institution's latest refusals its dashboard row lists.
LISTED = 5
WEBHOOK_ID_MAX = 128  # refused_callback.webhook_id


def stored_id(webhook_id: str) -> str:
    """The webhook-id as a refusal keeps it: as sent, or (past WEBHOOK_ID_MAX) its start
    and a digest of the whole, so two long ids stay two refusals and a repeat stays one."""
    if len(webhook_id) <= WEBHOOK_ID_MAX:
        return webhook_id
    digest = hashlib.sha256(webhook_id.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{webhook_id[: WEBHOOK_ID_MAX - 65]}~{digest}"


def reasons(problems: list[FieldProblem]) -> list[dict[str, Any]]:
    """`{field, rule, params}` for each problem, bounded and storable; a registry name keeps
    both its languages (`{"zh": …, "en": …}`), so it is read back in the reader's."""
    return [
        storable(
            {"field": p.path[:PATH_MAX], "rule": p.key, "params": _plain(p.params)}, masked=False
        )
        for p in problems
    ]


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    return {k: {"zh": v.zh, "en": v.en} if isinstance(v, Named) else v for k, v in params.items()}


def _named(params: dict[str, Any]) -> dict[str, Any]:
    return {
        k: Named(str(v["zh"]), str(v["en"]))
        if isinstance(v, dict) and set(v) == {"zh", "en"}
        else v
        for k, v in params.items()
    }


def refuse(
    db: Session,
    *,
    institution: Sender,
    instruction: Instruction | None,
    webhook_id: str,
    problems: list[FieldProblem],
    payload: Any,
) -> None:
    """Keep the refusal (once per webhook-id) and audit it; nothing of the outcome is written.

    The caller has written nothing else in this transaction, so committing it keeps the
    refusal and only the refusal.
    """
    webhook_id = stored_id(webhook_id)
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


def refused_counts(db: Session, *, since: dt.datetime | None = None) -> dict[int, int]:
    """Refused callbacks by institution id (received since `since`, when given)."""
    query = select(RefusedCallback.institution_id, func.count()).group_by(
        RefusedCallback.institution_id
    )
    if since is not None:
        query = query.where(RefusedCallback.received_at >= since)
    return {int(institution_id): int(count) for institution_id, count in db.execute(query)}


def latest_refused(
    db: Session, *, since: dt.datetime | None = None, limit: int = LISTED
) -> dict[int, list[RefusedCallback]]:
    """Each institution's latest `limit` refused callbacks (received since `since`, when
    given), newest first: one query, `limit` rows of the (institution_id, id) index read
    backwards per institution, however many refusals are on record."""
    latest = (
        select(RefusedCallback.id)
        .where(RefusedCallback.institution_id == Institution.id)
        .order_by(RefusedCallback.id.desc())
        .limit(limit)
    )
    if since is not None:
        latest = latest.where(RefusedCallback.received_at >= since)
    ids = latest.correlate(Institution).lateral("latest")
    rows = db.scalars(
        select(RefusedCallback)
        .select_from(Institution)
        .join(ids, true())
        .join(RefusedCallback, RefusedCallback.id == ids.c.id)
        .order_by(RefusedCallback.institution_id, RefusedCallback.id.desc())
    )
    found: dict[int, list[RefusedCallback]] = {}
    for row in rows:
        found.setdefault(row.institution_id, []).append(row)
    return found


# The rule of a pydantic error in refusals kept before its type was stored (3ba0f24): those
# rows still read it.
STORED_BEFORE_TYPES = N_("callback.field_rule")


@dataclass(frozen=True)
class Reason:
    """One stored reason: the field, and its rule as a message (key and parameters)."""

    field: str
    rule: Message


def refusal_reasons(row: RefusedCallback) -> list[Reason]:
    """A refusal's stored reasons, in no language yet: the reader's edge puts them in
    theirs (`refused_read` in app/callbacks/schemas.py)."""
    return [
        Reason(
            str(reason.get("field", "")),
            msg(str(reason.get("rule", "")), **_named(reason.get("params") or {})),
        )
        for reason in row.reasons
    ]
