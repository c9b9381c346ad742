"""A bounced stop-payment is corrected and resent once, with fields checked as intake checks
them: a second resend is a 409 naming the first, a time out of the report's window a 422."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.service import record_event
from app.db import make_engine, make_sessionmaker, transaction, utcnow
from app.dispatch.models import Instruction, InstructionKind
from app.dispatch.service import InstructionOrder, create_instructions
from app.migrate import downgrade, upgrade
from tests.conftest import migrated_database
from tests.factories import make_user
from tests.hostile.repeat_fixtures import Scene, bounced


def _resend(client: TestClient, scene: Scene, original: int, body: dict[str, Any]) -> Any:
    url = scene.url(f"instructions/{original}/resend")
    return client.post(url, json=body, headers=scene.headers)


def _stops(db: Session, scene: Scene) -> int:
    query = select(func.count()).where(
        Instruction.case_id == scene.case.id, Instruction.kind == "stop_payment"
    )
    return db.scalar(query) or 0


@pytest.fixture
def scene(db: Session) -> Scene:
    scene = Scene(db)
    bounced(scene.stop)
    db.flush()
    return scene


def test_a_second_resend_while_the_first_is_under_way_is_a_409_naming_it(
    client: TestClient, db: Session, scene: Scene
) -> None:
    first = _resend(client, scene, scene.stop.id, {"holder_name": "刘某某"})
    assert first.status_code == 201, first.text
    replacement = first.json()["id"]
    for body in ({"holder_name": "刘某某"}, {"holder_name": "刘某"}, {}):
        again = _resend(client, scene, scene.stop.id, body)
        assert again.status_code == 409, again.text
        assert again.headers["content-type"] == "application/problem+json"
        assert again.json()["replacement_id"] == replacement
        assert str(replacement) in again.json()["detail"]
    assert _stops(db, scene) == 2


def test_a_second_resend_after_the_first_finished_is_a_409_naming_it(
    client: TestClient, db: Session, scene: Scene
) -> None:
    first = _resend(client, scene, scene.stop.id, {"holder_name": "刘某某"})
    replacement = db.get_one(Instruction, first.json()["id"])
    replacement.state, replacement.outcome = "done", "stopped_full"
    replacement.amount_stopped = replacement.amount_requested
    replacement.effective_at = utcnow()
    replacement.expires_at = utcnow() + dt.timedelta(hours=48)
    db.flush()
    again = _resend(client, scene, scene.stop.id, {"holder_name": "刘某某"})
    assert again.status_code == 409, again.text
    assert again.json()["replacement_id"] == replacement.id
    assert _stops(db, scene) == 2


def test_a_resend_that_bounced_too_can_itself_be_corrected_once(
    client: TestClient, db: Session, scene: Scene
) -> None:
    first = _resend(client, scene, scene.stop.id, {"holder_name": "刘某某"})
    replacement = db.get_one(Instruction, first.json()["id"])
    bounced(replacement, "amount")
    db.flush()
    second = _resend(client, scene, replacement.id, {"amount": "4999.00"})
    assert second.status_code == 201, second.text
    assert _resend(client, scene, replacement.id, {"amount": "4999.00"}).status_code == 409
    assert _stops(db, scene) == 3


def test_the_database_refuses_two_resends_of_one_original(db: Session, scene: Scene) -> None:
    def copy() -> Instruction:
        return Instruction(
            case_id=scene.stop.case_id,
            account_id=scene.stop.account_id,
            institution_id=scene.stop.institution_id,
            kind="stop_payment",
            replaces_id=scene.stop.id,
            idempotency_key=uuid.uuid4().hex,
        )

    db.add(copy())
    db.flush()
    second = db.begin_nested()
    db.add(copy())
    with pytest.raises(IntegrityError):
        db.flush()
    second.rollback()


def _in(**delta: float) -> str:
    return (utcnow() + dt.timedelta(**delta)).isoformat()


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("0001-01-01T00:00:00", "case.time_too_old"),
        ("1969-12-31T23:59:59+00:00", "case.time_too_old"),
        ("9999-12-31T23:59:59", "case.time_future"),
        (_in(days=1), "case.time_future"),
        (_in(days=-370), "case.time_too_old"),
    ],
)
def test_a_transaction_time_out_of_the_reports_window_is_a_422_on_the_field(
    client: TestClient, db: Session, scene: Scene, value: str, why: str
) -> None:
    answer = _resend(client, scene, scene.stop.id, {"transaction_time": value})
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert (error["field"], error["type"]) == ("transaction_time", why)
    assert _stops(db, scene) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"holder_name": "   "}, "holder_name"),
        ({"holder_name": ""}, "holder_name"),
        ({"amount": "0"}, "amount"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "1e20"}, "amount"),
        ({"account_no": "6217000201234567897"}, "account_no"),
    ],
)
def test_other_fields_are_checked_as_intake_checks_them(
    client: TestClient, db: Session, scene: Scene, body: dict[str, Any], field: str
) -> None:
    answer = _resend(client, scene, scene.stop.id, body)
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [field]
    assert _stops(db, scene) == 1


def test_a_time_in_the_window_is_sent_as_corrected(
    client: TestClient, db: Session, scene: Scene
) -> None:
    answer = _resend(client, scene, scene.stop.id, {"transaction_time": _in(minutes=-9)})
    assert answer.status_code == 201, answer.text
    resent = db.get_one(Instruction, answer.json()["id"])
    assert resent.replaces_id == scene.stop.id
    assert resent.transaction_time is not None
    assert abs(resent.transaction_time - (utcnow() - dt.timedelta(minutes=9))).total_seconds() < 60


def test_resends_made_before_the_revision_are_linked_first_one_only() -> None:
    """Revision 0011 links each original to its first resend, from the audit events; later
    duplicates (the attack's) stay unlinked, so the unique constraint can be created."""
    with migrated_database() as url:
        engine = make_engine(url)
        try:
            with transaction(make_sessionmaker(engine)) as db:
                scene = Scene(db)
                bounced(scene.stop)
                user = make_user(db)
                resends = []
                for _ in range(3):
                    [resent] = create_instructions(
                        db,
                        case_id=scene.case.id,
                        priority="high",
                        user=user,
                        orders=[
                            InstructionOrder(
                                kind=InstructionKind.stop_payment,
                                institution_id=scene.stop.institution_id,
                                account_id=scene.stop.account_id,
                                parent_id=scene.stop.id,
                            )
                        ],
                    )
                    record_event(
                        db,
                        kind="instruction.resent",
                        user=user,
                        case_id=scene.case.id,
                        instruction_id=resent.id,
                        data={"replaces": scene.stop.id},
                    )
                    resends.append(resent.id)
            downgrade(url, "0009")
            upgrade(url)
            with engine.connect() as conn:
                linked = conn.execute(
                    text("SELECT id, replaces_id FROM instruction WHERE id = ANY(:ids)"),
                    {"ids": resends},
                ).all()
            assert sorted(linked) == [
                (resends[0], scene.stop.id),
                (resends[1], None),
                (resends[2], None),
            ]
        finally:
            engine.dispose()
