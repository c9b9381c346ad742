"""Institutions: banks, payment institutions and the national platform."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, String, text, true
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, CreatedAt, one_of


class InstitutionKind(StrEnum):
    bank = "bank"
    payment_institution = "payment_institution"
    national_platform = "national_platform"


class BreakerState(StrEnum):
    closed = "closed"
    open = "open"
    half_open = "half_open"


def verifying_secrets(
    current: str, previous: str | None, until: dt.datetime | None, now: dt.datetime
) -> list[str]:
    """The secrets a callback may be signed with at `now`: the current one, and the previous
    one while a rotation's overlap lasts (`until`; none: until the rotation is finished)."""
    if previous is None or (until is not None and now >= until):
        return [current]
    return [current, previous]


class Institution(Base):
    __tablename__ = "institution"
    __table_args__ = (
        one_of("kind", InstitutionKind),
        one_of("breaker_state", BreakerState),
        CheckConstraint("sla_s > 0", name="sla_s"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(24))
    stationed: Mapped[bool] = mapped_column(Boolean, server_default=true())
    bin_prefixes: Mapped[list[str]] = mapped_column(ARRAY(String(10)), server_default=text("'{}'"))
    # How our adapter reaches it (base_url, timeouts, concurrency); read by the dispatcher.
    adapter: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))
    # Standard Webhooks secret (whsec_...) its callbacks are signed with.
    callback_secret: Mapped[str] = mapped_column(String(128))
    # During a change-over the old secret still verifies, until the rotation is finished.
    callback_secret_previous: Mapped[str | None] = mapped_column(String(128))
    # ... and no longer than this (STOPAY_CALLBACK_SECRET_OVERLAP_S after the rotation).
    callback_secret_previous_until: Mapped[dt.datetime | None]
    sla_s: Mapped[int]
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=true())
    # The circuit breaker's last transition, as a worker saw it (for the scorecard).
    breaker_state: Mapped[str] = mapped_column(String(12), server_default=BreakerState.closed.value)
    breaker_changed_at: Mapped[dt.datetime | None]
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[dt.datetime | None]

    def verifying_secrets(self, now: dt.datetime) -> list[str]:
        """The secrets a callback may be signed with at `now`."""
        return verifying_secrets(
            self.callback_secret,
            self.callback_secret_previous,
            self.callback_secret_previous_until,
            now,
        )
