"""The per-institution circuit breaker, concurrency cap and backoff."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from app.institutions.models import BreakerState
from workers import aio
from workers.breaker import Breaker, Places, slot
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


def test_at_the_cap_a_freed_place_goes_to_the_most_money_at_stake() -> None:
    """Four calls wait for the one place; as each gives it back, the next goes to the
    biggest amount waiting (the earliest of two equal ones), not to the first that came."""
    served: list[str] = []

    async def scenario() -> None:
        places = Places(1)
        assert await places.take(at_stake=Decimal(0), wait_s=1)

        async def call(name: str, amount: str) -> None:
            if await places.take(at_stake=Decimal(amount), wait_s=60):
                served.append(name)
                places.give_back()

        calls = [
            asyncio.create_task(call(name, amount))
            for name, amount in [
                ("small, first to come", "300.00"),
                ("biggest", "455400.00"),
                ("middle", "12000.00"),
                ("small, last to come", "300.00"),
            ]
        ]
        await asyncio.sleep(0)  # every call is waiting now
        places.give_back()
        await asyncio.gather(*calls)

    aio.run(scenario())
    assert served == ["biggest", "middle", "small, first to come", "small, last to come"]


def test_a_call_that_waited_in_vain_gives_its_turn_up() -> None:
    async def scenario() -> tuple[bool, bool, int]:
        places = Places(1)
        await places.take(at_stake=Decimal(0), wait_s=1)
        gave_up = await places.take(at_stake=Decimal("9000000.00"), wait_s=0.01)
        places.give_back()  # nobody waits any more: the place is free again
        again = await places.take(at_stake=Decimal(1), wait_s=0.01)
        return gave_up, again, places.taken

    assert aio.run(scenario()) == (False, True, 1)


def test_backoff_grows_is_jittered_capped_and_honours_retry_after() -> None:
    first = [backoff_s(0, None) for _ in range(50)]
    assert all(0.25 <= b <= 0.5 for b in first)
    assert len(set(first)) > 1
    assert all(BACKOFF_CAP_S / 2 <= backoff_s(20, None) <= BACKOFF_CAP_S for _ in range(20))
    assert backoff_s(0, 7.0) == 7.0
