"""Admission control answers overload at once instead of starving the database pool; a
body over the limit is refused before it is read whole."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.types import Receive, Scope, Send

from app.cases.models import Case
from app.middleware import AdmissionLimit
from tests.factories import bearer, case_payload, make_user


async def _slow_app(_scope: Scope, _receive: Receive, send: Send) -> None:
    await asyncio.sleep(0.5)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize("path", ["/api/v1/cases"])
def test_beyond_the_limit_requests_wait_then_get_503(path: str) -> None:
    app = AdmissionLimit(_slow_app, limit=2, wait_s=0.1)

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return list(await asyncio.gather(*(client.get(path) for _ in range(4))))

    answers = asyncio.run(burst())
    assert sorted(a.status_code for a in answers) == [200, 200, 503, 503]
    busy = next(a for a in answers if a.status_code == 503)
    assert busy.headers["content-type"] == "application/problem+json"
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["instance"] == path


async def _slow_stream(scope: Scope, receive: Receive, send: Send) -> None:
    """A stream starts its answer at once (its log-in checked), then stays open."""
    if scope["path"].endswith("/live"):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(0.5)
        await send({"type": "http.response.body", "body": b"ok"})
        return
    await _slow_app(scope, receive, send)


def test_live_streams_take_no_slot_and_beyond_their_own_cap_get_503_at_once() -> None:
    """A case's live status stays open for minutes: streams hold a slot only until their
    answer starts, and past their own cap a new one is refused straight away."""
    app = AdmissionLimit(_slow_stream, limit=1, wait_s=5, stream_limit=2)
    live = "/intake/cases/ZF-1/live"

    async def burst() -> tuple[list[httpx.Response], float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            started = asyncio.get_running_loop().time()
            answers = await asyncio.gather(
                *(client.get(live) for _ in range(3)), client.get("/api/v1/cases")
            )
            return list(answers), asyncio.get_running_loop().time() - started

    answers, took_s = asyncio.run(burst())
    *streams, request = answers
    assert sorted(a.status_code for a in streams) == [200, 200, 503]
    assert request.status_code == 200
    refused = next(a for a in streams if a.status_code == 503)
    assert refused.headers["content-type"] == "application/problem+json"
    # Nothing queued behind anything: two streams and a request, each 0.5 s, side by side.
    assert took_s < 1.0


def test_health_probes_are_never_queued() -> None:
    app = AdmissionLimit(_slow_app, limit=1, wait_s=0.05)

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return list(await asyncio.gather(*(client.get("/healthz") for _ in range(3))))

    assert [a.status_code for a in asyncio.run(burst())] == [200, 200, 200]


def test_a_body_over_the_limit_is_413_and_nothing_is_stored(
    client: TestClient, db: Session
) -> None:
    headers = bearer(db, make_user(db))
    before = db.scalar(select(func.count()).select_from(Case))
    payload = case_payload(narrative="骗" * 3_000_000)  # 9 MB of UTF-8, over the 8 MB limit
    declared = client.post("/api/v1/cases", json=payload, headers=headers)
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"
    assert "8 MB" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        body = json.dumps(payload).encode()
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    streamed = client.post(
        "/api/v1/cases", content=chunks(), headers={**headers, "content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert db.scalar(select(func.count()).select_from(Case)) == before
    # A freeze's 5 MB scan, base64 in JSON, is under the limit.
    small = client.post(
        "/api/v1/cases", json=case_payload(narrative="骗" * 2_000_000), headers=headers
    )
    assert small.status_code == 422  # read whole, then refused by the narrative's own limit


@pytest.mark.parametrize(
    ("path", "headers", "title"),
    [
        # A machine client that names no language reads English; one that asks, its own.
        ("/api/v1/cases", {}, "Service unavailable"),
        ("/api/v1/cases", {"Accept-Language": "zh-CN,zh;q=0.9"}, "服务暂不可用"),
        # A page: the log-in page's choice, then the browser's, then the centre's Chinese.
        (
            "/dashboard",
            {"Cookie": "stopay_lang=en", "Accept-Language": "zh-CN"},
            "Service unavailable",
        ),
        ("/dashboard", {"Accept-Language": "en-GB,en;q=0.8"}, "Service unavailable"),
        ("/dashboard", {}, "服务暂不可用"),
    ],
)
def test_a_busy_answer_is_in_the_client_s_language_only(
    path: str, headers: dict[str, str], title: str
) -> None:
    app = AdmissionLimit(_slow_app, limit=1, wait_s=0.05)

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            calls = (client.get(path, headers=headers) for _ in range(2))
            return list(await asyncio.gather(*calls))

    busy = next(a for a in asyncio.run(burst()) if a.status_code == 503)
    problem = busy.json()
    assert problem["title"] == title
    english = title.isascii()
    # One language, the whole answer: no "中文 / English" pairs.
    assert problem["detail"].isascii() == english
    assert busy.headers["content-language"] == ("en" if english else "zh-CN")
