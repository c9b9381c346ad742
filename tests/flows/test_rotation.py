"""A secret rotation repeated with its key is one rotation, whoever sends it (admin or the
institution's own user): rotating twice would retire the secret the bank still signs with."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role, Scope
from app.cases.models import IdempotencyKey
from tests.callbacks.signing import outcome, post, signed
from tests.factories import (
    bearer,
    institution,
    instructions_of,
    make_case,
    make_user,
    secret_rotations,
)

CODE = "ICBC"  # the first bank of the factories' transfers


def _as(db: Session, who: str) -> tuple[str, dict[str, str]]:
    """The rotation's URL and the headers of whoever presses: an admin, or the bank's user."""
    if who == "admin":
        user = make_user(db, role=Role.admin)
        return f"/api/v1/institutions/{CODE}/secret-rotations", bearer(db, user)
    user = make_user(db, role=Role.institution, institution_code=CODE)
    return "/api/v1/institution/me/secret-rotations", bearer(
        db, user, scopes=[Scope.institution_rotate]
    )


@pytest.mark.parametrize("who", ["admin", "institution"])
def test_the_same_key_twice_is_one_rotation_and_the_bank_s_secret_still_verifies(
    client: TestClient, db: Session, who: str
) -> None:
    url, headers = _as(db, who)
    old = institution(db, CODE).callback_secret
    before = secret_rotations(db, CODE)
    keyed = {**headers, "Idempotency-Key": str(uuid.uuid4())}
    first, again = client.post(url, headers=keyed), client.post(url, headers=keyed)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert secret_rotations(db, CODE) == before + 1
    # The bank has not switched yet: the secret it signs with still verifies.
    db.expire_all()
    assert institution(db, CODE).callback_secret_previous == old
    stop = next(i for i in instructions_of(db, make_case(db)) if i.kind == "stop_payment")
    applied = post(client, CODE, signed(db, CODE, outcome(stop), secret=old))
    assert applied.json() == {"status": "applied"}, applied.text
    # What is kept against the key for the repeat is a fingerprint, never the secret.
    kept = db.scalars(select(IdempotencyKey.response_body)).all()
    assert first.json()["callback_secret"] not in json.dumps(kept)


def test_a_repeat_after_another_rotation_is_refused_not_shown_the_newer_secret(
    client: TestClient, db: Session
) -> None:
    url, headers = _as(db, "admin")
    keyed = {**headers, "Idempotency-Key": str(uuid.uuid4())}
    first = client.post(url, headers=keyed)
    assert first.status_code == 201
    newer = client.post(url, headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    assert newer.status_code == 201
    late = client.post(url, headers=keyed)
    assert late.status_code == 409
    assert late.headers["content-type"].startswith("application/problem+json")
    assert newer.json()["callback_secret"] not in late.text
    assert first.json()["callback_secret"] not in late.text


def test_without_a_key_each_press_rotates_and_a_key_of_another_action_is_refused(
    client: TestClient, db: Session
) -> None:
    url, headers = _as(db, "admin")
    before = secret_rotations(db, CODE)
    assert client.post(url, headers=headers).status_code == 201
    assert client.post(url, headers=headers).status_code == 201
    assert secret_rotations(db, CODE) == before + 2
    key = str(uuid.uuid4())
    assert client.post(url, headers={**headers, "Idempotency-Key": key}).status_code == 201
    other = client.post(
        "/api/v1/institutions/CCB/secret-rotations", headers={**headers, "Idempotency-Key": key}
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
