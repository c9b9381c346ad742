"""Instructions as an institution keeps them, its answers, and the outcome it calls back."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeGuard

import pydantic

from simulator.numbers import iso, money_text
from simulator.outcomes import Result
from simulator.schemas import InstructionIn

# Idempotency keys the institutions take: printable ASCII without spaces (ours are 32 hex chars).
KEY_MAX_LENGTH = 255
# What a profile that breaks the amount rules adds to what it stopped.
OVERSTATED = Decimal("1000.00")


def key_is_valid(key: str | None) -> TypeGuard[str]:
    return (
        key is not None
        and 0 < len(key) <= KEY_MAX_LENGTH
        and key.isascii()
        and key.isprintable()
        and " " not in key
    )


@dataclass
class InstructionRecord:
    """An accepted instruction: its key, its reference, and its result once processed."""

    institution: str
    idempotency_key: str
    instruction: InstructionIn
    reference: str
    callback_url: str
    webhook_id: str
    processing_ms: int
    result: Result | None = None
    effective_at: dt.datetime | None = None


@dataclass(frozen=True)
class Answer:
    """An HTTP answer to an instruction, given after `delay_s` seconds."""

    status_code: int
    content: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    note: str | None = None  # for the ledger: why, when not a plain acceptance


def problem(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    """An RFC 9457 problem body."""
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}


def accepted(record: InstructionRecord, *, delay_s: float, note: str | None = None) -> Answer:
    return Answer(
        202, {"reference": record.reference, "status": "accepted"}, delay_s=delay_s, note=note
    )


def invalid(exc: pydantic.ValidationError) -> Answer:
    """422 for a body the institution will never take."""
    errors = json.loads(exc.json(include_url=False, include_context=False))
    body = problem(422, "Unprocessable Content", "the instruction is not valid", errors=errors)
    return Answer(422, body, note="invalid instruction")


def callback_body(record: InstructionRecord, *, overstate: bool = False) -> str:
    """The callback's JSON body (section 2), fixed once so every retry sends the same bytes.
    `overstate` (a profile's break): 1000.00 more stopped than was held."""
    result, effective_at = record.result, record.effective_at
    assert result is not None
    assert effective_at is not None
    stopped = result.amount_stopped
    if overstate and stopped is not None:
        stopped += OVERSTATED
    data = {
        "idempotency_key": record.idempotency_key,
        "reference": record.reference,
        "kind": record.instruction.kind.value,
        "account_no": record.instruction.account_no,
        "outcome": result.outcome,
        "amount_stopped": _money_or_none(stopped),
        "balance": _money_or_none(result.balance),
        "mismatch_field": result.mismatch_field,
        "effective_at": iso(effective_at),
        "onward_transfers": [onward.to_json() for onward in result.onward],
        "cashed_out": money_text(result.cashed_out),
    }
    event = {"type": "instruction.completed", "timestamp": iso(effective_at), "data": data}
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def _money_or_none(value: Decimal | None) -> str | None:
    return None if value is None else money_text(value)
