"""The fan-out benchmark's bare client: the very requests our adapters sent, straight from
aiohttp to the simulator, with a callback receiver in this process."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.fanout_faults import READ_TIMEOUT_S
from bench.support.receiver import callback_server
from bench.support.simulator import settled_ledger
from bench.support.stack import Stack


@dataclass(frozen=True)
class Sent:
    """One instruction as our adapter sent it, with its simulated delays (first attempt)."""

    instruction_id: int
    key: str
    institution: str
    body: dict[str, Any]
    attempts: int
    ack_ms: int  # the simulated delay before the 202
    processing_ms: int  # and after it, before the outcome

    @property
    def draw_s(self) -> float:
        """The least time from sending it to its outcome."""
        return (self.ack_ms + self.processing_ms) / 1000


@dataclass(frozen=True)
class BarePath:
    t_send: float
    acks: dict[str, float]  # idempotency key -> when its 202 came back
    callbacks: dict[str, float]  # idempotency key -> when its callback arrived
    ledger: list[dict[str, Any]]


@asynccontextmanager
async def callback_receiver(
    arrivals: dict[str, float], done: asyncio.Event, expected: int
) -> AsyncIterator[str]:
    """A callback endpoint on this event loop: notes when each key's callback arrives."""

    def arrived(event: dict[str, Any]) -> None:
        arrivals.setdefault(event["data"]["idempotency_key"], time.time())
        if len(arrivals) >= expected:
            done.set()

    async with callback_server(arrived) as base:
        yield base


async def post(
    session: aiohttp.ClientSession, item: Sent, body: dict[str, Any]
) -> tuple[int, str, float]:
    """One request: its status, its text and the seconds its Retry-After asks (else 1)."""
    async with session.post(
        f"/institutions/{item.institution}/instructions",
        data=json.dumps(body).encode(),
        headers={"Idempotency-Key": item.key, "Content-Type": "application/json"},
    ) as response:
        text = await response.text()
        return response.status, text, float(response.headers.get("Retry-After", "1"))


async def send_all(
    sim_url: str, sent: list[Sent], callback_base: str
) -> tuple[float, dict[str, float]]:
    """Every request at once; returns when the first went out and when each 202 came back.

    One aiohttp session (connection pool) per institution, as our adapters have, with the
    same HTTP client library: the comparison is of everything around the calls. (httpx's
    async client, which this used before the worker moved to aiohttp, spent about three times
    the CPU on the same calls, and made the bare client the slower one.) Under the fault mix
    a request answered 429 goes again after its Retry-After, and one that hears nothing for
    READ_TIMEOUT_S is given up.
    """
    acks: dict[str, float] = {}
    async with AsyncExitStack() as stack:
        sessions = {
            code: await stack.enter_async_context(
                aiohttp.ClientSession(
                    base_url=sim_url,
                    connector=aiohttp.TCPConnector(limit=len(sent)),
                    timeout=aiohttp.ClientTimeout(total=None, sock_read=READ_TIMEOUT_S),
                )
            )
            for code in sorted({item.institution for item in sent})
        }

        async def one(item: Sent) -> None:
            body = {**item.body, "callback_url": f"{callback_base}/{item.institution}"}
            while True:
                try:
                    status, text, retry_after = await post(sessions[item.institution], item, body)
                except TimeoutError:
                    return  # a hanging institution (--faults): given up, as the worker would
                if status != 429:
                    break
                await asyncio.sleep(retry_after)
            if status != 202:
                raise RuntimeError(f"bare client: {status} {text[:300]}")
            acks[item.key] = time.time()

        t_send = time.time()
        await asyncio.gather(*(one(item) for item in sent))
    return t_send, acks


async def bare_async(
    sim_url: str, sent: list[Sent], timeout: float, expected: int
) -> tuple[float, dict[str, float], dict[str, float]]:
    arrivals: dict[str, float] = {}
    done = asyncio.Event()
    async with callback_receiver(arrivals, done, expected) as callback_base:
        t_send, acks = await send_all(sim_url, sent, callback_base)
        await asyncio.wait_for(done.wait(), timeout)
    return t_send, acks, arrivals


def run_bare(
    stack: Stack, sent: list[Sent], case_no: str, timeout: float, skip: frozenset[str]
) -> BarePath:
    """The same keys and bodies straight to the (just reset) simulator; callbacks awaited
    from every institution but those in `skip` (the hanging one of the fault mix)."""
    expected = sum(item.institution not in skip for item in sent)
    t_send, acks, arrivals = asyncio.run(bare_async(stack.simulator_url, sent, timeout, expected))
    entries = settled_ledger(stack, case_no, expected, timeout=30)
    return BarePath(t_send, acks, arrivals, entries)
