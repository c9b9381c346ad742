"""Bodies read before admission cannot hold the service's memory or outrun their count:
a byte budget over all of them, every body still arriving counted per address (IPv6 per
/64), and a deadline that grows with the body's size."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from app.middleware import BodyFirst


async def echo(_scope: Scope, receive: Receive, send: Send) -> None:
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


def body_first(**limits: float) -> BodyFirst:
    settings = {"timeout_s": 5.0, "per_address": 8, "min_rate": 64 * 1024, "budget": 10**9}
    settings.update(limits)
    return BodyFirst(
        echo,
        timeout_s=settings["timeout_s"],
        per_address=int(settings["per_address"]),
        min_rate=int(settings["min_rate"]),
        budget=int(settings["budget"]),
    )


async def post(
    app: BodyFirst, *, client: str = "10.0.0.1", length: int, parts: int, every_s: float
) -> int:
    """POST `length` bytes in `parts` parts, one each `every_s`; the answer's status."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/cases",
        "client": (client, 1),
        "headers": [(b"content-length", str(length).encode())],
    }
    sent = 0
    statuses: list[int] = []

    async def receive() -> Message:
        nonlocal sent
        if sent == parts:
            await asyncio.sleep(30)
            return {"type": "http.disconnect"}
        await asyncio.sleep(every_s)
        sent += 1
        return {"type": "http.request", "body": b"x" * (length // parts), "more_body": sent < parts}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    return statuses[0]


def run_all(*calls: Coroutine[Any, Any, int]) -> list[int]:
    async def run() -> list[int]:
        return list(await asyncio.gather(*calls))

    return asyncio.run(run())


def test_bodies_held_at_once_stay_within_the_byte_budget() -> None:
    app = body_first(budget=10 * 1024 * 1024)
    big = 8 * 1024 * 1024
    slow = post(app, client="10.0.0.1", length=big, parts=4, every_s=0.1)
    second = post(app, client="10.0.0.2", length=big, parts=1, every_s=0.01)
    assert run_all(slow, second) == [200, 503]
    assert app.held == 0  # every reservation given back
    assert run_all(post(app, client="10.0.0.2", length=big, parts=1, every_s=0.01)) == [200]


def test_every_body_still_arriving_counts_against_its_address() -> None:
    # A byte every 0.05 s is never "slow" by any one part, yet the third body is refused.
    app = body_first(per_address=2)
    calls = [post(app, length=4, parts=4, every_s=0.05) for _ in range(3)]
    assert sorted(run_all(*calls)) == [200, 200, 429]


def test_ipv6_addresses_count_by_their_64() -> None:
    app = body_first(per_address=1)
    one = post(app, client="2001:db8:1:2::1", length=4, parts=4, every_s=0.05)
    same_64 = post(app, client="2001:db8:1:2::ffff", length=4, parts=4, every_s=0.05)
    other_64 = post(app, client="2001:db8:1:3::1", length=4, parts=4, every_s=0.05)
    assert run_all(one, same_64, other_64) == [200, 429, 200]


def test_a_large_body_has_time_in_proportion_to_its_size() -> None:
    # 0.2 s plus 2,000 bytes at 4,000 B/s: 0.7 s for a body that takes 0.4 s.
    app = body_first(timeout_s=0.2, min_rate=4000)
    assert run_all(post(app, length=2000, parts=4, every_s=0.1)) == [200]
    # A small one gets no such time.
    assert run_all(post(app, length=4, parts=4, every_s=0.1)) == [408]
