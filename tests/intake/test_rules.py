"""The intake rules issue 17 added: institutions by name or alias (API and form), a blank
fraud type and an unconfirmed blank phone on the form, every error in one round, drafts
listed in the unit's time."""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.models import Account, Case, CaseAccount
from app.config import get_settings
from app.institutions.models import Institution
from app.intake.parsing import format_local
from tests.factories import bearer, card_no, case_payload, fresh_card_no, make_user
from tests.intake.conftest import SignedIn
from tests.intake.test_pages import scenario_1_form


def errors_of(page: str) -> dict[str, str]:
    found = re.findall(r'<span class="err" id="err-([^"]+)" role="status">([^<]+)</span>', page)
    return {name: html.unescape(message) for name, message in found}


def institutions_of(db: Session, case_no: str) -> set[str]:
    return set(
        db.scalars(
            select(Institution.code)
            .join(Account, Account.institution_id == Institution.id)
            .join(CaseAccount, CaseAccount.account_id == Account.id)
            .join(Case, Case.id == CaseAccount.case_id)
            .where(Case.case_no == case_no)
        )
    )


def test_the_api_takes_an_institution_by_its_short_name(client: TestClient, db: Session) -> None:
    payload = case_payload()
    payload["transfers"][0]["from"]["institution"] = "工行"
    payload["transfers"][0]["to"] = {
        "institution": "支付宝",
        "account_no": f"mule{uuid.uuid4().hex[:8]}@example.com",
        "holder_name": "刘某",
    }
    answer = client.post("/api/v1/cases", json=payload, headers=bearer(db, make_user(db)))
    assert answer.status_code == 201, answer.text
    assert institutions_of(db, answer.json()["case_no"]) == {"ICBC", "ALIPAY"}


def test_an_unknown_institution_name_is_a_field_error(client: TestClient, db: Session) -> None:
    payload = case_payload()
    payload["transfers"][0]["to"]["institution"] = "某某银行"
    headers = {**bearer(db, make_user(db)), "Accept-Language": "zh-CN"}
    answer = client.post("/api/v1/cases", json=payload, headers=headers)
    assert answer.status_code == 422
    errors = {e["field"]: e["message"] for e in answer.json()["errors"]}
    assert "某某银行" in errors["transfers.0.to.institution"]
    assert "工行" in errors["transfers.0.to.institution"], "it says what would be understood"


def test_the_api_accepts_a_report_without_a_phone_but_not_without_a_fraud_type(
    client: TestClient, db: Session
) -> None:
    """An integrator may not know the phone: the API takes a report without one (the form
    asks its call-taker to confirm). The fraud type the API always required."""
    headers = bearer(db, make_user(db))
    payload = case_payload(victim={"name": "陈女士", "id_no": "11010519491231002X"})
    assert client.post("/api/v1/cases", json=payload, headers=headers).status_code == 201
    del payload["fraud_type"]
    answer = client.post("/api/v1/cases", json=payload, headers=headers)
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["fraud_type"]


def test_the_form_takes_an_institution_by_its_short_name(call_taker: SignedIn, db: Session) -> None:
    form = scenario_1_form(
        call_taker,
        uuid.uuid4().hex,
        **{"transfers.0.from.institution": "工行", "transfers.0.to.institution": "建行"},
    )
    answer = call_taker.client.post("/intake", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    case_no = answer.headers["location"].rsplit("/", 1)[1]
    assert institutions_of(db, case_no) == {"ICBC", "CCB"}


def test_the_form_says_so_of_an_unknown_institution(call_taker: SignedIn) -> None:
    form = scenario_1_form(call_taker, uuid.uuid4().hex, **{"transfers.0.to.institution": "某行"})
    page = call_taker.client.post("/intake", data=form)
    assert page.status_code == 422
    assert "某行" in errors_of(page.text)["transfers.0.to.institution"]


def test_a_blank_phone_needs_the_no_phone_confirmation(call_taker: SignedIn) -> None:
    form = scenario_1_form(call_taker, uuid.uuid4().hex, **{"victim.phone": ""})
    page = call_taker.client.post("/intake", data=form)
    assert page.status_code == 422
    assert errors_of(page.text) == {
        "victim.phone": "No phone entered: type one, or press Alt+P to confirm there is none"
    }
    form["victim.no_phone"] = "on"
    answer = call_taker.client.post("/intake", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def test_a_blank_fraud_type_is_an_error_not_other(call_taker: SignedIn) -> None:
    form = scenario_1_form(call_taker, uuid.uuid4().hex, fraud_type="")
    page = call_taker.client.post("/intake", data=form)
    assert page.status_code == 422
    assert errors_of(page.text) == {"fraud_type": "Enter the fraud type"}


def test_one_post_shows_every_error_at_once(call_taker: SignedIn) -> None:
    """Unreadable, blank and rule-breaking inputs together: all of them, in one answer."""
    bad_card = card_no("CCB", 77)[:-1] + str((int(card_no("CCB", 77)[-1]) + 1) % 10)
    changes = {
        "victim.name": "",
        "victim.phone": "",
        "victim.id_no": "110105194912310021",
        "fraud_type": "",
        "transfers.0.amount": "lots",
        "transfers.0.occurred_at": "",
        "transfers.0.to.account_no": bad_card,
    }
    page = call_taker.client.post("/intake", data=scenario_1_form(call_taker, "k" * 32, **changes))
    assert page.status_code == 422
    assert set(errors_of(page.text)) == {
        "victim.name",
        "victim.phone",
        "victim.id_no",
        "fraud_type",
        "transfers.0.amount",
        "transfers.0.occurred_at",
        "transfers.0.to.account_no",
    }


def test_drafts_are_listed_in_the_units_time(call_taker: SignedIn) -> None:
    client, headers, key = call_taker.client, call_taker.api_headers, uuid.uuid4().hex
    client.put(f"/api/v1/drafts/{key}", json={"fields": {"victim.name": "王先生"}}, headers=headers)
    saved = dt.datetime.fromisoformat(
        client.get(f"/api/v1/drafts/{key}", headers=headers).json()["updated_at"]
    )
    page = client.get("/intake?new=1").text
    listed = re.search(r'<span class="muted draft-time">([^<]+)</span>', page)
    assert listed is not None
    assert listed.group(1) == format_local(saved, ZoneInfo(get_settings().timezone))
    assert "UTC" not in page.split('class="card drafts"')[1]


def test_a_fresh_card_is_still_found_by_its_bin_without_an_institution(
    call_taker: SignedIn,
) -> None:
    form = scenario_1_form(
        call_taker,
        uuid.uuid4().hex,
        **{"transfers.0.to.institution": "", "transfers.0.to.account_no": fresh_card_no("CCB")},
    )
    assert call_taker.client.post("/intake", data=form, follow_redirects=False).status_code == 303
