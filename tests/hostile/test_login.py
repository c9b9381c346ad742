"""The log-in throttle cannot be raced, dodged with X-Forwarded-For, or turned against an
account's owner. Against a real `stopay api` process; each test speaks from loopback
addresses of its own (127.0.0.x), as clients on different machines would."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import Event
from app.config import Settings
from app.db import transaction
from app.deps import get_db
from app.main import create_app
from tests.factories import PASSWORD, make_user
from tests.hostile.clients_fixtures import Api, api_process

SETTINGS = {
    "STOPAY_LOGIN_MAX_FAILURES_PER_ACCOUNT": "5",
    "STOPAY_LOGIN_MAX_FAILURES_PER_ADDRESS": "20",
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with api_process(tmp_path_factory.mktemp("login"), SETTINGS) as api:
        yield api


def new_user(api: Api) -> str:
    with transaction(api.sessions) as db:
        return make_user(db).username


def log_in(
    client: httpx.Client, username: str, password: str, headers: dict[str, str] | None = None
) -> int:
    body = {"username": username, "password": password, "name": "hostile"}
    return client.post("/api/v1/auth/tokens", json=body, headers=headers).status_code


def events(api: Api, kind: str, **data: str) -> list[Event]:
    with api.sessions() as db:
        query = select(Event).where(Event.kind == kind).order_by(Event.id)
        for key, value in data.items():
            query = query.where(Event.data[key].astext == value)
        return list(db.scalars(query))


def test_thirty_concurrent_wrong_passwords_check_at_most_five(api: Api) -> None:
    username = new_user(api)
    with api.client(source="127.0.0.2", connections=30) as client, ThreadPoolExecutor(30) as pool:
        statuses = list(pool.map(lambda _: log_in(client, username, "guess"), range(30)))
    # Every attempt was counted before its password was checked: five were checked.
    checked = events(api, "auth.login_failed", username=username)
    assert len(checked) == 5
    assert sorted(statuses) == [401] * 5 + [429] * 25
    assert len(events(api, "auth.login_locked", username=username)) == 25


def test_thirty_concurrent_wrong_passwords_for_thirty_accounts_check_at_most_twenty(
    api: Api,
) -> None:
    usernames = [new_user(api) for _ in range(30)]
    with api.client(source="127.0.0.9", connections=30) as client, ThreadPoolExecutor(30) as pool:
        statuses = list(pool.map(lambda name: log_in(client, name, "guess"), usernames))
    # The address's count was taken before each password was checked: twenty were checked.
    checked = events(api, "auth.login_failed", address="127.0.0.9")
    assert len(checked) == 20
    assert sorted(statuses) == [401] * 20 + [429] * 10


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(api: Api) -> None:
    # 127.0.0.1 is not a trusted proxy unless STOPAY_TRUSTED_PROXIES says so: the address
    # each attempt claims is not the one its failure counts against.
    with api.client(source="127.0.0.1") as client:
        for n in range(20):
            spoofed = {"X-Forwarded-For": f"203.0.113.{n + 1}"}
            assert log_in(client, f"nobody-{n}", "guess", spoofed) == 401
        username = new_user(api)
        spoofed = {"X-Forwarded-For": "198.51.100.7"}
        assert log_in(client, username, PASSWORD, spoofed) == 429  # the address is locked
    # The audit trail has the real address, never the claimed one.
    recorded = {
        event.data["address"]
        for event in events(api, "auth.login_failed")
        if event.data["username"].startswith("nobody-")
    }
    assert recorded == {"127.0.0.1"}
    [locked] = events(api, "auth.login_locked", username=username)
    assert locked.data["address"] == "127.0.0.1"


def test_a_stranger_hammering_a_username_does_not_keep_its_owner_out(api: Api) -> None:
    username = new_user(api)
    with api.client(source="127.0.0.4", connections=10) as stranger, ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(lambda _: log_in(stranger, username, "guess"), range(10)))
        assert sorted(statuses) == [401] * 5 + [429] * 5
        assert log_in(stranger, username, PASSWORD) == 429  # even the right one, from there
    with api.client(source="127.0.0.5") as owner:
        assert log_in(owner, username, "typo") == 401
        assert log_in(owner, username, PASSWORD) == 201
    [logged_in] = events(api, "auth.login", address="127.0.0.5")
    assert logged_in.data["via"] == "token"


@pytest.fixture
def behind_proxy(settings: Settings, db: Session) -> Iterator[FastAPI]:
    """The app with 10.0.0.5 as its trusted reverse proxy; requests share the test's
    transaction (as in tests/conftest.py)."""
    app = create_app(settings.model_copy(update={"trusted_proxies": "10.0.0.5"}))

    def _test_db() -> Iterator[Session]:
        with db.begin_nested():
            yield db

    app.dependency_overrides[get_db] = _test_db
    yield app
    app.state.engine.dispose()


def test_only_a_trusted_proxy_names_the_client_address(behind_proxy: FastAPI, db: Session) -> None:
    forwarded = {"X-Forwarded-For": "198.51.100.9"}
    body = {"username": "nobody-proxied", "password": "guess", "name": "t"}
    for peer in ("10.0.0.5", "10.0.0.6"):
        with TestClient(behind_proxy, client=(peer, 40000)) as client:
            answer = client.post("/api/v1/auth/tokens", json=body, headers=forwarded)
            assert answer.status_code == 401
    recorded = db.scalars(
        select(Event.data["address"].astext)
        .where(Event.kind == "auth.login_failed", Event.data["username"].astext == body["username"])
        .order_by(Event.id)
    ).all()
    assert recorded == ["198.51.100.9", "10.0.0.6"]  # the proxy's word; a client's is not
