"""Every table, imported in one place so the metadata (and Alembic) sees them all."""

from app.audit.models import Event
from app.auth.models import ApiToken, Unit, User, UserSession
from app.callbacks.models import CallbackInbox
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

__all__ = [
    "Account",
    "ApiToken",
    "Base",
    "CallbackInbox",
    "Case",
    "CaseAccount",
    "Event",
    "IdempotencyKey",
    "IntakeDraft",
    "Institution",
    "Instruction",
    "Outbox",
    "SuspectContact",
    "Transfer",
    "Unit",
    "User",
    "UserSession",
]
