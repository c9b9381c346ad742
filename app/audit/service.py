"""Recording audit events: every action leaves one, in the same transaction as the action.

The database takes an event only from a transaction that says it is the audit service's
(`stopay.audit_writer`, set LOCAL: it ends with the transaction or the savepoint): a stray
INSERT from elsewhere is refused. The service says it inside the event's own INSERT
(`as_audit_writer`), so writing an event costs no extra round trip.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import BigInteger, ColumnElement, cast, func, literal, text
from sqlalchemy.orm import Session

from app.audit.models import ActorKind, Event


class Actor(Protocol):
    """Who acted: a user (app/auth), known here only by its id."""

    @property
    def id(self) -> int: ...


def record_event(
    db: Session,
    *,
    kind: str,
    user: Actor | None = None,
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
    if _first_in_transaction(db):
        event.id = _marked_id()  # SQL, read back by the INSERT's RETURNING
    db.add(event)
    return event


_WRITER = "stopay.audit_writer"


def as_audit_writer(actor_kind: str) -> ColumnElement[str]:
    """The actor kind, as SQL that first marks the transaction as the audit service's: the
    mark is set while the row's values are worked out, before the guard trigger runs."""
    mark = func.set_config(_WRITER, "on", True)
    return func.coalesce(func.nullif(mark, "on"), literal(actor_kind))


def _marked_id() -> ColumnElement[int]:
    """The next event id, as SQL that first marks the transaction as the audit service's (the
    ORM reads a primary key back in the INSERT's RETURNING, so the event costs no query)."""
    mark = func.set_config(_WRITER, "on", True)
    return func.coalesce(
        cast(func.nullif(mark, "on"), BigInteger), func.nextval(literal("event_id_seq"))
    )


def _first_in_transaction(db: Session) -> bool:
    """Whether this transaction (or savepoint) has not been marked yet; taken as marked now.
    Events are inserted in the order they were added, so the first one carries the mark and
    the later ones, inserted together in one statement, find it set."""
    connection = db.connection()
    current = (connection.get_transaction(), connection.get_nested_transaction())
    if connection.info.get(_WRITER) == current:
        return False
    connection.info[_WRITER] = current
    return True


def allow_audit_writes(db: Session) -> None:
    """Mark this transaction (or savepoint) as the audit service's, once: for writers that
    insert events otherwise than with record_event or as_audit_writer."""
    db.flush()  # an event waiting to be inserted may be the one to carry the mark
    if _first_in_transaction(db):
        db.connection().execute(text("SELECT set_config(:name, 'on', true)"), {"name": _WRITER})
