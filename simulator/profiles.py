"""Institution profiles: latency, injected faults and seeded account behaviour.

A profile file has a `seed`, a `default` profile, per-institution overrides (partial: merged
onto the default) and the callback retry policy. See `simulator/profiles.yaml`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

PROFILE_ENV = "STOPAY_SIMULATOR_PROFILE"
DEFAULT_PROFILE_PATH = Path(__file__).with_name("profiles.yaml")
ACCOUNT_BEHAVIOURS = ("full", "partial", "moved", "not_found", "name_mismatch")


class AccountMix(BaseModel):
    """How accounts no scenario names behave: shares of five behaviours, summing to 1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    full: float = Field(default=0.42, ge=0, le=1)
    partial: float = Field(default=0.35, ge=0, le=1)
    moved: float = Field(default=0.20, ge=0, le=1)
    not_found: float = Field(default=0.01, ge=0, le=1)
    name_mismatch: float = Field(default=0.02, ge=0, le=1)
    # Of the money that left an account, the share of accounts where it was cashed out
    # (the trail ends) rather than sent on to other accounts.
    cash_out_share: float = Field(default=0.15, ge=0, le=1)

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> Self:
        total = sum(getattr(self, name) for name in ACCOUNT_BEHAVIOURS)
        if abs(total - 1) > 1e-6:
            raise ValueError(
                f"the shares {', '.join(ACCOUNT_BEHAVIOURS)} must sum to 1, not {total}"
            )
        return self


class Breaks(BaseModel):
    """Protocol rules an institution breaks on purpose, for the conformance kit's own tests
    (`stopay conformance`). All false: it keeps the protocol."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A repeat of a known key with the same body is taken as new work: a new reference,
    # applied and called back again (the doc: the same 202 and reference, nothing changed).
    replay_applies_again: bool = False
    # Callbacks go out without a `webhook-signature` header.
    unsigned_callbacks: bool = False
    # Every retry of a callback re-serialises its body with a fresh `timestamp`.
    retry_changes_body: bool = False
    # A 429 comes without `Retry-After`.
    no_retry_after: bool = False
    # A callback reports 1000.00 more stopped than was held (the ledger keeps what was).
    overstates_amount: bool = False


class Profile(BaseModel):
    """How one institution behaves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ack_ms: tuple[int, int] = (100, 300)
    processing_ms: tuple[int, int] = (500, 3000)
    timeout_rate: float = Field(default=0.0, ge=0, le=1)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    rate_limit_per_s: float | None = Field(default=None, gt=0)
    hang_s: float = Field(default=30.0, ge=0)
    accounts: AccountMix = AccountMix()
    breaks: Breaks = Breaks()

    @model_validator(mode="after")
    def _ranges_are_ordered(self) -> Self:
        for name in ("ack_ms", "processing_ms"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"{name} must be [min, max] with 0 <= min <= max")
        if self.timeout_rate + self.error_rate > 1:
            raise ValueError("timeout_rate + error_rate must not exceed 1")
        return self


class CallbackPolicy(BaseModel):
    """How an institution retries its callbacks: 1 s, 2 s, 4 s, ... capped, for a long time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    first_retry_s: float = Field(default=1.0, gt=0)
    max_retry_s: float = Field(default=60.0, gt=0)
    give_up_after_s: float = Field(default=24 * 3600.0, gt=0)
    timeout_s: float = Field(default=10.0, gt=0)

    def delays(self) -> Iterator[float]:
        """The waits between attempts, without end: doubling from the first, capped."""
        delay = self.first_retry_s
        while True:
            yield delay
            delay = min(delay * 2, self.max_retry_s)


class ProfileFile(BaseModel):
    """The profile file as written."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 20261122
    default: dict[str, Any] = Field(default_factory=dict)
    institutions: dict[str, dict[str, Any]] = Field(default_factory=dict)
    callbacks: CallbackPolicy = CallbackPolicy()


def _merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `changes` laid over it, nested mappings merged key by key."""
    merged = copy.deepcopy(dict(base))
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class ProfileBook:
    """The seed, the default profile and every institution's overrides, changeable at run time."""

    def __init__(self, source: ProfileFile, *, codes: Iterable[str]) -> None:
        self.codes = frozenset(codes)
        unknown = sorted(set(source.institutions) - self.codes)
        if unknown:
            raise ValueError(f"profile overrides for unknown institutions: {', '.join(unknown)}")
        self.seed = source.seed
        self.callbacks = source.callbacks
        self._default: dict[str, Any] = Profile.model_validate(source.default).model_dump()
        self._overrides = copy.deepcopy(source.institutions)
        self._cache: dict[str, Profile] = {}
        for code in self._overrides:
            self.effective(code)  # fail at load, not at the first request

    @property
    def default(self) -> Profile:
        return Profile.model_validate(self._default)

    def effective(self, code: str) -> Profile:
        """The profile `code` plays by: the default with its overrides laid over it."""
        profile = self._cache.get(code)
        if profile is None:
            profile = Profile.model_validate(_merge(self._default, self._overrides.get(code, {})))
            self._cache[code] = profile
        return profile

    def update(self, *, code: str | None, changes: Mapping[str, Any]) -> Profile:
        """Lay `changes` over the default (code None) or one institution's overrides.

        Raises pydantic.ValidationError (and changes nothing) when the result is not a profile.
        """
        if code is None:
            candidate = Profile.model_validate(_merge(self._default, changes)).model_dump()
            for other in self._overrides.values():
                Profile.model_validate(_merge(candidate, other))
            self._default = candidate
            self._cache.clear()
            return self.default
        override = _merge(self._overrides.get(code, {}), changes)
        profile = Profile.model_validate(_merge(self._default, override))
        self._overrides[code] = override
        self._cache[code] = profile
        return profile


def profile_path(explicit: Path | None = None) -> Path:
    """The profile file: `explicit`, else $STOPAY_SIMULATOR_PROFILE, else the shipped one."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get(PROFILE_ENV)
    return Path(from_env) if from_env else DEFAULT_PROFILE_PATH


def load_profile_file(path: Path) -> ProfileFile:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return ProfileFile.model_validate(raw)
