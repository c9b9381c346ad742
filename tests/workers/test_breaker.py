"""The per-institution circuit breaker, concurrency cap and backoff."""

from __future__ import annotations

import asyncio
import time

from app.institutions.models import BreakerState
from workers import aio
from workers.breaker import Breaker, slot
from workers.dispatch import BACKOFF_CAP_S, backoff_s


def test_the_breaker_opens_after_consecutive_failures_and_tries_once_after_cool_down() -> None:
    breaker = Breaker(threshold=3, cool_down_s=0.2)
    assert [breaker.failed() for _ in range(2)] == [None, None]
    assert breaker.succeeded() is None  # a success resets the count
    assert [breaker.failed() for _ in range(3)] == [None, None, BreakerState.open]
    assert breaker.allow() is False
    time.sleep(0.25)
    assert breaker.allow() is True  # the one trial
    assert breaker.allow() is False  # and no second one while it is out
    assert breaker.failed() == BreakerState.open  # the trial failed: open again
    time.sleep(0.25)
    assert breaker.allow() is True
    assert breaker.succeeded() == BreakerState.closed
    assert breaker.allow() is True


def test_the_cap_holds_calls_in_flight_per_institution() -> None:
    inside, peak = 0, 0
    refused: list[bool] = []

    async def call() -> None:
        nonlocal inside, peak
        async with slot("CAPPED", 3, wait_s=0.05) as got:
            if not got:
                refused.append(True)
                return
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.2)
            inside -= 1

    async def six_at_once() -> None:
        await asyncio.gather(*(call() for _ in range(6)))

    # On the worker's own loop, where every institution call runs.
    aio.run(six_at_once())
    assert peak == 3
    assert len(refused) == 3


def test_backoff_grows_is_jittered_capped_and_honours_retry_after() -> None:
    first = [backoff_s(0, None) for _ in range(50)]
    assert all(0.25 <= b <= 0.5 for b in first)
    assert len(set(first)) > 1
    assert all(BACKOFF_CAP_S / 2 <= backoff_s(20, None) <= BACKOFF_CAP_S for _ in range(20))
    assert backoff_s(0, 7.0) == 7.0
