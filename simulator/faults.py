"""What can go wrong with a request: seeded faults, rate limits and outages on command."""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from simulator.numbers import iso
from simulator.profiles import Profile

OutageMode = Literal["refuse", "hang", "error"]
Clock = Callable[[], float]


@dataclass(frozen=True)
class Draw:
    """What the seed says about one attempt: its fault, if any, and its delays."""

    timeout: bool
    error: bool
    ack_ms: int
    processing_ms: int


def draw(*, seed: int, idempotency_key: str, attempt: int, profile: Profile) -> Draw:
    """The draw for attempt `attempt` (1, 2, ...) with `idempotency_key`.

    The same four numbers are drawn in the same order whatever the rates, so changing a rate
    does not shift the delays.
    """
    rng = random.Random(f"{seed}|{idempotency_key}|{attempt}")
    fault = rng.random()
    ack_ms = rng.randint(*profile.ack_ms)
    processing_ms = rng.randint(*profile.processing_ms)
    timeout = fault < profile.timeout_rate
    error = not timeout and fault < profile.timeout_rate + profile.error_rate
    return Draw(timeout=timeout, error=error, ack_ms=ack_ms, processing_ms=processing_ms)


@dataclass(frozen=True)
class Outage:
    mode: OutageMode
    until: float | None  # monotonic clock; None: until lifted
    until_at: dt.datetime | None

    def to_json(self) -> dict[str, Any]:
        until_at = None if self.until_at is None else iso(self.until_at)
        return {"mode": self.mode, "until": until_at}


class Outages:
    """Institutions put out of action on command, for a while or until lifted."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._by_code: dict[str, Outage] = {}

    def start(self, code: str, *, mode: OutageMode, seconds: float | None) -> Outage:
        until = None if seconds is None else self._clock() + seconds
        until_at = (
            None if seconds is None else dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
        )
        outage = Outage(mode, until, until_at)
        self._by_code[code] = outage
        return outage

    def lift(self, code: str) -> bool:
        """End the outage of `code`; False when there was none."""
        return self._by_code.pop(code, None) is not None

    def current(self, code: str) -> Outage | None:
        outage = self._by_code.get(code)
        if outage is not None and outage.until is not None and self._clock() >= outage.until:
            del self._by_code[code]
            return None
        return outage

    def clear(self) -> None:
        self._by_code.clear()


class RateLimiter:
    """A token bucket per institution: `rate` requests a second, bursts of up to `rate`."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # code -> (tokens, last refill)

    def take(self, code: str, rate: float | None) -> int | None:
        """None when the request may pass; else the whole seconds to wait (Retry-After)."""
        if rate is None:
            return None
        now = self._clock()
        capacity = max(rate, 1.0)
        tokens, last = self._buckets.get(code, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * rate)
        if tokens >= 1:
            self._buckets[code] = (tokens - 1, now)
            return None
        self._buckets[code] = (tokens, now)
        return max(1, math.ceil((1 - tokens) / rate))

    def clear(self) -> None:
        self._buckets.clear()
