"""The form at /intake without JavaScript: a plain POST, the same rules as the API."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.cases.models import Case, Transfer
from tests.factories import card_no, fresh_card_no, make_user
from tests.intake.conftest import SignedIn, sign_in


def scenario_1_form(signed_in: SignedIn, key: str, **changes: str) -> dict[str, str]:
    """Scenario 1 as a call-taker types it into the form."""
    fields = {
        "csrf_token": signed_in.csrf,
        "draft_key": key,
        "received_at": "2 min ago",
        "channel": "phone_call",
        "victim.name": "陈女士",
        "victim.id_no": "11010519491231002X",
        "victim.phone": "13800138000",
        "fraud_type": "Impersonating customer service (refund, ticket change)",
        "narrative": "自称航空公司客服，称航班取消可办理改签退款。",
        "transfers.0.from.account_no": card_no("ICBC", 900_000),
        "transfers.0.to.account_no": fresh_card_no("CCB"),
        "transfers.0.to.holder_name": "刘某",
        "transfers.0.amount": "45.54万",
        "transfers.0.occurred_at": "20 min ago",
        "transfers.0.channel": "mobile_banking",
        "contacts.0.kind": "phone",
        "contacts.0.value": "+85261234567",
    }
    fields.update(changes)
    return fields


def test_the_form_is_served_to_call_takers_in_their_language(
    client: TestClient, db: Session
) -> None:
    sign_in(client, make_user(db, role=Role.call_taker, language="zh-CN"))
    page = client.get("/intake")
    assert page.status_code == 200
    assert "接警录入" in page.text
    assert 'name="transfers.0.to.account_no"' in page.text
    assert "/static/intake.js" in page.text


def test_admins_do_not_take_calls(client: TestClient, db: Session) -> None:
    sign_in(client, make_user(db, role=Role.admin))
    assert client.get("/intake").status_code == 403


def test_a_plain_post_creates_the_case_and_goes_to_its_status(
    call_taker: SignedIn, db: Session
) -> None:
    key = uuid.uuid4().hex
    form = scenario_1_form(call_taker, key)
    first = call_taker.client.post("/intake", data=form, follow_redirects=False)
    assert first.status_code == 303, first.text
    assert re.fullmatch(r"/intake/cases/ZF-\d{8}-\d+", first.headers["location"])
    # Sent again (a double click, a browser resubmit): the same case, not a second one.
    again = call_taker.client.post("/intake", data=form, follow_redirects=False)
    assert again.headers["location"] == first.headers["location"]
    case_no = first.headers["location"].rsplit("/", 1)[1]
    case = db.scalars(select(Case).where(Case.case_no == case_no)).one()
    assert str(case.total_amount) == "455400.00"
    assert case.fraud_type == "impersonate_customer_service"
    assert db.scalars(select(Transfer).where(Transfer.case_id == case.id)).one().amount == 455400


def test_a_refused_post_re_renders_with_each_error_beside_its_input(
    call_taker: SignedIn, db: Session
) -> None:
    key = uuid.uuid4().hex
    bad_card = card_no("CCB", 77)[:-1] + str((int(card_no("CCB", 77)[-1]) + 1) % 10)
    form = scenario_1_form(
        call_taker,
        key,
        **{"transfers.0.to.account_no": bad_card, "transfers.0.amount": "lots", "fraud_type": ""},
    )
    page = call_taker.client.post("/intake", data=form)
    assert page.status_code == 422
    errors = dict(
        re.findall(r'<span class="err" id="err-([^"]+)" role="status">([^<]+)</span>', page.text)
    )
    # Every error in one round: the card's check digit too, though the amount is unreadable.
    assert errors == {
        "transfers.0.amount": "Not an amount (e.g. 45.54万, 455,400)",
        "fraud_type": "Enter the fraud type",
        "transfers.0.to.account_no": "The card number&#39;s check digit is wrong; check for a typo",
    }
    # The typed text comes back as typed.
    assert 'value="lots"' in page.text
    # Nothing stored, and the key is still free for the corrected report.
    assert (
        db.scalar(
            select(Case).where(
                Case.victim_name == "陈女士", Case.call_taker_id == call_taker.user.id
            )
        )
        is None
    )
    form.update(
        {
            "transfers.0.amount": "455,400",
            "fraud_type": "impersonate_customer_service",
            "transfers.0.to.account_no": fresh_card_no("CCB"),
        }
    )
    assert call_taker.client.post("/intake", data=form, follow_redirects=False).status_code == 303


def test_a_post_without_the_session_token_is_refused(call_taker: SignedIn) -> None:
    form = scenario_1_form(call_taker, uuid.uuid4().hex, csrf_token="forged")
    assert call_taker.client.post("/intake", data=form).status_code == 403


def test_the_latest_open_draft_reopens_and_a_submitted_one_does_not(call_taker: SignedIn) -> None:
    client, headers, key = call_taker.client, call_taker.api_headers, uuid.uuid4().hex
    client.put(f"/api/v1/drafts/{key}", json={"fields": {"victim.name": "王先生"}}, headers=headers)
    page = client.get("/intake")
    assert f'name="draft_key" value="{key}"' in page.text
    assert 'value="王先生"' in page.text
    assert f'name="draft_key" value="{key}"' not in client.get("/intake?new=1").text

    form = scenario_1_form(call_taker, key)
    done = client.post("/intake", data=form, follow_redirects=False)
    assert done.status_code == 303
    assert client.get(f"/api/v1/drafts/{key}", headers=headers).status_code == 404
    assert f'value="{key}"' not in client.get("/intake").text
    reopened = client.get(f"/intake?draft={key}", follow_redirects=False)
    assert reopened.headers["location"] == done.headers["location"]
