"""Per-institution protection inside one worker process: a circuit breaker and a cap on calls
in flight, so a dead institution neither delays the others nor gets hammered."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

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


_breakers: dict[str, Breaker] = {}
_slots: dict[str, asyncio.Semaphore] = {}
_registry_lock = threading.Lock()


def breaker_for(code: str) -> Breaker:
    with _registry_lock:
        return _breakers.setdefault(code, Breaker())


@asynccontextmanager
async def slot(code: str, limit: int, *, wait_s: float) -> AsyncIterator[bool]:
    """Hold one of `limit` in-flight places for `code`; yields False if none came free.

    For calls on the worker's event loop (workers/aio.py), the only place they are made.
    """
    semaphore = _slots.setdefault(code, asyncio.Semaphore(limit))
    try:
        await asyncio.wait_for(semaphore.acquire(), wait_s)
    except TimeoutError:
        yield False
        return
    try:
        yield True
    finally:
        semaphore.release()
