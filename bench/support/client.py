"""The open-loop client: request i leaves at start + i/rate whatever the earlier requests are
doing, so a slow server shows up as latency instead of quietly lowering the load."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import httpx

from bench.support.cases import Request

# A call-taker gives up long before this; an answer still missing then is a failed request,
# and its latency (the time-out) is a lower bound.
REQUEST_TIMEOUT_S = 60.0
# Connection cap. A request that waits for a free connection counts the wait in its latency,
# so the loop stays open even when the server falls this far behind.
MAX_IN_FLIGHT = 500

SampleT = TypeVar("SampleT")  # what one sent request yields: intake's Sample, load's Posted


def open_loop_client(base_url: str) -> httpx.AsyncClient:
    """One connection pool for the whole run, MAX_IN_FLIGHT connections wide."""
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    timeout = httpx.Timeout(REQUEST_TIMEOUT_S, pool=None)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout)


async def open_loop(
    client: httpx.AsyncClient,
    requests: list[Request],
    rate: float,
    post: Callable[[httpx.AsyncClient, Request, float], Coroutine[Any, Any, SampleT]],
) -> list[SampleT]:
    """Send request i at start + i/rate without waiting for earlier answers, by
    `post(client, request, scheduled)` (`scheduled` on the perf_counter clock)."""
    start = time.perf_counter() + 0.01
    tasks: list[asyncio.Task[SampleT]] = []
    for i, request in enumerate(requests):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(post(client, request, scheduled)))
    return list(await asyncio.gather(*tasks))
