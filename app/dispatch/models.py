"""Instructions to institutions and the outbox that carries them to the workers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, CreatedAt, one_of
from app.institutions.models import Institution


class InstructionKind(StrEnum):
    stop_payment = "stop_payment"
    freeze = "freeze"
    query = "query"
    release = "release"
    register = "register"  # the case's registration with the national platform


class InstructionState(StrEnum):
    pending = "pending"
    sent = "sent"
    done = "done"
    escalated = "escalated"
    expired = "expired"


class Outcome(StrEnum):
    stopped_full = "stopped_full"
    stopped_partial = "stopped_partial"
    frozen_full = "frozen_full"
    frozen_partial = "frozen_partial"
    released = "released"
    answered = "answered"
    registered = "registered"
    no_funds = "no_funds"
    mismatch = "mismatch"
    account_not_found = "account_not_found"
    rejected = "rejected"


class Instruction(Base):
    """One request to one institution about one account, with every timestamp of its life."""

    __tablename__ = "instruction"
    __table_args__ = (
        one_of("kind", InstructionKind),
        one_of("state", InstructionState),
        one_of("outcome", Outcome),
        CheckConstraint("kind = 'register' OR account_id IS NOT NULL", name="account_required"),
        CheckConstraint("state <> 'done' OR outcome IS NOT NULL", name="done_has_outcome"),
        CheckConstraint("amount_requested >= 0", name="amount_requested"),
        CheckConstraint("amount_stopped >= 0", name="amount_stopped"),
        CheckConstraint("balance >= 0", name="balance"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_instruction_state_institution_id", "state", "institution_id"),
        Index(
            "ix_instruction_active_expiry",
            "expires_at",
            postgresql_where=text("state = 'done' AND expires_at IS NOT NULL"),
        ),
        # The dashboard's recent lapses, among a year of expired stop-payments.
        Index(
            "ix_instruction_expired_expiry",
            "expires_at",
            postgresql_where=text("state = 'expired'"),
        ),
        # The completion chart's and the scorecard's window.
        Index("ix_instruction_created_at", "created_at"),
        # The roll-up's probes (app/flows/rollup.py): a case's open instructions, its freezes.
        Index(
            "ix_instruction_case_open",
            "case_id",
            postgresql_where=text("state IN ('pending', 'sent', 'escalated')"),
        ),
        Index("ix_instruction_case_freeze", "case_id", postgresql_where=text("kind = 'freeze'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    # The instruction whose outcome led to this one (onward transfers, renewals).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("instruction.id"))
    # The bounced stop-payment this one corrects and resends: at most one per original.
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("instruction.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(12), server_default=InstructionState.pending.value)
    outcome: Mapped[str | None] = mapped_column(String(20))
    amount_requested: Mapped[Decimal | None]
    amount_stopped: Mapped[Decimal | None]
    balance: Mapped[Decimal | None]
    mismatch_field: Mapped[str | None] = mapped_column(String(32))
    # What we asked the institution to match: fixed when the instruction is made, so a
    # corrected resend is a new instruction and the record shows exactly what was sent.
    holder_name: Mapped[str | None] = mapped_column(String(200))
    transaction_time: Mapped[dt.datetime | None]
    document_no: Mapped[str | None] = mapped_column(String(64))
    institution_ref: Mapped[str | None] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    # The last error's class (app/dispatch/failures.py), as the adapter that met it said.
    last_failure: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[CreatedAt]
    first_attempt_at: Mapped[dt.datetime | None]
    acked_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    effective_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime | None]
    escalated_at: Mapped[dt.datetime | None]
    # A release that the institution confirmed ended this hold before its term.
    released_at: Mapped[dt.datetime | None]
    # When the lapse (stop-payment) or renewal (freeze) warning was given: once per hold.
    warned_at: Mapped[dt.datetime | None]
    # The scanned freeze document, when one was uploaded.
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))
    # While a worker is talking to the institution about it, no other worker starts to.
    lease_until: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    institution: Mapped[Institution] = relationship(lazy="raise")


class Outbox(Base):
    """A task to publish after commit; the relay re-publishes rows not yet confirmed."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_unconfirmed",
            "created_at",
            postgresql_where=text("confirmed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    instruction_id: Mapped[int] = mapped_column(ForeignKey("instruction.id"), unique=True)
    task: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[CreatedAt]
    published_at: Mapped[dt.datetime | None]
    publish_attempts: Mapped[int] = mapped_column(server_default="0")
    confirmed_at: Mapped[dt.datetime | None]
