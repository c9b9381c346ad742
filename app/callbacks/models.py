"""Every signed callback we accepted, kept so a repeated webhook-id changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedAt


class CallbackInbox(Base):
    __tablename__ = "callback_inbox"
    __table_args__ = (
        UniqueConstraint("institution_id", "webhook_id"),
        # An institution's latest deliveries, newest first (its own view lists 200).
        Index("ix_callback_inbox_institution_id_id", "institution_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    webhook_id: Mapped[str] = mapped_column(String(128))
    webhook_timestamp: Mapped[dt.datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    instruction_id: Mapped[int | None] = mapped_column(ForeignKey("instruction.id"), index=True)
    received_at: Mapped[CreatedAt]
    processed_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    # What the institution was answered: "applied" or "ignored" (app/callbacks/answers.py);
    # and how often the same webhook-id came again ("duplicate", nothing changed).
    answer: Mapped[str | None] = mapped_column(String(16))
    repeats: Mapped[int] = mapped_column(server_default=text("0"))
    repeated_at: Mapped[dt.datetime | None]


class RefusedCallback(Base):
    """A signed callback that could not be true of its instruction: kept, never applied.

    `reasons` are `{field, rule, params}`; `payload` is the body as parsed, personal data
    masked and bounded (None when the body was not JSON at all).
    """

    __tablename__ = "refused_callback"
    __table_args__ = (
        UniqueConstraint("institution_id", "webhook_id"),
        # An institution's latest refusals, newest first (the dashboard lists five), and
        # those of a stats window, counted.
        Index("ix_refused_callback_institution_id_id", "institution_id", "id"),
        Index("ix_refused_callback_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    instruction_id: Mapped[int | None] = mapped_column(ForeignKey("instruction.id"), index=True)
    webhook_id: Mapped[str] = mapped_column(String(128))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    payload: Mapped[Any | None] = mapped_column(JSONB)
    received_at: Mapped[CreatedAt]


class DisputedOutcome(Base):
    """A well-signed outcome for an instruction already done, that disagrees with the outcome
    on record: kept for supervisors and the institution, never applied.

    `payload` is the callback's body as parsed, personal data masked and bounded.
    """

    __tablename__ = "disputed_outcome"
    __table_args__ = (
        UniqueConstraint("institution_id", "webhook_id"),
        Index("ix_disputed_outcome_institution_id_id", "institution_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    instruction_id: Mapped[int] = mapped_column(ForeignKey("instruction.id"), index=True)
    webhook_id: Mapped[str] = mapped_column(String(128))
    recorded_outcome: Mapped[str] = mapped_column(String(32))
    recorded_amount_stopped: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    reported_outcome: Mapped[str] = mapped_column(String(32))
    reported_amount_stopped: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    payload: Mapped[Any | None] = mapped_column(JSONB)
    received_at: Mapped[CreatedAt]
