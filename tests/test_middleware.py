"""Admission control answers overload at once instead of starving the database pool."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from app.middleware import AdmissionLimit


async def _slow_app(scope: Scope, receive: Receive, send: Send) -> None:
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


def test_health_probes_are_never_queued() -> None:
    app = AdmissionLimit(_slow_app, limit=1, wait_s=0.05)

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return list(await asyncio.gather(*(client.get("/healthz") for _ in range(3))))

    assert [a.status_code for a in asyncio.run(burst())] == [200, 200, 200]
