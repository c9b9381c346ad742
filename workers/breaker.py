"""Per-institution protection inside one worker process: a circuit breaker and a cap on calls
in flight, so a dead institution neither delays the others nor gets hammered. At the cap, the
next free place goes to the call with the most money at stake."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from app.institutions.models import BreakerState

FAILURE_THRESHOLD = 5
COOL_DOWN_S = 10.0


@dataclass
class Breaker:
    """closed → open after consecutive failures; after a cool-down, one trial (half_open)."""

    threshold: int = FAILURE_THRESHOLD
    cool_down_s: float = COOL_DOWN_S
    state: BreakerState = BreakerState.closed
    failures: int = 0
    opened_at: float = 0.0
    _trial_out: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def allow(self) -> bool:
        with self._lock:
            if self.state == BreakerState.closed:
                return True
            if self.state == BreakerState.open:
                if time.monotonic() - self.opened_at < self.cool_down_s:
                    return False
                self.state = BreakerState.half_open
                self._trial_out = False
            if self._trial_out:
                return False
            self._trial_out = True
            return True

    def retry_in_s(self) -> float:
        return max(0.5, self.cool_down_s - (time.monotonic() - self.opened_at))

    def succeeded(self) -> BreakerState | None:
        """Record a success; returns the new state when it changed."""
        with self._lock:
            self.failures = 0
            if self.state == BreakerState.closed:
                return None
            self.state = BreakerState.closed
            return self.state

    def failed(self) -> BreakerState | None:
        with self._lock:
            self.failures += 1
            tripped = self.state == BreakerState.half_open or self.failures >= self.threshold
            if not tripped or self.state == BreakerState.open:
                return None
            self.state = BreakerState.open
            self.opened_at = time.monotonic()
            return self.state


class Places:
    """At most `limit` calls in flight. A call that finds them all taken waits; a freed place
    goes to the waiting call with the most money at stake, the earliest among equals.

    For one event loop (workers/aio.py): nothing here is shared between threads.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.taken = 0
        self._order = itertools.count()
        self._waiting: list[tuple[Decimal, int, asyncio.Future[None]]] = []

    async def take(self, *, at_stake: Decimal, wait_s: float) -> bool:
        """Whether a place came free within `wait_s`; the caller gives it back (`give_back`)."""
        if self.taken < self.limit:
            self.taken += 1
            return True
        handed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (-at_stake, next(self._order), handed))
        try:
            await asyncio.wait({handed}, timeout=wait_s)
        except BaseException:
            if not handed.cancel():  # a place was handed over on the way out: pass it on
                self.give_back()
            raise
        # Not handed one in time: cancelled, so `give_back` passes over it.
        return not handed.cancel()

    def resize(self, limit: int) -> None:
        """A new cap (the institution's settings changed): more places go to waiting calls."""
        self.limit = limit
        while self.taken < self.limit and self._waiting:
            self.taken += 1
            self.give_back()

    def give_back(self) -> None:
        """The place goes straight to the first waiting call, if any; else it is free."""
        while self._waiting and self.taken <= self.limit:
            *_, handed = heapq.heappop(self._waiting)
            if not handed.done():
                handed.set_result(None)
                return
        self.taken -= 1


_breakers: dict[str, Breaker] = {}
_slots: dict[str, Places] = {}
_registry_lock = threading.Lock()


def breaker_for(code: str) -> Breaker:
    with _registry_lock:
        return _breakers.setdefault(code, Breaker())


@asynccontextmanager
async def slot(
    code: str, limit: int, *, wait_s: float, at_stake: Decimal | None = None
) -> AsyncIterator[bool]:
    """Hold one of `limit` in-flight places for `code`; yields False if none came free.
    Waiting calls get a freed place biggest `at_stake` first.

    For calls on the worker's event loop (workers/aio.py), the only place they are made.
    """
    places = _slots.setdefault(code, Places(limit))
    if places.limit != limit:
        places.resize(limit)
    if not await places.take(at_stake=at_stake or Decimal(0), wait_s=wait_s):
        yield False
        return
    try:
        yield True
    finally:
        places.give_back()
