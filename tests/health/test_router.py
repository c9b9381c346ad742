from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _client(settings: Settings, **changes: object) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update=changes))
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def test_ready_when_database_and_broker_answer(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_healthz_answers_without_login(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("down", "url_field", "url"),
    [
        ("database", "database_url", "postgresql+psycopg://postgres@127.0.0.1:{port}/x"),
        ("broker", "broker_url", "redis://127.0.0.1:{port}/0"),
    ],
)
def test_not_ready_names_what_is_down(
    settings: Settings, closed_port: int, down: str, url_field: str, url: str
) -> None:
    with _client(settings, **{url_field: url.format(port=closed_port)}) as client:
        response = client.get("/readyz", headers={"accept-language": "en"})
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 503
    assert body["detail"] == f"Unreachable: {down}"
    assert body["checks"][down] != "ok"
    up = {"database", "broker"} - {down}
    assert all(body["checks"][name] == "ok" for name in up)
