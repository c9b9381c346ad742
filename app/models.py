"""Every table, imported in one place so the metadata (and Alembic) sees them all."""

from app.audit.models import Event, EventSeal
from app.auth.models import ApiToken, Unit, User, UserSession
from app.callbacks.models import CallbackInbox, DisputedOutcome, RefusedCallback
from app.cases.models import (
    Account,
    Case,
    CaseAccount,
    IdempotencyKey,
    IntakeDraft,
    SuspectContact,
    Transfer,
)
from app.db import Base
from app.dispatch.models import Instruction, Outbox
from app.institutions.models import Institution
from app.legal.models import ClockSetting, Document, VictimReturn

__all__ = [
    "Account",
    "ApiToken",
    "Base",
    "CallbackInbox",
    "Case",
    "CaseAccount",
    "ClockSetting",
    "DisputedOutcome",
    "Document",
    "Event",
    "EventSeal",
    "IdempotencyKey",
    "IntakeDraft",
    "Institution",
    "Instruction",
    "Outbox",
    "RefusedCallback",
    "SuspectContact",
    "Transfer",
    "Unit",
    "User",
    "UserSession",
    "VictimReturn",
]
