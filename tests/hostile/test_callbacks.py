"""Signed callbacks that try to write impossible money or crash the handler: each is a 4xx
naming its field, kept as a refused callback, and changes nothing of any instruction."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.institutions.models import Institution
from tests.callbacks.signing import outcome, post, signed
from tests.casework import onward
from tests.hostile.callbacks_fixtures import (
    CODE,
    assert_refused,
    refusals,
    signed_raw,
    snapshot,
    stop_of,
)


def _attack(
    client: TestClient, db: Session, field: str, *, amount: str = "5000.00", **changes: Any
) -> None:
    """Post the stop's outcome with `changes`; it must be refused on `field`, nothing applied."""
    case, stop = stop_of(db, amount)
    before = snapshot(db, case)
    webhook_id = f"msg_{uuid.uuid4().hex}"
    answer = post(client, CODE, signed(db, CODE, outcome(stop, **changes), webhook_id=webhook_id))
    refused = assert_refused(db, answer, field, webhook_id=webhook_id)
    assert refused.instruction_id == stop.id
    assert snapshot(db, case) == before


def test_impossible_money_is_refused(client: TestClient, db: Session) -> None:
    _attack(client, db, "data.amount_stopped", amount_stopped="99999999.00", balance="10.00")


def test_more_than_the_reported_balance_is_refused(client: TestClient, db: Session) -> None:
    _attack(
        client,
        db,
        "data.amount_stopped",
        outcome="stopped_partial",
        amount_stopped="100.00",
        balance="10.00",
    )


def test_a_full_stop_of_less_than_asked_is_refused(client: TestClient, db: Session) -> None:
    _attack(client, db, "data.amount_stopped", amount_stopped="10.00", balance="10.00")


@pytest.mark.parametrize(
    "wrong", ["frozen_full", "frozen_partial", "released", "registered", "answered"]
)
def test_an_outcome_of_another_kind_is_refused(client: TestClient, db: Session, wrong: str) -> None:
    _attack(client, db, "data.outcome", outcome=wrong)


def test_no_funds_that_stopped_money_is_refused(client: TestClient, db: Session) -> None:
    _attack(client, db, "data.amount_stopped", outcome="no_funds", amount_stopped="5000.00")


def test_no_funds_on_an_account_with_money_is_refused(client: TestClient, db: Session) -> None:
    _attack(client, db, "data.balance", outcome="no_funds", amount_stopped="0.00", balance="10.00")


def test_a_partial_hold_of_less_than_the_balance_is_refused(
    client: TestClient, db: Session
) -> None:
    outcome = "stopped_partial"
    # 1000 free of the 5000 asked, but only 100 held: an honest bank holds all 1000.
    held = {"amount_stopped": "100.00", "balance": "1000.00"}
    _attack(client, db, "data.amount_stopped", outcome=outcome, **held)


def test_a_third_decimal_is_refused_not_rounded(client: TestClient, db: Session) -> None:
    _attack(client, db, "data.amount_stopped", outcome="stopped_partial", amount_stopped="100.005")


def test_a_negative_balance_is_refused(client: TestClient, db: Session) -> None:
    _attack(client, db, "data.balance", balance="-1.00")


def test_an_amount_past_the_column_is_refused(client: TestClient, db: Session) -> None:
    _attack(client, db, "data.amount_stopped", amount_stopped=1e20)
    _attack(client, db, "data.balance", balance="1e20")


@pytest.mark.parametrize(
    "when", ["9999-12-31T00:00:00+00:00", "2000-01-01T00:00:00+00:00", "2026-12-04T10:00:00"]
)
def test_an_effective_time_out_of_range_or_without_zone_is_refused(
    client: TestClient, db: Session, when: str
) -> None:
    _attack(client, db, "data.effective_at", effective_at=when)


def test_an_effective_time_before_the_instruction_was_sent_is_refused(
    client: TestClient, db: Session
) -> None:
    sent_at = dt.datetime.now(dt.UTC)
    case, stop = stop_of(db)
    stop.first_attempt_at = sent_at
    db.flush()
    webhook_id = f"msg_{uuid.uuid4().hex}"
    early = (sent_at - dt.timedelta(minutes=6)).isoformat()
    answer = post(
        client, CODE, signed(db, CODE, outcome(stop, effective_at=early), webhook_id=webhook_id)
    )
    assert_refused(db, answer, "data.effective_at", webhook_id=webhook_id)


def test_another_kind_in_the_body_is_refused(client: TestClient, db: Session) -> None:
    _attack(client, db, "data.kind", kind="freeze")


def test_a_bogus_event_type_is_refused(client: TestClient, db: Session) -> None:
    case, stop = stop_of(db)
    body = json.dumps({"type": "totally.bogus", "data": outcome(stop)}).encode()
    headers = signed_raw(db, body)
    answer = client.post(f"/api/v1/callbacks/{CODE}", content=body, headers=headers)
    assert_refused(db, answer, "type", webhook_id=headers["webhook-id"])
    assert snapshot(db, case)[0][1] == "pending"


@pytest.mark.parametrize("field", ["reference", "idempotency_key", "mismatch_field", "kind"])
def test_a_nul_in_any_string_is_refused(client: TestClient, db: Session, field: str) -> None:
    case, stop = stop_of(db)
    before = snapshot(db, case)
    data = outcome(stop)
    data[field] = f"{data.get(field) or 'x'}\x00"
    body = json.dumps({"type": "instruction.completed", "data": data}).encode()
    headers = signed_raw(db, body)
    answer = client.post(f"/api/v1/callbacks/{CODE}", content=body, headers=headers)
    assert_refused(db, answer, f"data.{field}", webhook_id=headers["webhook-id"])
    assert snapshot(db, case) == before


