"""Our own pages send an Idempotency-Key with each action: made in the browser on a form's
first submit and kept until a definite answer, so a double click is one action. Pages
render no key, so an unchanged panel renders the same and the live streams send nothing."""

from __future__ import annotations

import datetime as dt
import re
import uuid

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


def _forms(html: str) -> list[str]:
    forms = [m.group(0) for m in FORM.finditer(html)]
    assert forms, "no action form on the page"
    assert not [f for f in forms if "data-idempotency-key" in f]  # made by the browser
    return forms


def test_two_renders_of_an_unchanged_case_page_are_identical(
    client: TestClient, db: Session
) -> None:
    scene = Scene(db)
    sign_in(client, make_user(db, role=Role.supervisor, unit=db.get_one(Unit, scene.case.unit_id)))
    first = client.get(f"/dashboard/cases/{scene.case.case_no}").text
    assert len(_forms(first)) >= 5  # freeze, renew, release, query, propose a return
    assert client.get(f"/dashboard/cases/{scene.case.case_no}").text == first


def test_two_renders_of_an_unchanged_status_page_are_identical(
    client: TestClient, db: Session
) -> None:
    scene = Scene(db)
    bounced(scene.stop)
    db.flush()
    sign_in(client, make_user(db, role=Role.call_taker, unit=db.get_one(Unit, scene.case.unit_id)))
    first = client.get(f"/intake/cases/{scene.case.case_no}").text
    assert _forms(first)
    assert client.get(f"/intake/cases/{scene.case.case_no}").text == first


def test_a_double_click_on_the_resend_form_resends_once(client: TestClient, db: Session) -> None:
    scene = Scene(db)
    bounced(scene.stop)
    db.flush()
    unit = db.get_one(Unit, scene.case.unit_id)
    taker = sign_in(client, make_user(db, role=Role.call_taker, unit=unit))
    [_] = _forms(client.get(f"/intake/cases/{scene.case.case_no}").text)
    key = uuid.uuid4().hex  # what status.js makes on the first click and keeps
    url = scene.url(f"instructions/{scene.stop.id}/resend")
    headers = {**taker.api_headers, "Idempotency-Key": key}
    clicks = [client.post(url, json={"holder_name": "刘某某"}, headers=headers) for _ in range(2)]
    assert [c.status_code for c in clicks] == [201, 201]
    assert clicks[0].json() == clicks[1].json()
    count = select(func.count()).where(Instruction.replaces_id == scene.stop.id)
    assert db.scalar(count) == 1


def test_the_dashboards_escalation_and_deadline_forms_render_the_same_twice(
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
    assert len(_forms(page)) >= 2
    assert client.get("/dashboard").text == page  # nothing changed: the same fragments
