"""The institutions the simulator plays: the service's registry file, read on its own.

The simulator is a peer over HTTP and imports nothing of the service: it keeps its own
reader of the registry, its own BIN index and its own copy of the demo callback secrets'
derivation (the service derives the same secret from the same key when it seeds).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

REGISTRY_ENV = "STOPAY_SIMULATOR_REGISTRY"
# The registry the service ships (a data file beside its package, not a module we import).
DEFAULT_REGISTRY = Path(__file__).parents[1] / "app" / "institutions" / "registry.yaml"


class RegistryEntry(BaseModel):
    """One institution as registry.yaml lists it."""

    model_config = ConfigDict(extra="ignore")

    code: str = Field(pattern=r"^[A-Z0-9]{2,16}$")
    kind: Literal["bank", "payment_institution", "national_platform"]
    name_zh: str
    name_en: str
    bin_prefixes: list[str] = Field(default_factory=list)


def registry_path() -> Path:
    return Path(os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY)


def load_registry(path: Path | None = None) -> list[RegistryEntry]:
    raw = yaml.safe_load((path or registry_path()).read_text(encoding="utf-8"))
    return [RegistryEntry.model_validate(item) for item in raw["institutions"]]


def derive_callback_secret(*, secret_key: str, code: str) -> str:
    """The demo callback secret of an institution: stable for one secret key."""
    digest = hmac.new(secret_key.encode(), f"callback:{code}".encode(), hashlib.sha256).digest()
    return "whsec_" + base64.b64encode(digest).decode()


class BinIndex:
    """Longest-prefix match of a card number against every bank's BIN prefixes."""

    def __init__(self, institutions: Iterable[RegistryEntry]) -> None:
        self._by_prefix: dict[str, str] = {}
        for inst in institutions:
            for prefix in inst.bin_prefixes:
                self._by_prefix[prefix] = inst.code
        self._lengths = sorted({len(p) for p in self._by_prefix}, reverse=True)

    def lookup(self, card_no: str) -> str | None:
        """The code of the bank that issued `card_no`, or None when no prefix matches."""
        digits = "".join(ch for ch in card_no if ch in "0123456789")
        for length in self._lengths:
            code = self._by_prefix.get(digits[:length])
            if code is not None:
                return code
        return None


def luhn_ok(digits: str) -> bool:
    """Whether a string of digits ends in its correct Luhn check digit."""
    if not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_complete(payload: str) -> str:
    """`payload` with the check digit appended that makes it pass the Luhn check."""
    return next(payload + digit for digit in "0123456789" if luhn_ok(payload + digit))
