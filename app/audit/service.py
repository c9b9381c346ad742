"""Recording audit events: every action leaves one, in the same transaction as the action.

The database takes an event only from a transaction that says it is the audit service's
(`stopay.audit_writer`, set LOCAL: it ends with the transaction or the savepoint): a stray
INSERT from elsewhere is refused. Said once per transaction, so writing events stays cheap.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.audit.models import ActorKind, Event
from app.auth.models import User


def record_event(
    db: Session,
    *,
    kind: str,
    user: User | None = None,
    institution_id: int | None = None,
    case_id: int | None = None,
    instruction_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    if user is not None:
        actor = ActorKind.user
    elif institution_id is not None:
        actor = ActorKind.institution
    else:
        actor = ActorKind.system
    allow_audit_writes(db)
    event = Event(
        kind=kind,
        actor_kind=actor.value,
        actor_user_id=user.id if user else None,
        institution_id=institution_id,
        case_id=case_id,
        instruction_id=instruction_id,
        data=data or {},
    )
    db.add(event)
    return event


_WRITER = "stopay.audit_writer"


def allow_audit_writes(db: Session) -> None:
    """Mark this transaction (or savepoint) as the audit service's, once."""
    connection = db.connection()
    current = (connection.get_transaction(), connection.get_nested_transaction())
    if connection.info.get(_WRITER) != current:
        connection.execute(text("SELECT set_config(:name, 'on', true)"), {"name": _WRITER})
        connection.info[_WRITER] = current
