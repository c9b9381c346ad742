"""Cases and the money trail: accounts, their place in a case, transfers, suspect contacts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Sequence,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, CreatedAt, one_of
from app.institutions.models import Institution


class Channel(StrEnum):
    """How the report reached the centre."""

    phone_call = "phone_call"
    walk_in = "walk_in"
    online = "online"
    bank_referral = "bank_referral"


class FraudType(StrEnum):
    impersonate_authority = "impersonate_authority"  # police/procuratorate/court, "safe account"
    impersonate_customer_service = "impersonate_customer_service"  # refunds, ticket changes
    impersonate_boss = "impersonate_boss"  # boss or leader
    impersonate_acquaintance = "impersonate_acquaintance"  # "guess who I am"
    fake_tax_refund = "fake_tax_refund"  # tax / social-security refund
    impersonate_bank_staff = "impersonate_bank_staff"
    fake_prize = "fake_prize"
    insider_tips = "insider_tips"  # lottery / stocks
    fake_loan = "fake_loan"
    phishing_site = "phishing_site"  # shop / ticket site
    contraband = "contraband"
    fake_kidnapping = "fake_kidnapping"
    brushing_rebate = "brushing_rebate"  # job / brushing-order rebate
    romance_investment = "romance_investment"  # "pig butchering"
    fake_investment_platform = "fake_investment_platform"
    online_gambling = "online_gambling"
    other = "other"


class Priority(StrEnum):
    special = "special"
    high = "high"
    medium = "medium"
    low = "low"


class CaseStatus(StrEnum):
    stopping = "stopping"
    stopped = "stopped"
    partly_stopped = "partly_stopped"
    nothing_stopped = "nothing_stopped"
    freezing = "freezing"
    frozen = "frozen"
    returning = "returning"
    closed = "closed"


class AccountKind(StrEnum):
    bank_card = "bank_card"
    bank_account = "bank_account"
    payment_account = "payment_account"


class AccountRole(StrEnum):
    victim = "victim"
    suspect = "suspect"


class TransferChannel(StrEnum):
    online_banking = "online_banking"
    mobile_banking = "mobile_banking"
    payment_app = "payment_app"
    atm = "atm"
    counter = "counter"
    pos = "pos"
    other = "other"


class TransferSource(StrEnum):
    """Who told us about the transfer: the victim, or an institution's outcome."""

    reported = "reported"
    callback = "callback"
    query = "query"


class ContactKind(StrEnum):
    phone = "phone"
    qq = "qq"
    wechat = "wechat"
    url = "url"
    app = "app"
    other = "other"


# Serial part of case numbers; a sequence never makes two intakes wait for each other.
CASE_NO_SEQUENCE = Sequence("case_no_seq", metadata=Base.metadata)


class Account(Base):
    """An account at an institution; one row however many cases it appears in."""

    __tablename__ = "account"
    __table_args__ = (
        UniqueConstraint("institution_id", "account_no_norm"),
        one_of("kind", AccountKind),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    account_no: Mapped[str] = mapped_column(String(64))
    # Digits and letters only, upper-cased: the identity used to link cases.
    account_no_norm: Mapped[str] = mapped_column(String(64), index=True)
    holder_name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[CreatedAt]

    institution: Mapped[Institution] = relationship(lazy="raise")


class Case(Base):
    __tablename__ = "case"
    __table_args__ = (
        one_of("channel", Channel),
        one_of("fraud_type", FraudType),
        one_of("priority", Priority),
        one_of("status", CaseStatus),
        CheckConstraint("total_amount >= 0", name="total_amount"),
        Index("ix_case_status_priority", "status", "priority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_no: Mapped[str] = mapped_column(String(32), unique=True)
    received_at: Mapped[dt.datetime] = mapped_column(index=True)
    recorded_at: Mapped[CreatedAt]
    channel: Mapped[str] = mapped_column(String(16))
    victim_name: Mapped[str] = mapped_column(String(200))
    victim_id_no: Mapped[str | None] = mapped_column(String(32))
    victim_phone: Mapped[str | None] = mapped_column(String(32))
    victim_is_enterprise: Mapped[bool] = mapped_column(Boolean, server_default=false())
    victim_enterprise_name: Mapped[str | None] = mapped_column(String(200))
    fraud_type: Mapped[str] = mapped_column(String(40), index=True)
    narrative: Mapped[str] = mapped_column(Text, server_default="")
    # What the victim reported sending (the transfers out of level-0 accounts); fixed at intake.
    total_amount: Mapped[Decimal]
    priority: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), server_default=CaseStatus.stopping.value)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    call_taker_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class CaseAccount(Base):
    """An account's role and level in one case (0 = the victim's own account)."""

    __tablename__ = "case_account"
    __table_args__ = (
        UniqueConstraint("case_id", "account_id"),
        one_of("role", AccountRole),
        CheckConstraint("level >= 0", name="level"),
        CheckConstraint("(role = 'victim') = (level = 0)", name="victim_level"),
        # Whether an account is a victim's own anywhere (its number is then masked).
        Index(
            "ix_case_account_victim_account_id",
            "account_id",
            postgresql_where=text("role = 'victim'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    role: Mapped[str] = mapped_column(String(8))
    level: Mapped[int]
    # The name this case's report (or the bank that named the account to it) gave; the one
    # on `Account` is only the first ever learnt, and pages never show another case's.
    holder_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[CreatedAt]

    account: Mapped[Account] = relationship(lazy="raise")


class Transfer(Base):
    __tablename__ = "transfer"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("from_account_id <> to_account_id", name="distinct_accounts"),
        one_of("channel", TransferChannel),
        one_of("source", TransferSource),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    from_account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    to_account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    amount: Mapped[Decimal]
    occurred_at: Mapped[dt.datetime]
    reference: Mapped[str | None] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), server_default=TransferSource.reported.value)
    created_at: Mapped[CreatedAt]


class SuspectContact(Base):
    __tablename__ = "suspect_contact"
    __table_args__ = (
        one_of("kind", ContactKind),
        Index("ix_suspect_contact_kind_value", "kind", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[CreatedAt]


class IdempotencyKey(Base):
    """A submitted Idempotency-Key: the same key and body get the first answer back."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    key: Mapped[str] = mapped_column(String(200))
    # The route it was used on ("POST /api/v1/cases/{case_no}/freezes", "POST /api/v1/cases"
    # for a report by API or form); None on intake keys claimed before it was recorded.
    action: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    response_status: Mapped[int | None]
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[CreatedAt]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class IntakeDraft(Base):
    """A call-taker's unsubmitted form, saved as they type; one per call-taker and form key."""

    __tablename__ = "intake_draft"
    __table_args__ = (UniqueConstraint("user_id", "draft_key"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    # The browser's key for this call (the idempotency key it will submit with).
    draft_key: Mapped[str] = mapped_column(String(200))
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
