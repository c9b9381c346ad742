"""'My cases': the unit's cases of the last 7 days, newest first, with what each holds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.models import Role, Unit
from app.db import utcnow
from app.intake.mine import recent_cases
from app.intake.status import read_status
from tests import casework
from tests.factories import fresh_card_no, make_user
from tests.intake.conftest import sign_in


def test_the_unit_s_recent_cases_newest_first_with_what_each_holds(
    client: TestClient, db: Session
) -> None:
    stopped = casework.make_case(db, (fresh_card_no("CCB"), "45000.00"))
    unit = db.get_one(Unit, stopped.unit_id)
    taker = make_user(db, role=Role.call_taker, unit=unit, language="en")
    [stop] = casework.instructions(db, stopped)
    casework.report(client, db, stop, outcome="stopped_partial", amount_stopped="30000.00")
    newer = casework.make_case(db, (fresh_card_no("CMB"), "8000.00"))
    old = casework.make_case(db, (fresh_card_no("ABC"), "9000.00"))
    for case, minutes in ((stopped, 30), (newer, 5), (old, 8 * 24 * 60)):
        case.unit_id = unit.id
        case.received_at = utcnow() - dt.timedelta(minutes=minutes)
    elsewhere = casework.make_case(db, (fresh_card_no("ABC"), "7000.00"))  # another unit
    db.flush()

    found = recent_cases(db, user=taker, now=utcnow())
    assert [c.case_no for c in found.cases] == [newer.case_no, stopped.case_no]
    mine = found.cases[1]
    # The same figure as the case's own status page, which reads the accounts' fates.
    assert mine.amount_stopped == read_status(db, case_id=stopped.id).amount_stopped
    assert (mine.total_amount, mine.amount_stopped) == (Decimal("45000.00"), Decimal("30000.00"))
    assert mine.victim_name == "陈**"

    sign_in(client, taker)
    page = client.get("/intake/cases")
    assert page.status_code == 200, page.text
    assert f'href="/intake/cases/{stopped.case_no}"' in page.text
    assert "¥30,000.00" in page.text
    assert old.case_no not in page.text
    assert elsewhere.case_no not in page.text
    assert "陈女士" not in page.text
    assert 'data-shortcut="KeyM"' in page.text  # the header's Alt+M


def test_an_admin_has_no_cases_of_their_own(client: TestClient, db: Session) -> None:
    sign_in(client, make_user(db, role=Role.admin))
    assert client.get("/intake/cases").status_code == 403
    assert 'data-shortcut="KeyM"' not in client.get("/").text
