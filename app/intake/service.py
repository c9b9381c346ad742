"""Drafts of the intake form, one per call-taker and call (the draft key)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete, exists, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.auth.models import User
from app.cases.models import Case, IdempotencyKey, IntakeDraft
from app.intake.schemas import DraftRead, DraftSummary

# Drafts offered on the form's page, newest first; older ones stay reachable through the API.
LIST_LIMIT = 20


def save_draft(db: Session, *, user: User, draft_key: str, fields: Mapping[str, str]) -> DraftRead:
    """Insert or replace the draft (the browser always sends the whole form)."""
    body = {"fields": dict(fields)}
    row = db.execute(
        pg_insert(IntakeDraft)
        .values(user_id=user.id, draft_key=draft_key, body=body)
        .on_conflict_do_update(
            index_elements=[IntakeDraft.user_id, IntakeDraft.draft_key],
            set_={"body": body, "updated_at": func.now()},
        )
        .returning(IntakeDraft)
    ).scalar_one()
    return _read(db, row, user=user)


def find_draft(db: Session, *, user: User, draft_key: str) -> DraftRead | None:
    row = db.scalar(
        select(IntakeDraft).where(
            IntakeDraft.user_id == user.id, IntakeDraft.draft_key == draft_key
        )
    )
    return _read(db, row, user=user) if row is not None else None


def list_drafts(db: Session, *, user: User) -> list[DraftSummary]:
    """The user's drafts that have not become a case yet, newest first."""
    submitted = exists().where(
        IdempotencyKey.user_id == user.id,
        IdempotencyKey.key == IntakeDraft.draft_key,
        IdempotencyKey.case_id.is_not(None),
    )
    rows = db.scalars(
        select(IntakeDraft)
        .where(IntakeDraft.user_id == user.id, ~submitted)
        .order_by(IntakeDraft.updated_at.desc(), IntakeDraft.id.desc())
        .limit(LIST_LIMIT)
    )
    return [
        DraftSummary(
            draft_key=row.draft_key,
            victim_name=str(row.body.get("fields", {}).get("victim.name", "")),
            updated_at=row.updated_at,
        )
        for row in rows
    ]


def delete_draft(db: Session, *, user: User, draft_key: str) -> None:
    db.execute(
        delete(IntakeDraft).where(
            IntakeDraft.user_id == user.id, IntakeDraft.draft_key == draft_key
        )
    )


def submitted_case_no(db: Session, *, user: User, key: str) -> str | None:
    """The case this user already submitted with `key` as its Idempotency-Key, if any."""
    return db.scalar(
        select(Case.case_no)
        .join(IdempotencyKey, IdempotencyKey.case_id == Case.id)
        .where(IdempotencyKey.user_id == user.id, IdempotencyKey.key == key)
    )


def _read(db: Session, row: IntakeDraft, *, user: User) -> DraftRead:
    fields = row.body.get("fields", {})
    return DraftRead(
        draft_key=row.draft_key,
        fields=fields if isinstance(fields, dict) else {},
        case_no=submitted_case_no(db, user=user, key=row.draft_key),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
