"""Repeated actions take effect once: eight identical requests at the same moment, with one
Idempotency-Key or with none, leave one effect in the database and answer alike.

These requests commit (a TestClient inside the rolled-back test transaction cannot show a
race), into a database of these tests' own.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import Event
from app.db import transaction
from app.dispatch.models import Instruction
from app.legal.models import VictimReturn
from tests.factories import case_payload
from tests.hostile.repeat_fixtures import (
    Scene,
    bounced,
    committed,
    escalated,
    frozen,
    holding,
    own_app,
    own_database,
)

__all__ = ["committed", "own_app", "own_database"]

N = 8


@dataclass(frozen=True)
class Act:
    url: str
    body: dict[str, Any]
    scene: Scene
    status: int
    # How many times the action took effect, read from the database.
    effects: Callable[[Session], int]


def _count(query: Select[Any]) -> Callable[[Session], int]:
    return lambda db: db.scalar(select(func.count()).select_from(query.subquery())) or 0


def _kind(case_id: int, kind: str) -> Select[Any]:
    return select(Instruction.id).where(Instruction.case_id == case_id, Instruction.kind == kind)


def _resend(factory: sessionmaker[Session], _client: TestClient) -> Act:
    with transaction(factory) as db:
        scene = Scene(db)
        bounced(scene.stop)
    replacing = select(Instruction.id).where(Instruction.replaces_id == scene.stop.id)
    url = scene.url(f"instructions/{scene.stop.id}/resend")
    return Act(url, {"holder_name": "刘某某"}, scene, 201, _count(replacing))


def _freeze(factory: sessionmaker[Session], _client: TestClient) -> Act:
    with transaction(factory) as db:
        scene = Scene(db)
        holding(scene.stop, scene.amount)
    body = {**scene.account, "document_no": "穗公（反诈）冻字〔2026〕7号"}
    return Act(scene.url("freezes"), body, scene, 201, _count(_kind(scene.case.id, "freeze")))


def _renew(factory: sessionmaker[Session], _client: TestClient) -> Act:
    with transaction(factory) as db:
        scene = Scene(db)
        holding(scene.stop, scene.amount)
    stops = _count(_kind(scene.case.id, "stop_payment"))
    return Act(scene.url("renewals"), scene.account, scene, 201, lambda db: stops(db) - 1)


def _release(factory: sessionmaker[Session], _client: TestClient) -> Act:
    with transaction(factory) as db:
        scene = Scene(db)
        holding(scene.stop, scene.amount)
    body = {**scene.account, "reason": "经核实为正常经营收款"}
    return Act(scene.url("releases"), body, scene, 201, _count(_kind(scene.case.id, "release")))


def _query(factory: sessionmaker[Session], _client: TestClient) -> Act:
    with transaction(factory) as db:
        scene = Scene(db)
    return Act(
        scene.url("queries"),
        scene.account,
        scene,
        201,
        _count(_kind(scene.case.id, "query")),
    )


def _frozen_scene(factory: sessionmaker[Session], client: TestClient) -> tuple[Scene, str]:
    with transaction(factory) as db:
        scene = Scene(db)
        frozen(db, scene.stop, scene.amount)
    proposal = client.get(
        scene.url("returns/proposal"), params=scene.account, headers=scene.headers
    )
    assert proposal.status_code == 200, proposal.text
    return scene, proposal.json()["fingerprint"]


def _confirm(factory: sessionmaker[Session], client: TestClient) -> Act:
    scene, fingerprint = _frozen_scene(factory, client)
    body = {**scene.account, "fingerprint": fingerprint}
    returns = select(VictimReturn.id).where(VictimReturn.case_id == scene.case.id)
    return Act(scene.url("returns"), body, scene, 201, _count(returns))


def _complete(factory: sessionmaker[Session], client: TestClient) -> Act:
    scene, fingerprint = _frozen_scene(factory, client)
    confirmed = client.post(
        scene.url("returns"),
        json={**scene.account, "fingerprint": fingerprint},
        headers=scene.headers,
    )
    assert confirmed.status_code == 201, confirmed.text
    [row] = confirmed.json()
    paid = select(Event.id).where(Event.case_id == scene.case.id, Event.kind == "return.completed")
    url = scene.url(f"returns/{row['id']}/completion")
    return Act(url, {"reference": "RT20261204000001"}, scene, 200, _count(paid))


def _handled(factory: sessionmaker[Session], _client: TestClient) -> Act:
    with transaction(factory) as db:
        scene = Scene(db)
        escalated(scene.stop)
    handled = select(Event.id).where(
        Event.instruction_id == scene.stop.id, Event.kind == "escalation.handled"
    )
    url = f"/api/v1/dashboard/escalations/{scene.stop.id}/handled"
    return Act(url, {"note": "打电话给建行值班台"}, scene, 200, _count(handled))


ACTIONS: dict[str, Callable[[sessionmaker[Session], TestClient], Act]] = {
    "resend": _resend,
    "freeze": _freeze,
    "renew": _renew,
    "release": _release,
    "query": _query,
    "return confirm": _confirm,
    "return complete": _complete,
    "escalation handled": _handled,
}


def _burst(client: TestClient, act: Act, key: str | None) -> list[httpx.Response]:
    """N requests at once, each on its own token of the same supervisor."""
    keyed = {"Idempotency-Key": key} if key else {}
    start = threading.Barrier(N)

    def post(i: int) -> httpx.Response:
        start.wait(timeout=30)
        return client.post(act.url, json=act.body, headers={**act.scene.tokens[i], **keyed})

    with ThreadPoolExecutor(max_workers=N) as pool:
        return list(pool.map(post, range(N)))


@pytest.mark.parametrize("action", list(ACTIONS))
def test_eight_at_once_with_one_key_act_once_and_all_get_the_first_answer(
    action: str, own_app: FastAPI, committed: sessionmaker[Session]
) -> None:
    with TestClient(own_app) as client:
        act = ACTIONS[action](committed, client)
        answers = _burst(client, act, str(uuid.uuid4()))
    assert [a.status_code for a in answers] == [act.status] * N, answers[0].text
    assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
    replayed = [a.headers.get("idempotent-replayed") for a in answers]
    assert replayed.count("true") == N - 1
    with committed() as db:
        assert act.effects(db) == 1


@pytest.mark.parametrize("action", list(ACTIONS))
def test_eight_at_once_without_a_key_still_act_once(
    action: str, own_app: FastAPI, committed: sessionmaker[Session]
) -> None:
    with TestClient(own_app) as client:
        act = ACTIONS[action](committed, client)
        answers = _burst(client, act, None)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == sorted([act.status] + [409] * (N - 1)), [a.text for a in answers]
    with committed() as db:
        assert act.effects(db) == 1


def _bounced_scene(db: Session) -> Scene:
    scene = Scene(db)
    bounced(scene.stop)
    db.flush()
    return scene


def test_the_same_key_again_gets_the_first_answer_and_another_body_a_422(
    client: TestClient, db: Session
) -> None:
    scene = _bounced_scene(db)
    url = scene.url(f"instructions/{scene.stop.id}/resend")
    keyed = {**scene.headers, "Idempotency-Key": str(uuid.uuid4())}
    first = client.post(url, json={"holder_name": "刘某某"}, headers=keyed)
    assert first.status_code == 201, first.text
    # The same body, formatted otherwise, is the same request.
    again = client.post(
        url,
        content='{ "holder_name" : "刘某某" }',
        headers={**keyed, "Content-Type": "application/json"},
    )
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    other = client.post(url, json={"holder_name": "刘某"}, headers=keyed)
    assert other.status_code == 422, other.text
    assert [e["field"] for e in other.json()["errors"]] == ["Idempotency-Key"]
    escalation = f"/api/v1/dashboard/escalations/{scene.stop.id}/handled"
    elsewhere = client.post(escalation, json={"note": "x"}, headers=keyed)
    assert elsewhere.status_code == 422, elsewhere.text
    assert [e["field"] for e in elsewhere.json()["errors"]] == ["Idempotency-Key"]
    count = select(func.count()).where(Instruction.replaces_id == scene.stop.id)
    assert db.scalar(count) == 1


def test_an_intake_key_is_not_an_action_key(client: TestClient, db: Session) -> None:
    scene = _bounced_scene(db)
    key = str(uuid.uuid4())
    report = client.post(
        "/api/v1/cases", json=case_payload(), headers={**scene.headers, "Idempotency-Key": key}
    )
    assert report.status_code == 201, report.text
    url = scene.url(f"instructions/{scene.stop.id}/resend")
    reused = client.post(url, json={}, headers={**scene.headers, "Idempotency-Key": key})
    assert reused.status_code == 422, reused.text
    assert [e["field"] for e in reused.json()["errors"]] == ["Idempotency-Key"]


def test_a_refused_first_attempt_leaves_the_key_free(client: TestClient, db: Session) -> None:
    scene = Scene(db)
    url = scene.url(f"instructions/{scene.stop.id}/resend")
    keyed = {**scene.headers, "Idempotency-Key": str(uuid.uuid4())}
    assert client.post(url, json={}, headers=keyed).status_code == 409
    bounced(scene.stop)
    db.flush()
    assert client.post(url, json={}, headers=keyed).status_code == 201


ACTION_ROUTES = [
    "/api/v1/cases/{case_no}/instructions/{instruction_id}/resend",
    "/api/v1/cases/{case_no}/freezes",
    "/api/v1/cases/{case_no}/renewals",
    "/api/v1/cases/{case_no}/releases",
    "/api/v1/cases/{case_no}/queries",
    "/api/v1/cases/{case_no}/returns",
    "/api/v1/cases/{case_no}/returns/{return_id}/completion",
    "/api/v1/dashboard/escalations/{instruction_id}/handled",
]


def test_every_action_route_documents_the_idempotency_key(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for route in ACTION_ROUTES:
        params = paths[route]["post"]["parameters"]
        [header] = [p for p in params if p["in"] == "header"]
        assert header["name"].lower() == "idempotency-key", route
        assert "first answer" in header["description"]
