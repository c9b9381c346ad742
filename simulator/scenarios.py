"""Scenario files: accounts fixed exactly (docs/institution-protocol.md, section 4)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Literal, Self

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

Money = Decimal
MismatchField = Literal["holder_name", "account_no", "amount", "transaction_time"]


class IncomingTransfer(BaseModel):
    """Money that came in: what the institution matches amount and time against."""

    model_config = ConfigDict(extra="forbid")

    amount: Money = Field(gt=0, decimal_places=2)
    at: AwareDatetime


class OnwardTransfer(BaseModel):
    """Money that already left, and where to."""

    model_config = ConfigDict(extra="forbid")

    institution: str
    account_no: str = Field(min_length=1, max_length=64)
    holder_name: str | None = None
    amount: Money = Field(gt=0, decimal_places=2)
    at: AwareDatetime
    reference: str | None = None


class ScenarioAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    institution: str
    account_no: str = Field(min_length=1, max_length=64)
    holder_name: str | None = None
    balance: Money = Field(default=Decimal("0.00"), ge=0, decimal_places=2)
    incoming: list[IncomingTransfer] = Field(default_factory=list)
    onward: list[OnwardTransfer] = Field(default_factory=list)
    cashed_out: Money = Field(default=Decimal("0.00"), ge=0, decimal_places=2)
    not_found: bool = False
    # Not in the contract's example: makes the institution report this field as not matching
    # whatever the instruction says (e.g. `account_no` for a replaced card).
    mismatch: MismatchField | None = None


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    accounts: list[ScenarioAccount] = Field(default_factory=list)

    def check_institutions(self, codes: Iterable[str]) -> Self:
        """Raise ValueError naming any institution code the registry does not have."""
        known = set(codes)
        named = {a.institution for a in self.accounts}
        named |= {o.institution for a in self.accounts for o in a.onward}
        unknown = sorted(named - known)
        if unknown:
            raise ValueError(f"unknown institutions: {', '.join(unknown)}")
        return self

    @model_validator(mode="after")
    def _upper_case_codes(self) -> Self:
        for account in self.accounts:
            account.institution = account.institution.strip().upper()
            for onward in account.onward:
                onward.institution = onward.institution.strip().upper()
        return self


def parse_scenario(body: bytes | str, *, content_type: str | None = None) -> Scenario:
    """A scenario from a YAML or JSON document (JSON when the content type says so).

    Raises ValueError (or pydantic.ValidationError, a subclass) when it is not one.
    """
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    try:
        if content_type is not None and "json" in content_type:
            raw = json.loads(text, parse_float=Decimal)
        else:
            raw = yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"not a YAML or JSON document: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError("a scenario is a mapping with an `accounts` list")
    return Scenario.model_validate(raw)


def load_scenario_file(path: Path) -> Scenario:
    content_type = "application/json" if path.suffix == ".json" else None
    return parse_scenario(path.read_bytes(), content_type=content_type)
