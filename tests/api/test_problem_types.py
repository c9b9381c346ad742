"""Every error names its own problem type, in one language, English for a machine client
that names none (docs/problems.md)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.dispatch.models import Instruction
from app.errors import PROBLEM_JSON
from tests.callbacks.signing import outcome, post, signed
from tests.casework import instructions, make_case
from tests.factories import bearer, fresh_card_no, make_user

CJK = re.compile(r"[\u4e00-\u9fff]")


def _stop(db: Session) -> Instruction:
    [stop] = instructions(db, make_case(db, (fresh_card_no("CCB"), "5000.00")))
    return stop


def _type(answer: object) -> str:
    return str(answer.json()["type"])  # type: ignore[attr-defined]


def test_each_way_a_signature_fails_is_a_problem_of_its_own(
    client: TestClient, db: Session
) -> None:
    stop = _stop(db)
    body, headers = signed(db, "CCB", outcome(stop))
    now = dt.datetime.now(dt.UTC)
    stale = signed(db, "CCB", outcome(stop), at=now - dt.timedelta(minutes=6))[1]
    in_ms = {**headers, "webhook-timestamp": str(int(now.timestamp() * 1000))}
    forged = {**headers, "webhook-signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
    missing = {k: v for k, v in headers.items() if k != "webhook-signature"}
    not_a_number = {**headers, "webhook-timestamp": "2026-11-22T01:41:03Z"}
    expected = {
        "signature-mismatch": forged,
        "timestamp-out-of-tolerance": stale,
        "timestamp-in-milliseconds": in_ms,
        "signature-headers-missing": missing,
        "timestamp-malformed": not_a_number,
    }
    seen: dict[str, tuple[str, str]] = {}
    for slug, sent in expected.items():
        # No Accept-Language: an institution is a machine, and reads English.
        answer = client.post("/api/v1/callbacks/CCB", content=body, headers=sent)
        assert answer.status_code == 401, (slug, answer.text)
        assert answer.headers["content-type"] == PROBLEM_JSON
        problem = answer.json()
        assert problem["type"] == f"/docs/problems/{slug}"
        assert not CJK.search(problem["title"] + problem["detail"]), problem
        seen[slug] = (problem["title"], problem["detail"])
    # Different problems read differently, title and detail alike.
    assert len({title for title, _ in seen.values()}) == len(expected)
    assert len({detail for _, detail in seen.values()}) == len(expected)
    assert "milliseconds" in seen["timestamp-in-milliseconds"][1]
    db.refresh(stop)
    assert stop.state == "pending"


def test_a_machine_that_asks_for_chinese_gets_chinese_throughout(
    client: TestClient, db: Session
) -> None:
    stop = _stop(db)
    body, headers = signed(db, "CCB", outcome(stop))
    forged = {**headers, "webhook-signature": "v1,AAAA", "accept-language": "zh-CN"}
    problem = client.post("/api/v1/callbacks/CCB", content=body, headers=forged).json()
    assert problem["type"] == "/docs/problems/signature-mismatch"
    assert problem["title"] == "签名不匹配"
    assert CJK.search(problem["detail"])


def test_the_service_default_language_does_not_reach_a_machine(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The service's default (for pages) is Chinese; a stranger's API call still reads English.
    monkeypatch.setattr(client.app.state.settings, "default_language", "zh-CN")  # type: ignore[attr-defined]
    answer = client.get("/api/v1/cases")
    assert answer.status_code == 401
    problem = answer.json()
    assert problem["type"] == "/docs/problems/login-required"
    assert problem["title"] == "Authentication required"
    assert client.get("/api/v1/cases", headers={"Accept-Language": "zh-CN"}).json()["title"] == (
        "需要登录"
    )


def test_callback_refusals_name_their_problem(client: TestClient, db: Session) -> None:
    stop = _stop(db)
    impossible = outcome(stop, amount_stopped="99999999.00", balance="10.00")
    assert _type(post(client, "CCB", signed(db, "CCB", impossible))) == (
        "/docs/problems/outcome-not-allowed"
    )
    unreadable = outcome(stop, outcome="vanished")
    assert _type(post(client, "CCB", signed(db, "CCB", unreadable))) == (
        "/docs/problems/malformed-body"
    )
    not_ours = outcome(stop, idempotency_key="0" * 32)
    answer = post(client, "CCB", signed(db, "CCB", not_ours))
    assert (answer.status_code, _type(answer)) == (409, "/docs/problems/unknown-instruction")
    body, headers = signed(db, "CCB", outcome(stop))
    answer = client.post("/api/v1/callbacks/NOPE", content=body, headers=headers)
    assert (answer.status_code, _type(answer)) == (404, "/docs/problems/unknown-institution")


def test_a_422_is_in_one_language(client: TestClient, db: Session) -> None:
    headers = bearer(db, make_user(db))
    bad_case = {"victim": {}, "transfers": [{"amount": "x"}]}
    for language, in_chinese in (("zh-CN", True), ("en", False)):
        asked = {**headers, "Accept-Language": language}
        for answer in (
            client.post("/api/v1/cases", json=bad_case, headers=asked),
            client.post("/api/v1/auth/tokens", json={}, headers={"Accept-Language": language}),
        ):
            assert answer.status_code == 422, answer.text
            problem = answer.json()
            assert problem["type"] == "/docs/problems/validation-failed"
            texts = [problem["title"], problem["detail"]] + [
                e["message"] for e in problem["errors"]
            ]
            assert problem["errors"]
            for text in texts:
                assert bool(CJK.search(text)) == in_chinese, (language, text)
                assert "Field required" not in text or not in_chinese


def test_every_problem_type_leads_to_its_section(client: TestClient) -> None:
    answer = client.get("/docs/problems/signature-mismatch", follow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == "/docs/problems#signature-mismatch"
    page = client.get("/docs/problems")
    assert page.status_code == 200
    assert 'id="signature-mismatch"' in page.text
    unknown = client.get("/docs/problems/no-such-thing")
    assert (unknown.status_code, _type(unknown)) == (404, "/docs/problems/not-found")
