"""Reading a signed body: every hostile shape a field problem, never an exception of Python's."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from app.callbacks.body import MAX_DEPTH, BodyRefused, read_json, storable


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "body", "callback.too_deep"),
        (
            b"[" * (MAX_DEPTH + 2) + b"]" * (MAX_DEPTH + 2),
            "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0",
            "callback.too_deep",
        ),
        (b"{", "body", "callback.not_json"),
        (b"\xff", "body", "callback.not_json"),
        (b"[Infinity]", "body", "callback.not_json"),
        (b"1" * 5000, "body", "callback.not_json"),
        (b'{"a": ["x\\u0000"]}', "a.0", "problem.nul_character"),
        (b'{"\\u0000": 1}', "\\u0000", "problem.nul_character"),
    ],
)
def test_hostile_bodies_are_field_problems(body: bytes, field: str, rule: str) -> None:
    with pytest.raises(BodyRefused) as refused:
        read_json(body)
    assert [(p.path, p.key) for p in refused.value.problems] == [(field, rule)]


def test_numbers_arrive_exact() -> None:
    assert read_json(b'{"a": 100.005, "b": 1e400}') == {
        "a": Decimal("100.005"),
        "b": Decimal("1e400"),
    }


def test_a_kept_body_is_storable_masked_and_bounded() -> None:
    value = {
        "data": {
            "amount": Decimal("12.50"),
            "huge": Decimal("1e400"),
            "onward_transfers": [
                {"account_no": "6222 0200 0000 0000 018", "holder_name": "王小明"}
            ],
            "note": "x" * 10_000,
            "deep": [[[[[[[[1]]]]]]]],
        }
    }
    kept = storable(value, masked=True)
    json.dumps(kept, allow_nan=False)
    data = kept["data"]
    assert (data["amount"], data["huge"]) == (12.5, "1E+400")
    assert data["onward_transfers"][0] == {
        "account_no": "6222***********0018",
        "holder_name": "王**",
    }
    assert len(data["note"]) == 200
    assert "…" in json.dumps(data["deep"], ensure_ascii=False)
