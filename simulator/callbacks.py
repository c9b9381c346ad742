"""Signed callbacks (Standard Webhooks), retried like a real partner until acknowledged."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from standardwebhooks import Webhook

from simulator.faults import Clock
from simulator.ledger import Ledger
from simulator.numbers import iso
from simulator.profiles import CallbackPolicy

log = logging.getLogger(__name__)

# Callback requests on the wire at once; the rest wait their turn on a semaphore. httpx's
# connection pool does work quadratic in its connections on every request, so more parallel
# sends cost more CPU than they save: measured on 2 cores, 600 callbacks took 2.1 s at 8,
# 3.1 s at 16 and 6.6 s at 64 (and 2.7 s / 4.6 s / 6.8 s to a receiver taking 20 ms each).
SENDS_IN_FLIGHT = 8


@dataclass(frozen=True)
class Callback:
    """One event to deliver. The body and the webhook-id are the same on every attempt."""

    institution: str
    idempotency_key: str
    case_no: str
    url: str
    webhook_id: str
    body: str
    # What the ledger entries of this callback say besides (kind, account, outcome, amounts).
    ledger_fields: Mapping[str, Any] = field(default_factory=dict)
    # Protocol breaks of the institution's profile (profiles.Breaks), for the conformance kit.
    signed: bool = True
    restamp_retries: bool = False

    def body_for(self, attempt: int, *, now: dt.datetime) -> str:
        """The body of one attempt: the same every time, unless the profile breaks that."""
        if attempt == 1 or not self.restamp_retries:
            return self.body
        event = json.loads(self.body)
        event["timestamp"] = iso(now)
        return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


class CallbackSender:
    """Sends callbacks over one shared HTTP client; can be told to fail every attempt."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        secrets: Mapping[str, str],
        policy: CallbackPolicy,
        clock: Clock = time.monotonic,
    ) -> None:
        self._ledger = ledger
        self._signers = {code: Webhook(secret) for code, secret in secrets.items()}
        self._policy = policy
        self._clock = clock
        self._fail_until: float | None = None
        self._fail_until_at: dt.datetime | None = None
        self._failing = False
        self.client: httpx.AsyncClient | None = None
        self._in_flight = asyncio.Semaphore(SENDS_IN_FLIGHT)

    def make_client(self) -> httpx.AsyncClient:
        """The client to share: many connections, and no limit on waiting for one."""
        timeout = httpx.Timeout(self._policy.timeout_s, pool=None)
        limits = httpx.Limits(
            max_connections=SENDS_IN_FLIGHT, max_keepalive_connections=SENDS_IN_FLIGHT
        )
        return httpx.AsyncClient(timeout=timeout, limits=limits)

    def set_mode(self, *, failing: bool, seconds: float | None) -> None:
        """Fail every attempt (for `seconds`, or until told otherwise), or send normally."""
        self._failing = failing
        if failing and seconds is not None:
            self._fail_until = self._clock() + seconds
            self._fail_until_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
        else:
            self._fail_until = self._fail_until_at = None

    @property
    def failing(self) -> bool:
        if self._failing and self._fail_until is not None and self._clock() >= self._fail_until:
            self.set_mode(failing=False, seconds=None)
        return self._failing

    def mode(self) -> dict[str, Any]:
        if not self.failing:
            return {"mode": "normal", "until": None}
        until = None if self._fail_until_at is None else iso(self._fail_until_at)
        return {"mode": "fail", "until": until}

    def sign(self, callback: Callback, body: str, *, now: dt.datetime) -> dict[str, str]:
        """The Standard Webhooks headers for one attempt's `body`, signed at `now`."""
        headers = {
            "content-type": "application/json",
            "webhook-id": callback.webhook_id,
            "webhook-timestamp": str(math.floor(now.timestamp())),
        }
        if callback.signed:
            signer = self._signers[callback.institution]
            headers["webhook-signature"] = signer.sign(callback.webhook_id, now, body)
        return headers

    async def deliver(self, callback: Callback) -> bool:
        """Attempt until a 2xx; wait 1 s, 2 s, 4 s, ... between attempts. False on giving up."""
        started = self._clock()
        delays = self._policy.delays()
        attempt = 0
        while True:
            attempt += 1
            if await self._attempt(callback, attempt):
                return True
            delay = next(delays)
            if self._clock() - started + delay > self._policy.give_up_after_s:
                log.warning("giving up callback %s after %d attempts", callback.webhook_id, attempt)
                return False
            await asyncio.sleep(delay)

    async def _attempt(self, callback: Callback, attempt: int) -> bool:
        status, note = await self._post(callback, attempt)
        self._ledger.write(
            "callback_sent",
            institution=callback.institution,
            idempotency_key=callback.idempotency_key,
            case_no=callback.case_no,
            webhook_id=callback.webhook_id,
            **callback.ledger_fields,
            attempt=attempt,
            status_code=status,
            note=note,
        )
        if status is None or not 200 <= status < 300:
            return False
        self._ledger.write(
            "callback_acknowledged",
            institution=callback.institution,
            idempotency_key=callback.idempotency_key,
            case_no=callback.case_no,
            webhook_id=callback.webhook_id,
            **callback.ledger_fields,
            attempt=attempt,
            status_code=status,
        )
        return True

    async def _post(self, callback: Callback, attempt: int) -> tuple[int | None, str | None]:
        """The answer's status, or None and why there was none."""
        if self.failing:
            return None, "simulated send failure (callbacks in fail mode)"
        if self.client is None:
            return None, "simulator not started"
        async with self._in_flight:
            # Signed when it goes out, so a wait for a turn does not age the timestamp.
            now = dt.datetime.now(dt.UTC)
            body = callback.body_for(attempt, now=now)
            headers = self.sign(callback, body, now=now)
            try:
                response = await self.client.post(
                    callback.url, content=body.encode("utf-8"), headers=headers
                )
            except httpx.HTTPError as exc:
                return None, f"{type(exc).__name__}: {exc}"[:200]
        return response.status_code, None
