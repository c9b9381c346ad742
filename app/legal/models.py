"""Freeze documents, returns to victims and the settable clock."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedAt, one_of


class Document(Base):
    """A scanned legal document (a freeze decision), kept with the instruction that cites it."""

    __tablename__ = "document"
    __table_args__ = (CheckConstraint("size > 0", name="size"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    document_no: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[CreatedAt]


class ReturnRule(StrEnum):
    """DESIGN.md section 4: how frozen money is split between the victims it came from."""

    single_victim = "single_victim"  # one victim's money only: straight back
    by_time = "by_time"  # several victims, every movement known: traced by time (FIFO)
    pro_rata = "pro_rata"  # otherwise: in proportion to each loss, after a public notice


class ReturnState(StrEnum):
    confirmed = "confirmed"  # a supervisor confirmed the split; the bank is to pay it
    completed = "completed"  # the bank paid it back to the victim


class VictimReturn(Base):
    """Money from a frozen account going back to the victim of one case."""

    __tablename__ = "victim_return"
    __table_args__ = (
        one_of("rule", ReturnRule),
        one_of("state", ReturnState),
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("(state = 'completed') = (completed_at IS NOT NULL)", name="completed"),
        Index("ix_victim_return_account_id", "account_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    # The frozen account the money comes from.
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    amount: Mapped[Decimal]
    rule: Mapped[str] = mapped_column(String(16))
    # Pro rata: not payable before the 30-day public notice ends. Otherwise the confirm date.
    payable_from: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(12), server_default=ReturnState.confirmed.value)
    # One confirmation of a split writes one row per victim under the same batch.
    batch: Mapped[str] = mapped_column(String(32), index=True)
    confirmed_by: Mapped[int] = mapped_column(ForeignKey("user.id"))
    confirmed_at: Mapped[dt.datetime]
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    completed_at: Mapped[dt.datetime | None]
    # The bank's reference for the payment back to the victim.
    reference: Mapped[str | None] = mapped_column(String(100))
    # When the overdue warning was given (the bank has 3 working days).
    warned_at: Mapped[dt.datetime | None]
    created_at: Mapped[CreatedAt]


class ClockSetting(Base):
    """The legal clock's time when it is settable (tests, demos): frozen at an instant, or
    shifted from the real time. One row; absent means the real time."""

    __tablename__ = "clock_setting"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    frozen_at: Mapped[dt.datetime | None]
    offset_s: Mapped[float] = mapped_column(server_default="0")
