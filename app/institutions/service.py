"""The institution registry: load it, seed it, find a card's bank by its BIN and an
institution by what a call-taker calls it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Protocol

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.institutions.models import Institution
from app.institutions.schemas import RegistryEntry

REGISTRY_PATH = Path(__file__).with_name("registry.yaml")


def load_registry(path: Path = REGISTRY_PATH) -> list[RegistryEntry]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [RegistryEntry.model_validate(item) for item in raw["institutions"]]


def derive_callback_secret(*, secret_key: str, code: str) -> str:
    """The demo callback secret of an institution: stable for one secret key."""
    digest = hmac.new(secret_key.encode(), f"callback:{code}".encode(), hashlib.sha256).digest()
    return "whsec_" + base64.b64encode(digest).decode()


def seed_institutions(db: Session, *, secret_key: str) -> tuple[int, int]:
    """Insert or update every registry entry; returns (inserted, updated).

    An existing callback secret is kept: secrets rotate on their own schedule.
    """
    existing = {i.code: i for i in db.scalars(select(Institution))}
    inserted = updated = 0
    for entry in load_registry():
        # Aliases are read from the registry itself (registry_names), not stored.
        fields = entry.model_dump(exclude={"aliases"})
        row = existing.get(entry.code)
        if row is None:
            db.add(
                Institution(
                    **fields,
                    callback_secret=derive_callback_secret(secret_key=secret_key, code=entry.code),
                )
            )
            inserted += 1
            continue
        changed = {k: v for k, v in fields.items() if getattr(row, k) != v}
        if changed:
            for key, value in changed.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            updated += 1
    db.flush()
    return inserted, updated


class HasBins(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def bin_prefixes(self) -> Sequence[str]: ...


class BinIndex:
    """Longest-prefix match of a card number against every bank's BIN prefixes."""

    def __init__(self, institutions: Iterable[HasBins]) -> None:
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


def name_key(text: str) -> str:
    """How names compare: full-width letters as ASCII (NFKC), no blanks, case-folded."""
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


class NameIndex:
    """An institution's code from its code, either of its names or an alias: `工行`,
    `支付宝`, `微信`, `Bank of China`, `icbc` (the aliases live in registry.yaml)."""

    def __init__(self, entries: Iterable[RegistryEntry]) -> None:
        self._codes: dict[str, str] = {}
        self.aliases: dict[str, list[str]] = {}
        for entry in entries:
            self.aliases[entry.code] = list(entry.aliases)
            for name in (entry.code, entry.name_zh, entry.name_en, *entry.aliases):
                self._codes.setdefault(name_key(name), entry.code)

    def find(self, text: str) -> str | None:
        """The code `text` names, or None. `ICBC 中国工商银行` (a code and its name, as the
        form's pick-list shows it) is found by its first word."""
        found = self._codes.get(name_key(text))
        if found is None and len(words := text.split()) > 1:
            found = self._codes.get(name_key(words[0]))
        return found


@cache
def registry_names() -> NameIndex:
    """The shipped registry's names and aliases (read once per process)."""
    return NameIndex(load_registry())
