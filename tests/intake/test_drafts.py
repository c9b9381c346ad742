"""Drafts: saved as the call-taker types, one per user and call, gone once submitted."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.errors import PROBLEM_JSON
from tests.factories import bearer, case_payload, make_user
from tests.intake.conftest import SignedIn, sign_in


def _key() -> str:
    return uuid.uuid4().hex


def test_a_draft_is_saved_replaced_read_listed_and_deleted(call_taker: SignedIn) -> None:
    client, headers, key = call_taker.client, call_taker.api_headers, _key()
    first = client.put(
        f"/api/v1/drafts/{key}", json={"fields": {"victim.name": "陈"}}, headers=headers
    )
    assert first.status_code == 200, first.text
    second = client.put(
        f"/api/v1/drafts/{key}",
        json={"fields": {"victim.name": "陈女士", "transfers.0.amount": "45.54万"}},
        headers=headers,
    )
    assert second.json()["fields"] == {"victim.name": "陈女士", "transfers.0.amount": "45.54万"}

    read = client.get(f"/api/v1/drafts/{key}", headers=headers).json()
    assert read["fields"]["transfers.0.amount"] == "45.54万"
    assert read["case_no"] is None
    listed = client.get("/api/v1/drafts", headers=headers).json()
    assert [(d["draft_key"], d["victim_name"]) for d in listed] == [(key, "陈女士")]

    assert client.delete(f"/api/v1/drafts/{key}", headers=headers).status_code == 204
    gone = client.get(f"/api/v1/drafts/{key}", headers=headers)
    assert gone.status_code == 404
    assert gone.headers["content-type"] == PROBLEM_JSON
    assert client.get("/api/v1/drafts", headers=headers).json() == []


def test_a_session_user_must_send_the_csrf_token(call_taker: SignedIn) -> None:
    answer = call_taker.client.put(
        f"/api/v1/drafts/{_key()}", json={"fields": {}}, headers={"Accept": "application/json"}
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"] == PROBLEM_JSON


def test_drafts_are_private_to_their_user(
    call_taker: SignedIn, client: TestClient, db: Session
) -> None:
    key = _key()
    saved = call_taker.client.put(
        f"/api/v1/drafts/{key}", json={"fields": {"a": "x"}}, headers=call_taker.api_headers
    )
    assert saved.status_code == 200
    other = bearer(db, make_user(db, role=Role.call_taker))
    assert client.get(f"/api/v1/drafts/{key}", headers=other).status_code == 404
    assert client.get("/api/v1/drafts", headers=other).json() == []


def test_a_submitted_draft_names_its_case_and_leaves_the_list(
    client: TestClient, db: Session
) -> None:
    user = make_user(db, role=Role.call_taker)
    headers, key = bearer(db, user), _key()
    client.put(f"/api/v1/drafts/{key}", json={"fields": {"victim.name": "陈女士"}}, headers=headers)
    created = client.post(
        "/api/v1/cases", json=case_payload(), headers={**headers, "Idempotency-Key": key}
    )
    assert created.status_code == 201, created.text
    assert client.get("/api/v1/drafts", headers=headers).json() == []
    read = client.get(f"/api/v1/drafts/{key}", headers=headers).json()
    assert read["case_no"] == created.json()["case_no"]


def test_bad_drafts_are_field_errors_not_server_errors(call_taker: SignedIn) -> None:
    client, headers = call_taker.client, call_taker.api_headers
    nul = client.put(
        f"/api/v1/drafts/{_key()}", json={"fields": {"narrative": "a\x00b"}}, headers=headers
    )
    assert nul.status_code == 422
    assert "NUL" in nul.json()["detail"]
    too_long = client.put(
        f"/api/v1/drafts/{_key()}", json={"fields": {"narrative": "x" * 20_001}}, headers=headers
    )
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"] == "fields.narrative"
    bad_key = client.put("/api/v1/drafts/short", json={"fields": {}}, headers=headers)
    assert bad_key.status_code == 422


def test_supervisors_may_keep_drafts_but_admins_take_no_calls(
    client: TestClient, db: Session
) -> None:
    supervisor = sign_in(client, make_user(db, role=Role.supervisor))
    assert client.get("/api/v1/drafts", headers=supervisor.api_headers).status_code == 200
    admin = bearer(db, make_user(db, role=Role.admin))
    assert client.get("/api/v1/drafts", headers=admin).status_code == 403


def test_a_csrf_token_that_is_not_ascii_is_refused_not_an_error(call_taker: SignedIn) -> None:
    client = call_taker.client
    for sent in ("é" * 43, call_taker.csrf + "é"):  # as a browser may send it: Latin-1 bytes
        headers = {"X-CSRF-Token": sent.encode("latin-1")}
        answer = client.put("/api/v1/drafts/draft-0001", json={"fields": {}}, headers=headers)
        assert answer.status_code == 403, answer.text
    page = client.get("/login")
    login = client.post("/login", data={"username": "x", "password": "y", "csrf_token": "é"})
    assert page.status_code == 200
    assert login.status_code == 403
