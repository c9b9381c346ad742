"""The wire protocol: what the workers send is what app/dispatch/wire.py describes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from app.dispatch.transitions import SendOrder
from app.dispatch.wire import InstructionBody, instruction_body


def _order(**changes: object) -> SendOrder:
    fields: dict[str, object] = {
        "instruction_id": 1,
        "idempotency_key": "key-1",
        "kind": "stop_payment",
        "case_no": "ZF-20261122-000123",
        "institution_code": "ICBC",
        "adapter": {},
        "account_no": "6222020200000000001",
        "holder_name": "王某",
        "amount": Decimal("1200.50"),
        "transaction_time": dt.datetime(2026, 11, 22, 8, 30, tzinfo=dt.UTC),
        "document_no": None,
        "attempt": 1,
    }
    fields.update(changes)
    return SendOrder(**fields)  # type: ignore[arg-type]


def test_an_instruction_body_reads_back_as_the_published_model() -> None:
    body = instruction_body(_order(), callback_url="http://api/callbacks/ICBC")

    model = InstructionBody.model_validate(body)

    assert model.amount == Decimal("1200.50")
    assert model.transaction_time == dt.datetime(2026, 11, 22, 8, 30, tzinfo=dt.UTC)
    assert set(body) == set(InstructionBody.model_fields)


def test_a_query_carries_no_amount_nor_time() -> None:
    body = instruction_body(
        _order(kind="query", amount=None, transaction_time=None), callback_url="http://api/cb"
    )

    assert body["amount"] is None
    assert body["transaction_time"] is None
    assert InstructionBody.model_validate(body).kind == "query"
