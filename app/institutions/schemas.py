from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.institutions.models import InstitutionKind


class RegistryEntry(BaseModel):
    """One institution as shipped in registry.yaml."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Z0-9]{2,16}$")
    kind: InstitutionKind
    name_zh: str
    name_en: str
    stationed: bool
    sla_s: int = Field(gt=0)
    aliases: list[str] = Field(default_factory=list)
    bin_prefixes: list[str] = Field(default_factory=list)
