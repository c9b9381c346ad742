"""One conformance run: the requests in order, the waits, then every check judged."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from app.cases.validation import Directory
from app.conformance import callbacks as cb
from app.conformance.client import Target, encode, instruction, main_kind, new_key, post
from app.conformance.instructions import (
    Sent,
    check_key_reuse,
    check_malformed_key,
    check_new_key,
    check_rate_limit,
    check_register,
    check_replay_answer,
)
from app.conformance.receiver import Delivery, Receiver
from app.conformance.report import CHECKS, CheckResult, failed, passed


@dataclass(frozen=True)
class Limits:
    """How long the kit waits and how hard it pushes."""

    sla_s: float = 120.0  # for the first callback, from the 202
    retry_wait_s: float = 30.0  # for the retry after our 503
    settle_s: float = 3.0  # for late callbacks (a second effect) before judging
    burst: int = 200  # requests at most while looking for a 429
    wave: int = 20  # of them at once
    timeout_s: float = 10.0  # per request


async def run_checks(
    target: Target, receiver: Receiver, *, secret: str, directory: Directory, limits: Limits
) -> list[CheckResult]:
    """Every check of CHECKS against `target`, in that order."""
    results: dict[str, CheckResult] = {}
    timeout = httpx.Timeout(limits.timeout_s)
    async with httpx.AsyncClient(timeout=timeout) as http:
        kind = main_kind(target)
        key = new_key()
        fields = instruction(target, kind, target.accounts[0])
        body = encode(fields)
        receiver.fail_first_delivery_for(key)
        sent = Sent(key=key, kind=kind, first=await post(http, target, body, key))
        sent.accepted(key, kind, sent.first, amount=fields["amount"])
        results["new-key"] = check_new_key(sent.first)
        sent.replay = await post(http, target, body, key)
        sent.accepted(key, kind, sent.replay, amount=fields["amount"])
        results["key-reuse"] = await check_key_reuse(http, target, sent)
        results["malformed-key"] = await check_malformed_key(http, target)
        results["register-platform-only"] = await check_register(http, target)
        await _wait_for_callbacks(receiver, sent, limits)
        results["rate-limit-retry-after"] = await check_rate_limit(
            http, target, sent, burst=limits.burst, wave=limits.wave
        )
    await asyncio.to_thread(time.sleep, limits.settle_s)
    deliveries = receiver.deliveries()
    results["idempotent-replay"] = _replay(sent, deliveries)
    results["callback-in-time"] = cb.check_in_time(sent, deliveries, sla_s=limits.sla_s)
    results["callback-signed"] = cb.check_signed(deliveries, secret=secret)
    results["callback-retry-same"] = cb.check_retry(
        deliveries, key=key, failed_id=receiver.failed_webhook_id
    )
    results["callback-body"] = cb.check_body(sent, deliveries)
    results["timestamps-utc"] = cb.check_timestamps(deliveries)
    results["onward-transfers"] = cb.check_onward(deliveries, directory)
    return [results[name] for name in CHECKS]


async def _wait_for_callbacks(receiver: Receiver, sent: Sent, limits: Limits) -> None:
    """Until the first instruction's callback came (within the SLA) and was retried."""
    if sent.first.status_code != 202:
        return
    left = limits.sla_s - (time.monotonic() - sent.first.at)

    def arrived(deliveries: list[Delivery]) -> bool:
        return any(d.idempotency_key == sent.key for d in deliveries)

    if not await asyncio.to_thread(receiver.wait_for, arrived, timeout_s=max(left, 0.0)):
        return

    def retried(deliveries: list[Delivery]) -> bool:
        wid = receiver.failed_webhook_id
        return sum(d.webhook_id == wid for d in deliveries) >= 2

    await asyncio.to_thread(receiver.wait_for, retried, timeout_s=limits.retry_wait_s)


def _replay(sent: Sent, deliveries: list[Delivery]) -> CheckResult:
    """The same 202 and reference, and one callback event for the key (no second effect)."""
    name = "idempotent-replay"
    if sent.first.status_code != 202:
        return failed(name, "the first instruction was not accepted")
    wrong = check_replay_answer(sent)
    if wrong is not None:
        return wrong
    events = cb.events_for(deliveries, sent.key)
    if len(events) > 1:
        return failed(name, f"{len(events)} callback events for one key: {', '.join(events)}")
    return passed(name, f"the same reference {sent.first.reference}; {len(events)} callback event")
