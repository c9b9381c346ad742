"""The audit trail: an append-only event for every action (the database refuses edits)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, one_of


class ActorKind(StrEnum):
    user = "user"
    system = "system"
    institution = "institution"


class Event(Base):
    __tablename__ = "event"
    __table_args__ = (
        one_of("actor_kind", ActorKind),
        Index("ix_event_case_id_occurred_at", "case_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # When the row is inserted (not when its transaction began): ids and times rise together,
    # which the sealer holds every event to (app/audit/chain.py).
    occurred_at: Mapped[dt.datetime] = mapped_column(
        server_default=func.clock_timestamp(), index=True
    )
    kind: Mapped[str] = mapped_column(String(64), index=True)
    actor_kind: Mapped[str] = mapped_column(String(12))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    instruction_id: Mapped[int | None] = mapped_column(ForeignKey("instruction.id"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))


class EventSeal(Base):
    """A link of the audit chain: an HMAC, under the key named by key_id, over the event, the
    previous link's hash and closed_upto (every event id up to it is sealed or was rolled
    back: an event turning up there later is not sealed, and `stopay audit verify` names it).

    Seals are added by one sealer at a time, in the order events are sealed (not their ids:
    a transaction can commit an older id after a newer one), so inserting an event never
    waits for the chain. Append-only, like the events themselves.
    """

    __tablename__ = "event_seal"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(32))
    closed_upto: Mapped[int] = mapped_column(BigInteger)
    sealed_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())
