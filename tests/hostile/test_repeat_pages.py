"""Our own pages send a fresh Idempotency-Key with each action form: a double click on one
rendering of a form is one action."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import Role, Unit
from app.db import utcnow
from app.dispatch.models import Instruction
from tests.factories import make_user
from tests.hostile.repeat_fixtures import Scene, bounced, escalated, holding
from tests.intake.conftest import sign_in

FORM = re.compile(r"<form class=\"(api|return|resend)\"[^>]*>")
KEY = re.compile(r'data-idempotency-key="([0-9a-f]{32})"')


def _keys(html: str) -> list[str]:
    forms = [m.group(0) for m in FORM.finditer(html)]
    assert forms, "no action form on the page"
    keys = [KEY.search(form) for form in forms]
    assert all(keys), [f for f, k in zip(forms, keys, strict=True) if not k]
    return [k.group(1) for k in keys if k]


def test_every_action_form_on_the_case_page_carries_its_own_key(
    client: TestClient, db: Session
) -> None:
    scene = Scene(db)
    sign_in(client, make_user(db, role=Role.supervisor, unit=db.get_one(Unit, scene.case.unit_id)))
    first = _keys(client.get(f"/dashboard/cases/{scene.case.case_no}").text)
    assert len(first) >= 5  # freeze, renew, release, query, propose a return
    assert len(set(first)) == len(first)
    again = _keys(client.get(f"/dashboard/cases/{scene.case.case_no}").text)
    assert not set(first) & set(again)


def test_a_double_click_on_the_resend_form_resends_once(client: TestClient, db: Session) -> None:
    scene = Scene(db)
    bounced(scene.stop)
    db.flush()
    unit = db.get_one(Unit, scene.case.unit_id)
    taker = sign_in(client, make_user(db, role=Role.call_taker, unit=unit))
    [key] = _keys(client.get(f"/intake/cases/{scene.case.case_no}").text)
    url = scene.url(f"instructions/{scene.stop.id}/resend")
    headers = {**taker.api_headers, "Idempotency-Key": key}
    clicks = [client.post(url, json={"holder_name": "刘某某"}, headers=headers) for _ in range(2)]
    assert [c.status_code for c in clicks] == [201, 201]
    assert clicks[0].json() == clicks[1].json()
    count = select(func.count()).where(Instruction.replaces_id == scene.stop.id)
    assert db.scalar(count) == 1


def test_the_dashboards_escalation_and_deadline_forms_carry_keys_too(
    client: TestClient, db: Session
) -> None:
    lapsing, phoned = Scene(db), Scene(db)
    holding(lapsing.stop, lapsing.amount)
    lapsing.stop.expires_at = utcnow() + dt.timedelta(hours=1)
    escalated(phoned.stop)
    phoned.case.unit_id = lapsing.case.unit_id
    db.flush()
    unit = db.get_one(Unit, lapsing.case.unit_id)
    sign_in(client, make_user(db, role=Role.supervisor, unit=unit))
    page = client.get("/dashboard").text
    assert f"/cases/{lapsing.case.case_no}/freezes" in page
    assert f"/escalations/{phoned.stop.id}/handled" in page
    keys = _keys(page)
    assert len(keys) >= 2
    assert len(set(keys)) == len(keys)
