"""The race benchmark's ideal client: every level-1 stop at the instant of the report, each
next-level stop the instant the callback revealing it arrives, straight to the simulator.

It follows the money by our service's rules (a stop per account and case, down to the
deepest level followed, from the minimum amount traced into the account), with zero
overhead: no database, no queue, a retry the moment an institution fails to answer. Where
ours stopped the same account, it sends our very idempotency key and body fields, so the
simulator draws the same delays for it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp

from bench.race_paths import OUTAGE_S, CaseSpec, Sent
from bench.support.receiver import callback_server

READ_TIMEOUT_S = 90.0  # longer than a hanging institution's 30 s: it answers 503 in the end


def account_key(institution: str, account_no: str) -> tuple[str, str]:
    return institution, "".join(ch for ch in account_no if ch not in " -").upper()


@dataclass
class IdealCase:
    case_no: str
    spec: CaseSpec
    ours: dict[tuple[str, str], Sent]  # what ours sent, by account
    stopped: set[tuple[str, str]] = field(default_factory=set)
    traced: dict[tuple[str, str], Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Rules:
    max_depth: int
    min_amount: Decimal


class IdealClient:
    """Sends stops, takes callbacks, and knows when nothing is left in flight."""

    def __init__(self, session: aiohttp.ClientSession, callback_base: str, rules: Rules) -> None:
        self._session = session
        self._callback_base = callback_base
        self._rules = rules
        self._by_key: dict[str, tuple[IdealCase, int]] = {}
        self.outstanding: set[str] = set()
        self.quiet = asyncio.Event()
        self.all_started = False
        self.failure: BaseException | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def start_case(self, case: IdealCase, schedule: dict[str, Any]) -> None:
        """Every level-1 stop at once: one per account, for all the victim paid it."""
        paid: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for t in schedule["victim_transfers"]:
            to = t["to"]
            paid.setdefault(account_key(to["institution"], to["account_no"]), []).append(t)
        for key, transfers in paid.items():
            to = transfers[0]["to"]
            amount = sum((Decimal(t["amount"]) for t in transfers), Decimal("0.00"))
            case.traced[key] = amount
            at = transfers[0]["occurred_at"]
            self._stop(case, 1, to["institution"], to["account_no"], to["holder_name"], amount, at)

    def _stop(
        self,
        case: IdealCase,
        level: int,
        institution: str,
        account_no: str,
        holder_name: str | None,
        amount: Decimal,
        at: str,
    ) -> None:
        account = account_key(institution, account_no)
        case.stopped.add(account)
        ours = case.ours.get(account)
        key = ours.key if ours is not None else uuid.uuid4().hex
        if ours is not None and ours.amount == amount:
            holder_name = ours.holder_name
            if ours.transaction_time is not None:
                at = ours.transaction_time.isoformat()
        body = {
            "kind": "stop_payment",
            "case_no": case.case_no,
            "account_no": account_no,
            "holder_name": holder_name,
            "amount": f"{amount:.2f}",
            "transaction_time": at,
            "callback_url": f"{self._callback_base}/{institution}",
        }
        self._by_key[key] = (case, level)
        self.outstanding.add(key)
        self.quiet.clear()
        task = asyncio.create_task(self._send(institution, key, body))
        self._tasks.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        """A send that failed for good ends the run (it would wait for its callback forever)."""
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.failure = task.exception()
            self.quiet.set()

    async def _send(self, institution: str, key: str, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
        while True:
            try:
                async with self._session.post(
                    f"/institutions/{institution}/instructions", data=data, headers=headers
                ) as response:
                    text = await response.text()
                    status = response.status
                    retry_after = float(response.headers.get("Retry-After", "0"))
            except (aiohttp.ClientError, TimeoutError):
                continue
            if status == 202:
                return
            if status == 429:
                await asyncio.sleep(retry_after)
            elif status < 500:
                raise RuntimeError(f"ideal client: {status} {text[:300]}")

    def on_callback(self, data: dict[str, Any]) -> None:
        key = data["idempotency_key"]
        if key not in self.outstanding:
            return  # a repeated callback
        self.outstanding.discard(key)
        case, level = self._by_key[key]
        if data["outcome"] not in ("mismatch", "account_not_found", "rejected"):
            self._follow(case, level + 1, data.get("onward_transfers") or [])
        if not self.outstanding and self.all_started:
            self.quiet.set()

    def _follow(self, case: IdealCase, level: int, onward: list[dict[str, Any]]) -> None:
        reached: dict[tuple[str, str], dict[str, Any]] = {}
        for o in onward:
            account = account_key(o["institution"], o["account_no"])
            if account in case.stopped:
                continue
            reached.setdefault(account, o)
            case.traced[account] = case.traced.get(account, Decimal("0")) + Decimal(o["amount"])
        for account, o in reached.items():
            amount = case.traced[account]
            if level <= self._rules.max_depth and amount >= self._rules.min_amount:
                name, at = o["holder_name"], o["occurred_at"]
                self._stop(case, level, o["institution"], o["account_no"], name, amount, at)


def receiver(client_box: list[IdealClient]) -> AbstractAsyncContextManager[str]:
    """A callback endpoint on this event loop, handing each callback to the client at once."""
    return callback_server(lambda event: client_box[0].on_callback(event["data"]))


async def _post(session: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> Any:
    async with session.post(path, json=body) as response:
        response.raise_for_status()
        return await response.json()


async def run_ideal(
    sim_url: str,
    cases: list[IdealCase],
    *,
    rules: Rules,
    spacing_s: float,
    degraded_at: str | None,
    timeout: float,
) -> list[tuple[dict[str, Any], float]]:
    """Each case's live money loaded and its level-1 stops sent at once, `spacing_s` apart,
    then every stop revealed followed at once; (schedule, start) per case once quiet."""
    timeouts = aiohttp.ClientTimeout(total=None, sock_read=READ_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=0)
    box: list[IdealClient] = []
    loaded: list[tuple[dict[str, Any], float]] = []
    async with (
        aiohttp.ClientSession(base_url=sim_url, timeout=timeouts, connector=connector) as session,
        receiver(box) as callback_base,
    ):
        client = IdealClient(session, callback_base, rules)
        box.append(client)
        start = time.monotonic()
        for i, case in enumerate(cases):
            await asyncio.sleep(max(0.0, start + i * spacing_s - time.monotonic()))
            t0 = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=case.spec.delay_s)
            spec = case.spec
            body = {"seed": spec.seed, "t0": t0.isoformat(), "parameters": spec.parameters}
            schedule = await _post(session, "/admin/live", body)
            if degraded_at is not None and i == 0:
                outage = {"institution": degraded_at, "mode": "hang", "seconds": OUTAGE_S}
                await _post(session, "/admin/outage", outage)
            loaded.append((schedule, time.time()))
            client.start_case(case, schedule)
        client.all_started = True
        if not client.outstanding:
            client.quiet.set()
        try:
            await asyncio.wait_for(client.quiet.wait(), timeout)
        except TimeoutError:
            left = len(client.outstanding)
            raise RuntimeError(f"ideal client: {left} stops without a callback") from None
        if client.failure is not None:
            raise RuntimeError("ideal client: a stop could not be sent") from client.failure
    return loaded
