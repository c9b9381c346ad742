"""One definition of each dashboard figure: the overview, the queue, the API and the page
agree on "open", "in flight", "escalated" and "since call"."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role, Unit, User
from app.casefile.create import create_case
from app.cases.models import Case, CaseStatus
from app.cases.schemas import CaseCreate
from app.config import Settings
from app.dashboard.figures import since_call_s
from app.db import utcnow
from app.flows import Rules
from app.pages.dashboard import dashboard_panels
from tests.casework import instructions, report
from tests.factories import bearer, case_payload, fresh_card_no, make_user, transfer_payload


def _case(db: Session, taker: User, amount: str) -> Case:
    to = {"institution": "CCB", "account_no": fresh_card_no("CCB"), "holder_name": "刘某"}
    data = CaseCreate.model_validate(
        case_payload(transfers=[transfer_payload(to=to, amount=amount)])
    )
    _, created = create_case(db, data=data, user=taker, zone=ZoneInfo("Asia/Shanghai"))
    return db.scalars(select(Case).where(Case.case_no == created.case_no)).one()


def _three_cases(client: TestClient, db: Session) -> tuple[User, Case, Case, Case]:
    """One unit: a case whose stop is escalated (its call 50 hours ago), one whose
    instructions are pending, and one settled and closed."""
    taker = make_user(db, role=Role.call_taker)
    escalated, pending, settled = (_case(db, taker, a) for a in ("8000.00", "9000.00", "700.00"))
    [stop] = instructions(db, escalated)
    stop.state, stop.attempts, stop.escalated_at = "escalated", 4, utcnow()
    stop.last_error, stop.last_failure = "CCB: answered 500", "server_error"
    escalated.received_at = utcnow() - dt.timedelta(hours=50)
    for done in instructions(db, settled) + instructions(db, settled, kind="register"):
        report(
            client,
            db,
            done,
            **(
                {}
                if done.kind == "stop_payment"
                else {"outcome": "registered", "amount_stopped": "0"}
            ),
        )
    settled.status = CaseStatus.closed.value
    db.flush()
    boss = make_user(db, role=Role.supervisor, unit=db.get_one(Unit, taker.unit_id))
    return boss, escalated, pending, settled


def _api(client: TestClient, headers: dict[str, str], panel: str) -> Any:
    answer = client.get(f"/api/v1/dashboard/{panel}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _figure(html: str, fig: str) -> int:
    found = re.search(rf'id="fig-{fig}">(\d+)<', html)
    assert found, fig
    return int(found.group(1))


def test_overview_queue_api_and_page_count_the_same_cases_and_instructions(
    client: TestClient, db: Session, settings: Settings
) -> None:
    rules = Rules.from_settings(settings)
    boss, escalated, pending, settled = _three_cases(client, db)
    headers = bearer(db, boss)
    overview = _api(client, headers, "overview")
    queue = _api(client, headers, "queue")
    # What each word means, counted by hand: the escalated case's registration and the
    # pending case's stop and registration are in flight; the escalated stop is not.
    assert (overview["cases_open"], queue["total"]) == (2, 2)
    assert overview["instructions_in_flight"] == 3
    assert overview["escalations_open"] == 1 == len(_api(client, headers, "escalations"))
    items = {i["case_no"]: i for i in queue["items"]}
    assert settled.case_no not in items
    assert (
        items[escalated.case_no]["instructions_in_flight"],
        items[escalated.case_no]["escalated"],
    ) == (1, 1)
    assert (
        items[pending.case_no]["instructions_in_flight"],
        items[pending.case_no]["escalated"],
    ) == (2, 0)
    assert sum(i["instructions_in_flight"] for i in items.values()) == 3
    assert sum(i["escalated"] for i in items.values()) == 1

    panels = dashboard_panels(db, user=boss, settings=settings, rules=rules, lang="en")
    assert _figure(panels["overview"], "open") == 2
    assert _figure(panels["overview"], "in-flight") == 3
    assert _figure(panels["overview"], "escalated") == 1
    row = panels["queue"].split(f'data-case="{escalated.case_no}"')[1].split("</tr>")[0]
    assert "1 in flight" in row
    assert "1 escalated" in row
    assert "2.1 d" in row  # since the call, 50 hours: not "3000 min"
    assert items[escalated.case_no]["since_call_s"] // 3600 == 50


def test_since_call_is_whole_seconds_and_never_negative() -> None:
    now = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
    assert since_call_s(now - dt.timedelta(seconds=90.7), now) == 90
    assert since_call_s(now + dt.timedelta(seconds=5), now) == 0
