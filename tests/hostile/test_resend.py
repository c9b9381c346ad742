"""A bounced stop-payment is corrected and resent once, with fields checked as intake checks
them: a second resend is a 409 naming the first, a time out of the report's window a 422.
A resend takes the account's turn like a freeze, renewal or release: while another of them is
under way on the account it is a 409 naming it, and at the same moment only one goes."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import Event
from app.audit.service import record_event
from app.db import make_engine, make_sessionmaker, transaction, utcnow
from app.dispatch.models import Instruction, InstructionKind, Outbox
from app.dispatch.service import OPEN_STATES, InstructionOrder, create_instructions
from app.migrate import downgrade, upgrade
from tests.conftest import migrated_database
from tests.factories import make_user
from tests.hostile.repeat_fixtures import Scene, bounced, committed, own_app, own_database

__all__ = ["committed", "own_app", "own_database"]


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


FREEZE_DOCUMENT = "穗公（反诈）冻字〔2026〕8号"


def _freeze_body(scene: Scene) -> dict[str, str]:
    return {**scene.account, "document_no": FREEZE_DOCUMENT, "amount": str(scene.amount)}


def _on_account(db: Session, scene: Scene) -> list[tuple[int, str, str]]:
    """Every instruction of the case on the scene's account: id, kind, state."""
    rows = db.execute(
        select(Instruction.id, Instruction.kind, Instruction.state)
        .where(
            Instruction.case_id == scene.case.id,
            Instruction.account_id == scene.stop.account_id,
        )
        .order_by(Instruction.id)
    )
    return [(row.id, row.kind, row.state) for row in rows]


def _resent_events(db: Session, scene: Scene) -> int:
    query = select(func.count()).where(
        Event.case_id == scene.case.id, Event.kind == "instruction.resent"
    )
    return db.scalar(query) or 0


@pytest.mark.parametrize(("language", "words"), [("zh-CN", "冻结"), ("en", "freeze")])
def test_a_resend_while_a_freeze_is_under_way_is_a_409_naming_it_and_creates_nothing(
    client: TestClient, db: Session, scene: Scene, language: str, words: str
) -> None:
    frozen = client.post(scene.url("freezes"), json=_freeze_body(scene), headers=scene.headers)
    assert frozen.status_code == 201, frozen.text
    freeze_id = frozen.json()["id"]
    before = _on_account(db, scene)
    outbox = db.scalar(select(func.count()).select_from(Outbox))
    headers = {**scene.headers, "Accept-Language": language}
    url = scene.url(f"instructions/{scene.stop.id}/resend")
    answer = client.post(url, json={"holder_name": "刘某某"}, headers=headers)
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["under_way_id"] == freeze_id
    assert f"#{freeze_id}" in problem["detail"]
    assert words in problem["detail"]
    db.expire_all()
    assert _on_account(db, scene) == before
    assert db.scalar(select(func.count()).select_from(Outbox)) == outbox
    assert _resent_events(db, scene) == 0


def _race(client: TestClient, committed: sessionmaker[Session]) -> tuple[Scene, list[Any]]:
    """A freeze and a resend of one bounced stop-payment, posted at the same moment."""
    with transaction(committed) as db:
        scene = Scene(db)
        bounced(scene.stop)
    posts = [
        (scene.url("freezes"), _freeze_body(scene)),
        (scene.url(f"instructions/{scene.stop.id}/resend"), {"holder_name": "刘某某"}),
    ]
    start = threading.Barrier(len(posts))

    def post(i: int) -> httpx.Response:
        start.wait(timeout=30)
        url, body = posts[i]
        return client.post(url, json=body, headers=scene.tokens[i])

    with ThreadPoolExecutor(max_workers=len(posts)) as pool:
        return scene, list(pool.map(post, range(len(posts))))


def test_a_freeze_and_a_resend_at_the_same_moment_leave_one_instruction_under_way(
    own_app: FastAPI, committed: sessionmaker[Session]
) -> None:
    """Committed requests on real connections, several rounds: whichever takes the account's
    turn first goes (201), the other sees it and is a 409."""
    with TestClient(own_app) as client:
        for _ in range(4):
            scene, answers = _race(client, committed)
            assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
            with committed() as db:
                busy = [row for row in _on_account(db, scene) if row[2] in OPEN_STATES]
            assert len(busy) == 1, busy
            [won] = [a for a in answers if a.status_code == 201]
            assert busy[0][0] == won.json()["id"]
