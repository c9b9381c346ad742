"""Admission cannot be dodged by a path's name, a live stream's place always comes back, and
a pool with no connection free is a 503 the client may retry, never a 500."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.types import Message, Receive, Scope, Send

from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.middleware import AdmissionLimit


class Gate:
    """An app that holds every request until `opened`; a stream path starts its answer
    first (as a live stream does once its log-in check is done)."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()

    async def __call__(self, scope: Scope, _receive: Receive, send: Send) -> None:
        streaming = scope["path"].endswith("/live")
        if streaming:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        await self.opened.wait()
        if not streaming:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def _status(app: AdmissionLimit, method: str, path: str) -> int:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=5
    ) as client:
        return (await client.request(method, path)).status_code


def _held_open(method: str, path: str) -> list[int]:
    """With the one slot taken by a request in progress, what `method path` is answered."""

    async def run() -> list[int]:
        gate = Gate()
        app = AdmissionLimit(gate, limit=1, wait_s=0.2)
        holder = asyncio.create_task(_status(app, "GET", "/api/v1/cases"))
        await asyncio.sleep(0.05)
        answer = await _status(app, method, path)
        gate.opened.set()
        return [answer, await holder]

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/cases/live"),
        ("GET", "/dashboard/cases/live"),
        ("GET", "/intake/cases/live"),
        ("POST", "/intake/cases/C-1/live"),
        ("GET", "/intake/cases/C-1/live/x"),
    ],
)
def test_a_path_merely_ending_in_live_waits_for_a_slot(method: str, path: str) -> None:
    assert _held_open(method, path) == [503, 200]


def test_a_live_stream_gives_its_slot_back_once_its_answer_starts() -> None:
    async def run() -> list[int]:
        gate = Gate()
        app = AdmissionLimit(gate, limit=1, wait_s=0.5)
        stream = asyncio.create_task(_status(app, "GET", "/intake/cases/C-1/live"))
        await asyncio.sleep(0.05)
        # The stream is open (its answer started, its body not done): the slot is free.
        reader = asyncio.create_task(_status(app, "GET", "/api/v1/cases"))
        await asyncio.sleep(0.05)
        gate.opened.set()
        return [await stream, await reader]

    assert asyncio.run(run()) == [200, 200]


def test_probes_that_read_the_database_are_capped() -> None:
    async def run() -> list[int]:
        gate = Gate()
        app = AdmissionLimit(gate, limit=32, wait_s=0.2)
        probes = [asyncio.create_task(_status(app, "GET", "/metrics")) for _ in range(5)]
        await asyncio.sleep(0.1)
        gate.opened.set()
        return sorted([await probe for probe in probes])

    assert asyncio.run(run()) == [200] * AdmissionLimit.PROBE_LIMIT + [503] * (
        5 - AdmissionLimit.PROBE_LIMIT
    )


@pytest.fixture
def dry_pool(settings: Settings) -> Iterator[tuple[TestClient, Session]]:
    """The API on a pool of one connection that waits 0.2 s for it, the connection held."""
    app = create_app(settings)
    assert settings.database_url is not None
    engine = make_engine(settings.database_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    app.state.sessionmaker = make_sessionmaker(engine)
    holder = Session(bind=engine)
    holder.connection()
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, holder
    finally:
        holder.close()
        engine.dispose()
        app.state.engine.dispose()


def test_a_pool_with_no_connection_free_answers_503_problem_json(
    dry_pool: tuple[TestClient, Session],
) -> None:
    client, _ = dry_pool
    answer = client.get("/api/v1/cases", headers={"Authorization": "Bearer nothing"})
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["retry-after"] == "1"
    assert "connection" in answer.json()["detail"]


def test_a_stream_that_never_runs_holds_no_place_under_the_caps() -> None:
    from types import SimpleNamespace

    from starlette.requests import Request

    from app.deps import Principal
    from app.pages.streams import StreamCaps, live_response

    caps = StreamCaps(per_user=1, per_credential=1)
    settings = SimpleNamespace(default_language="en")
    app = SimpleNamespace(state=SimpleNamespace(stream_caps=caps, settings=settings))
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/intake/cases/C-1/live",
        "headers": [],
        "query_string": b"",
        "app": app,
    }
    principal = Principal(user=SimpleNamespace(id=7), session=None, credential="t")  # type: ignore[arg-type]

    async def events() -> AsyncIterator[str]:
        yield "event: done\ndata: \n\n"

    async def run() -> list[int]:
        # Made, then dropped: its request failed after the route returned.
        live_response(Request(scope), principal, events())
        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        async def receive() -> Message:
            await asyncio.sleep(1)
            return {"type": "http.disconnect"}

        await live_response(Request(scope), principal, events())(scope, receive, send)
        return [m["status"] for m in sent if m["type"] == "http.response.start"]

    assert asyncio.run(run()) == [200]
