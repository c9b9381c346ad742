from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.callbacks.schemas import RefusedCallbackRead
from app.institutions.models import BreakerState, InstitutionKind


class RegistryEntry(BaseModel):
    """One institution as shipped in registry.yaml."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Z0-9]{2,16}$")
    kind: InstitutionKind
    name_zh: str
    name_en: str
    stationed: bool
    sla_s: int = Field(gt=0)
    bin_prefixes: list[str] = Field(default_factory=list)


class InstitutionStats(BaseModel):
    """Over the instructions created in the window (open escalations: all of them)."""

    model_config = ConfigDict(from_attributes=True)

    instructions: int
    ack_p50_ms: int | None = Field(description="created → acknowledged, median")
    ack_p95_ms: int | None
    completion_p50_ms: int | None = Field(description="created → outcome reported, median")
    completion_p95_ms: int | None
    success_rate: float | None = Field(
        description="share of finished stop-payments that stopped money"
    )
    mismatch_rate: float | None = Field(description="share answered `mismatch`")
    open_escalations: int


class InstitutionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    kind: InstitutionKind
    name_zh: str
    name_en: str
    stationed: bool
    sla_s: int
    bin_prefixes: list[str]
    breaker_state: BreakerState
    stats: InstitutionStats | None = None
    refused_callbacks: int = Field(
        default=0, description="Signed callbacks refused in the window (never applied)"
    )
    refused_latest: list[RefusedCallbackRead] = Field(
        default_factory=list,
        description="The latest refused callbacks with their reasons (supervisors and admins)",
    )
