"""Institutions' desk contacts for escalations, shipped beside the registry (desks.yaml)."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

DESKS_PATH = Path(__file__).with_name("desks.yaml")


class Desk(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    desk_zh: str = Field(min_length=1, max_length=200)
    desk_en: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=3, max_length=32)


@functools.cache
def desks(path: Path = DESKS_PATH) -> dict[str, Desk]:
    """Desk contact by institution code; read once per process."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {code: Desk.model_validate(entry) for code, entry in raw["desks"].items()}
