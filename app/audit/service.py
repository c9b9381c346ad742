"""Recording audit events: every action leaves one, in the same transaction as the action."""

from __future__ import annotations

from typing import Any

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
