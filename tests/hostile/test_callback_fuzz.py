"""Property: whatever a signed body holds, the answer is a 4xx, the body is kept once as a
refused callback, and no instruction changes."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.dispatch.models import Instruction
from tests.callbacks.signing import outcome
from tests.hostile.callbacks_fixtures import CODE, refusals, signed_raw, snapshot, stop_of

FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Text as hostile as JSON can carry: NUL, lone surrogates are not encodable, so left out.
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=15,
)
# Each makes an outcome impossible whatever else the body says.
POISON = st.sampled_from(
    [
        ("amount_stopped", "99999999.00"),
        ("amount_stopped", "100.005"),
        ("amount_stopped", 1e20),
        ("amount_stopped", -1),
        ("amount_stopped", "NaN"),
        ("balance", "-0.01"),
        ("outcome", "frozen_full"),
        ("outcome", "registered"),
        ("outcome", "totally.bogus"),
        ("effective_at", "9999-12-31T00:00:00+00:00"),
        ("effective_at", "0001-01-01T00:00:00+14:00"),
        ("effective_at", "2026-12-04T10:00:00"),
        ("reference", "a\x00b"),
        ("kind", "freeze"),
        ("idempotency_key", "nobody's"),
        ("onward_transfers", [{"institution": "ICBC", "account_no": "6222", "amount": "1.00"}]),
        ("onward_transfers", "not a list"),
    ]
)
# Numbers as raw JSON text (json.dumps cannot write them): exponents past what Decimal holds.
EXPONENT = st.builds(
    "{}{}e{}{}".format,
    st.sampled_from(["", "-"]),
    st.sampled_from(["1", "0", "9.99", "0.0"]),
    st.sampled_from(["", "+", "-"]),
    st.integers(min_value=0, max_value=10**30),
)
# Fields no poison above can be undone by.
FREE_FIELDS = st.sampled_from(["reference", "mismatch_field", "cashed_out", "balance", "x\x00"])


def _post_and_check(client: TestClient, db: Session, case: Case, body: bytes) -> None:
    before = snapshot(db, case)
    headers = signed_raw(db, body)
    answer = client.post(f"/api/v1/callbacks/{CODE}", content=body, headers=headers)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert len(refusals(db, headers["webhook-id"])) == 1
    assert snapshot(db, case) == before


def test_any_signed_json_is_refused_and_kept_once(client: TestClient, db: Session) -> None:
    case, _ = stop_of(db)

    @FUZZ
    @given(value=JSON)
    def check(value: Any) -> None:
        _post_and_check(client, db, case, json.dumps(value).encode())

    check()


def test_any_signed_bytes_are_refused_and_kept_once(client: TestClient, db: Session) -> None:
    case, _ = stop_of(db)

    @FUZZ
    @given(body=st.binary(max_size=300))
    def check(body: bytes) -> None:
        _post_and_check(client, db, case, body)

    check()


def test_a_number_with_any_exponent_is_refused_and_kept_once(
    client: TestClient, db: Session
) -> None:
    case, stop = stop_of(db)

    @FUZZ
    @given(field=st.sampled_from(["amount_stopped", "balance", "extra"]), number=EXPONENT)
    def check(field: str, number: str) -> None:
        # Another kind than the instruction's: refused whatever the number turns out to be.
        data = outcome(stop, kind="freeze")
        data[field] = "@@"
        text = json.dumps({"type": "instruction.completed", "data": data})
        text = text.replace('"@@"', number)
        _post_and_check(client, db, case, text.encode())

    check()
    db.expire_all()
    assert db.get_one(Instruction, stop.id).state == "pending"


def test_an_outcome_with_hostile_values_is_refused_and_kept_once(
    client: TestClient, db: Session
) -> None:
    case, stop = stop_of(db)

    @FUZZ
    @given(
        poison=POISON,
        extra=st.dictionaries(FREE_FIELDS, JSON, max_size=3),
        event_type=st.sampled_from(["instruction.completed"]) | TEXT,
        timestamp=st.none() | JSON,
    )
    def check(
        poison: tuple[str, Any], extra: dict[str, Any], event_type: str, timestamp: Any
    ) -> None:
        data = outcome(stop) | extra
        data[poison[0]] = poison[1]
        event: dict[str, Any] = {"type": event_type, "data": data}
        if timestamp is not None:
            event["timestamp"] = timestamp
        _post_and_check(client, db, case, json.dumps(event).encode())

    check()
    db.expire_all()
    assert db.get_one(Instruction, stop.id).state == "pending"
