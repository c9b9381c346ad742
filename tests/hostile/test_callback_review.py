"""Review findings on signed callbacks and intake: each hostile body is a 4xx naming its
field (never a 500), its refusal kept with what it named, and nothing applied."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, event, select, text
from sqlalchemy.orm import Session

from app.callbacks.models import RefusedCallback
from app.callbacks.refusals import latest_refused
from app.callbacks.schemas import refused_read
from app.cases.models import Account
from app.db import utcnow
from app.deps import DbSession
from app.errors import PROBLEM_JSON
from tests.callbacks.signing import outcome, post, signed
from tests.casework import onward, supervisor_of
from tests.factories import (
    bearer,
    case_payload,
    fresh_card_no,
    institution,
    make_user,
    transfer_payload,
)
from tests.hostile.callbacks_fixtures import (
    CODE,
    assert_refused,
    refusals,
    signed_raw,
    snapshot,
    stop_of,
)

SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _raw_event(data: dict[str, Any], **replace: str) -> bytes:
    """The event as JSON text, each `"<name>": "@@"` then replaced by raw JSON text."""
    text = json.dumps({"type": "instruction.completed", "data": data})
    for name, raw in replace.items():
        text = text.replace(f'"{name}": "@@"', f'"{name}": {raw}')
    return text.encode()


def _post_raw(client: TestClient, db: Session, body: bytes) -> tuple[Any, str]:
    headers = signed_raw(db, body)
    return client.post(f"/api/v1/callbacks/{CODE}", content=body, headers=headers), headers[
        "webhook-id"
    ]


@pytest.mark.parametrize("exponent", ["1e9999999999999999999", "-1E+99999999999999999999"])
def test_a_huge_exponent_is_refused_and_kept(
    client: TestClient, db: Session, exponent: str
) -> None:
    case, stop = stop_of(db)
    before = snapshot(db, case)
    body = _raw_event(outcome(stop, amount_stopped="@@"), amount_stopped=exponent)
    answer, webhook_id = _post_raw(client, db, body)
    assert_refused(db, answer, "body", webhook_id=webhook_id)
    assert snapshot(db, case) == before


@pytest.mark.parametrize("where", ["extra", "key", "reference"])
def test_a_lone_surrogate_is_refused_naming_its_path(
    client: TestClient, db: Session, where: str
) -> None:
    case, stop = stop_of(db)
    before = snapshot(db, case)
    data = outcome(stop)
    if where == "key":
        data["x@@"] = 1
        body = json.dumps({"type": "instruction.completed", "data": data}).encode()
        body = body.replace(b"x@@", b"x\\udc80")
        field = "data.x\\udc80"
    else:
        data[where] = "@@"
        body = _raw_event(data, **{where: '"a\\ud800b"'})
        field = f"data.{where}"
    answer, webhook_id = _post_raw(client, db, body)
    refused = assert_refused(db, answer, field, webhook_id=webhook_id)
    # The refusal names the instruction and keeps the body, the surrogate replaced.
    assert refused.instruction_id == stop.id
    assert refused.payload["data"]["idempotency_key"] == stop.idempotency_key
    assert snapshot(db, case) == before


def test_a_lone_surrogate_elsewhere_is_a_422_naming_the_field_in_chinese(
    client: TestClient, db: Session
) -> None:
    # Pydantic refused it already, in English; app/nul.py now names it in the reader's words.
    taker = {**bearer(db, make_user(db)), "accept-language": "zh-CN"}
    body = json.dumps(case_payload(), ensure_ascii=False).replace('"刘某"', '"\\ud800"', 1)
    answer = client.post(
        "/api/v1/cases",
        content=body.encode(),
        headers={**taker, "content-type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    [error] = answer.json()["errors"]
    assert error["field"] == "transfers.0.to.holder_name"
    assert error["type"] == "lone_surrogate"
    assert "代理项" in error["message"]


@pytest.mark.parametrize("digits", [SUPERSCRIPT, FULL_WIDTH], ids=["superscript", "full-width"])
def test_unicode_digits_at_intake_are_the_ascii_account(
    client: TestClient, db: Session, digits: dict[int, str]
) -> None:
    card = fresh_card_no("CCB")
    shown = card[:-3] + card[-3:].translate(digits)
    to = {"account_no": shown, "holder_name": "刘某"}
    payload = case_payload(transfers=[transfer_payload(to=to)])
    answer = client.post("/api/v1/cases", json=payload, headers=bearer(db, make_user(db)))
    assert answer.status_code == 201, answer.text
    norms = db.scalars(select(Account.account_no_norm).where(Account.account_no_norm == card))
    assert list(norms) == [card]


def test_an_ethiopic_digit_is_refused_at_intake(client: TestClient, db: Session) -> None:
    to = {"institution": "CCB", "account_no": "622700123456789012\u1369", "holder_name": "刘某"}
    payload = case_payload(transfers=[transfer_payload(to=to)])
    answer = client.post("/api/v1/cases", json=payload, headers=bearer(db, make_user(db)))
    assert answer.status_code == 422, answer.text
    assert "transfers.0.to.account_no" in [e["field"] for e in answer.json()["errors"]]


def test_an_onward_card_in_superscript_digits_is_followed_as_its_ascii_number(
    client: TestClient, db: Session
) -> None:
    _, stop = stop_of(db)
    card = "6222020000000000018"
    transfer = onward("ICBC", card[:-2] + card[-2:].translate(SUPERSCRIPT), "2000.00")
    data = outcome(stop, onward_transfers=[transfer], outcome="no_funds", amount_stopped="0.00")
    answer = post(client, CODE, signed(db, CODE, data))
    assert answer.status_code == 200, answer.text
    assert db.scalar(select(Account.id).where(Account.account_no_norm == card)) is not None


def test_deep_text_plain_with_an_idempotency_key_is_a_4xx(client: TestClient, db: Session) -> None:
    from tests.casework import make_case

    case = make_case(db, (fresh_card_no("CCB"), "100.00"))
    headers = {
        **supervisor_of(db, case),
        "content-type": "text/plain",
        "Idempotency-Key": uuid.uuid4().hex,
    }
    for body in (b"[" * 100_000, b'{"a": 1e9999999999999999999}'):
        answer = client.post(f"/api/v1/cases/{case.case_no}/queries", content=body, headers=headers)
        assert 400 <= answer.status_code < 500, answer.text


def test_a_too_deep_body_is_kept_bounded_with_its_instruction(
    client: TestClient, db: Session
) -> None:
    _, stop = stop_of(db)
    nested: Any = "bottom"
    for _ in range(30):
        nested = {"n": nested}
    event = {"type": "instruction.completed", "data": outcome(stop, x=nested)}
    answer, webhook_id = _post_raw(client, db, json.dumps(event).encode())
    assert answer.status_code == 422
    [refused] = refusals(db, webhook_id)
    assert refused.instruction_id == stop.id
    assert refused.payload["data"]["idempotency_key"] == stop.idempotency_key
    assert "bottom" not in json.dumps(refused.payload)


def test_a_pydantic_rule_reads_in_the_readers_language(client: TestClient, db: Session) -> None:
    _, stop = stop_of(db)
    webhook_id = f"msg_{uuid.uuid4().hex}"
    body, headers = signed(db, CODE, outcome(stop, balance="lots"), webhook_id=webhook_id)
    answer = client.post(
        f"/api/v1/callbacks/{CODE}", content=body, headers={**headers, "accept-language": "zh-CN"}
    )
    refused = assert_refused(db, answer, "data.balance", webhook_id=webhook_id)
    [error] = [e for e in answer.json()["errors"] if e["field"] == "data.balance"]
    assert error["message"] == "不是有效的金额"
    [reason] = [r for r in refused_read(refused, "zh-CN").reasons if r.field == "data.balance"]
    assert reason.message == "不是有效的金额"
    [reason] = [r for r in refused_read(refused, "en").reasons if r.field == "data.balance"]
    assert reason.message == "Not a valid amount"


def test_a_long_webhook_id_is_kept_as_a_refusal_once(client: TestClient, db: Session) -> None:
    case, stop = stop_of(db)
    before = snapshot(db, case)
    long_id = "msg_" + "x" * 300
    once = signed(db, CODE, outcome(stop), webhook_id=long_id)
    first, again = post(client, CODE, once), post(client, CODE, once)
    assert first.status_code == again.status_code == 422, first.text
    assert "headers.webhook-id" in [e["field"] for e in first.json()["errors"]]
    kept = db.scalars(
        select(RefusedCallback).where(RefusedCallback.webhook_id.startswith("msg_xxx"))
    ).all()
    assert len(kept) == 1
    assert len(kept[0].webhook_id) <= 128
    assert kept[0].instruction_id == stop.id
    assert snapshot(db, case) == before


def test_the_latest_refusals_are_five_per_institution_within_the_window(db: Session) -> None:
    ccb, icbc = (institution(db, code) for code in ("CCB", "ICBC"))
    db.execute(delete(RefusedCallback))
    now = utcnow()
    ages = {ccb.id: range(9), icbc.id: range(2)}
    for inst_id, hours in ages.items():
        for h in hours:  # oldest first, so the newest has the highest id
            at = now - dt.timedelta(hours=10 - h)
            name = f"msg_{inst_id}_{h}"
            row = RefusedCallback(institution_id=inst_id, webhook_id=name, reasons=[])
            db.add(row)
            row.received_at = at
    db.flush()
    latest = latest_refused(db)
    assert [r.webhook_id for r in latest[ccb.id]] == [f"msg_{ccb.id}_{h}" for h in (8, 7, 6, 5, 4)]
    assert len(latest[icbc.id]) == 2
    windowed = latest_refused(db, since=now - dt.timedelta(hours=3, minutes=30))
    assert [r.webhook_id for r in windowed[ccb.id]] == [f"msg_{ccb.id}_{h}" for h in (8, 7)]
    assert icbc.id not in windowed


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL run on `engine` inside the block."""
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(" ".join(str(args[2]).split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_repeat_is_answered_before_any_check_and_onward_reads_no_registry(
    client: TestClient, db: Session, engine: Engine
) -> None:
    _, stop = stop_of(db)
    _, other = stop_of(db)
    transfer = onward("ICBC", "6222020000000000018", "2000.00")
    post(client, CODE, signed(db, CODE, outcome(other, onward_transfers=[transfer])))
    once = signed(db, CODE, outcome(stop, onward_transfers=[transfer]))
    with _statements(engine) as first:
        assert post(client, CODE, once).json() == {"status": "applied"}
    assert any("INSERT INTO callback_inbox" in s for s in first)
    # The registry was read (and its BIN index built) for the earlier callback, not again.
    assert not [s for s in first if s.endswith("FROM institution WHERE institution.is_active")]
    with _statements(engine) as again:
        assert post(client, CODE, once).json() == {"status": "duplicate"}
    # No instruction locked, no rule checked: the inbox answered.
    assert not [s for s in again if "FOR UPDATE" in s or "FROM instruction" in s], again


@pytest.mark.parametrize("column", ["text", "jsonb"])
@pytest.mark.usefixtures("db")
def test_a_lone_surrogate_reaching_postgresql_is_a_422_not_a_500(app: FastAPI, column: str) -> None:
    # A route that writes text no check saw: the backstop in app/errors.py answers.
    def write(db: DbSession) -> None:
        value = "a\ud800" if column == "text" else json.dumps("a\ud800")
        db.execute(text(f"SELECT CAST(:v AS {column})"), {"v": value})

    app.add_api_route("/api/v1/_surrogate", write, methods=["POST"])
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.post("/api/v1/_surrogate", headers={"accept-language": "en"})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert "surrogate" in answer.json()["detail"]