def test_a_nul_in_a_key_and_in_an_onward_name_is_refused(client: TestClient, db: Session) -> None:
    case, stop = stop_of(db)
    data = outcome(
        stop,
        onward_transfers=[
            {**onward("ICBC", "6222020000000000", "10.00"), "holder_name": "王\x00某"}
        ],
    )
    data["extra\x00"] = 1
    body = json.dumps({"type": "instruction.completed", "data": data}).encode()
    headers = signed_raw(db, body)
    answer = client.post(f"/api/v1/callbacks/{CODE}", content=body, headers=headers)
    refused = assert_refused(
        db, answer, "data.onward_transfers.0.holder_name", webhook_id=headers["webhook-id"]
    )
    assert "data.extra\\u0000" in [r["field"] for r in refused.reasons]


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
        b"not json at all",
        b"\xff\xfe\x00garbage",
        b'{"type": "instruction.completed", "data": {"amount_stopped": NaN}}',
        b'{"type": "instruction.completed", "data": {"amount_stopped": 1' + b"0" * 5000 + b"}}",
        b"",
        b"null",
        b"[1, 2, 3]",
    ],
    ids=["deep-list", "deep-object", "text", "bytes", "nan", "huge-int", "empty", "null", "list"],
)
def test_a_signed_body_that_is_no_outcome_is_a_4xx_and_kept(
    client: TestClient, db: Session, body: bytes
) -> None:
    case, _ = stop_of(db)
    before = snapshot(db, case)
    headers = signed_raw(db, body)
    answer = client.post(f"/api/v1/callbacks/{CODE}", content=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"]
    [refused] = refusals(db, headers["webhook-id"])
    assert refused.instruction_id is None
    assert snapshot(db, case) == before


@pytest.mark.parametrize("body", [b"[" * 100_000, b"\x00" * 64, b"{}"])
def test_unsigned_junk_is_a_401_and_not_kept(client: TestClient, db: Session, body: bytes) -> None:
    headers = {"webhook-id": "msg_junk", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"}
    answer = client.post(f"/api/v1/callbacks/{CODE}", content=body, headers=headers)
    assert answer.status_code == 401
    junk = client.post(f"/api/v1/callbacks/{CODE}", content=body, headers={"webhook-id": "x" * 9})
    assert junk.status_code == 401
    assert refusals(db, "msg_junk") == []


def _platform(db: Session) -> str:
    code = db.scalar(select(Institution.code).where(Institution.kind == "national_platform"))
    assert code is not None
    return code


@pytest.mark.parametrize(
    ("where", "field"),
    [
        ("platform", "data.onward_transfers.0.institution"),
        ("short-card", "data.onward_transfers.0.account_no"),
        ("bad-luhn", "data.onward_transfers.0.account_no"),
        ("unknown", "data.onward_transfers.0.institution"),
        ("future", "data.onward_transfers.0.occurred_at"),
    ],
)
def test_onward_transfers_are_checked_like_intake(
    client: TestClient, db: Session, where: str, field: str
) -> None:
    card = "6222020000000000018"  # an ICBC card with a right check digit
    bank, number, minutes = "ICBC", card, 0
    if where == "platform":
        bank, number = _platform(db), "1234567890"
    elif where == "short-card":
        number = "6222"
    elif where == "bad-luhn":
        number = card[:-1] + str((int(card[-1]) + 1) % 10)
    elif where == "unknown":
        bank = "NOSUCH"
    else:
        minutes = 60 * 24 * 365 * 2
    transfer = onward(bank, number, "2000.00", minutes=minutes)
    _attack(client, db, field, onward_transfers=[transfer])


def test_a_repeated_refused_callback_is_kept_once_and_audited_once(
    client: TestClient, db: Session
) -> None:
    case, stop = stop_of(db)
    webhook_id = f"msg_{uuid.uuid4().hex}"
    bad = signed(db, CODE, outcome(stop, amount_stopped="99999999.00"), webhook_id=webhook_id)
    first, again = post(client, CODE, bad), post(client, CODE, bad)
    assert first.status_code == again.status_code == 422
    assert len(refusals(db, webhook_id)) == 1
    audited = db.scalars(
        select(Event).where(Event.kind == "callback.refused", Event.instruction_id == stop.id)
    ).all()
    assert len(audited) == 1
    assert audited[0].data["webhook_id"] == webhook_id
    # The institution's corrected outcome under a new webhook-id is applied as usual.
    fixed = post(client, CODE, signed(db, CODE, outcome(stop)))
    assert fixed.json() == {"status": "applied"}


def test_a_refused_body_is_kept_with_personal_data_masked(client: TestClient, db: Session) -> None:
    _, stop = stop_of(db)
    number = "6222020000000000018"
    transfer = {**onward("NOSUCH", number, "2000.00"), "holder_name": "王小明"}
    webhook_id = f"msg_{uuid.uuid4().hex}"
    post(
        client,
        CODE,
        signed(db, CODE, outcome(stop, onward_transfers=[transfer]), webhook_id=webhook_id),
    )
    [refused] = refusals(db, webhook_id)
    kept = refused.payload["data"]["onward_transfers"][0]
    assert kept["account_no"] != number
    assert kept["account_no"].startswith("6222")
    assert "*" in kept["account_no"]
    assert kept["holder_name"] == "王**"
    assert "王小明" not in json.dumps(refused.payload, ensure_ascii=False)
