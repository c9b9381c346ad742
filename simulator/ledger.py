"""The ledger: what the simulated institutions actually did, the ground truth for tests.

Entries, in the order written:
- `received`: a request reached the instruction endpoint (`status_code` is how it was answered,
  `note` why, when it was not a plain acceptance);
- `applied`: the outcome took effect, once per idempotency key;
- `callback_sent`: one attempt to deliver the callback (`status_code` is the answer, null when
  none came; `note` the error);
- `callback_acknowledged`: the callback got a 2xx, once per event.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Literal

from simulator.numbers import iso, money_text

EntryKind = Literal["received", "applied", "callback_sent", "callback_acknowledged"]


@dataclass(frozen=True)
class LedgerEntry:
    seq: int
    at: dt.datetime
    entry: EntryKind
    institution: str
    idempotency_key: str
    case_no: str | None = None
    kind: str | None = None
    account_no: str | None = None
    reference: str | None = None
    outcome: str | None = None
    mismatch_field: str | None = None
    amount_requested: Decimal | None = None
    amount_stopped: Decimal | None = None
    balance: Decimal | None = None
    status_code: int | None = None
    note: str | None = None
    webhook_id: str | None = None
    attempt: int | None = None

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in _FIELDS}
        data["at"] = iso(self.at)
        for name in ("amount_requested", "amount_stopped", "balance"):
            value = data[name]
            data[name] = None if value is None else money_text(value)
        return data


_FIELDS = tuple(f.name for f in fields(LedgerEntry))


class Ledger:
    """Entries in the order written, indexed by idempotency key and case for quick filtering."""

    def __init__(self) -> None:
        self._entries: list[LedgerEntry] = []
        self._by_key: dict[str, list[LedgerEntry]] = defaultdict(list)
        self._by_case: dict[str, list[LedgerEntry]] = defaultdict(list)
        self._seq = itertools.count(1)

    def write(
        self, entry: EntryKind, *, institution: str, idempotency_key: str, **details: Any
    ) -> None:
        """Append an entry stamped now; `details` are LedgerEntry's optional fields."""
        written = LedgerEntry(
            seq=next(self._seq),
            at=dt.datetime.now(dt.UTC),
            entry=entry,
            institution=institution,
            idempotency_key=idempotency_key,
            **details,
        )
        self._entries.append(written)
        self._by_key[idempotency_key].append(written)
        if written.case_no is not None:
            self._by_case[written.case_no].append(written)

    def clear(self) -> None:
        self._entries.clear()
        self._by_key.clear()
        self._by_case.clear()

    def query(
        self,
        *,
        institution: str | None = None,
        case_no: str | None = None,
        idempotency_key: str | None = None,
        entry: str | None = None,
    ) -> list[LedgerEntry]:
        """Entries matching every filter given, oldest first."""
        candidates = self._entries
        if idempotency_key is not None:
            candidates = self._by_key.get(idempotency_key, [])
        elif case_no is not None:
            candidates = self._by_case.get(case_no, [])
        return [
            e
            for e in candidates
            if (institution is None or e.institution == institution)
            and (case_no is None or e.case_no == case_no)
            and (idempotency_key is None or e.idempotency_key == idempotency_key)
            and (entry is None or e.entry == entry)
        ]
