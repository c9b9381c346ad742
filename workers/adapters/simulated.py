"""The HTTP adapter of docs/institution-protocol.md (the simulated institutions speak it)."""

from __future__ import annotations

import json
from collections.abc import Mapping

import aiohttp

from app.dispatch.failures import FailureClass
from app.dispatch.transitions import SendOrder
from app.dispatch.wire import instruction_body
from workers.adapters.base import Ack, PermanentFailure, RetryableFailure

DEFAULT_CONNECT_TIMEOUT_S = 2.0
DEFAULT_READ_TIMEOUT_S = 10.0
# 4xx answers that ask us to try again later: the request timed out, or came too early or
# at the same moment as another.
AGAIN = {408: FailureClass.timeout, 409: FailureClass.other, 425: FailureClass.other}


class HttpAdapter:
    """One institution over HTTP, with its own connection pool sized to its concurrency cap.

    aiohttp on the worker's event loop (workers/aio.py): a batch of a case's calls costs
    the worker about a third of the CPU httpx's async client spent on it (BENCHMARKS.md).
    """

    def __init__(
        self,
        *,
        code: str,
        base_url: str,
        max_in_flight: int,
        read_timeout_s: float,
        connect_timeout_s: float,
    ) -> None:
        self.code = code
        self.url = f"{base_url.rstrip('/')}/institutions/{code}/instructions"
        self.max_in_flight = max_in_flight
        self.timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout_s, sock_read=read_timeout_s
        )
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Made on first use, on the loop that uses it from then on.
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.max_in_flight)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, order: SendOrder, *, callback_url: str) -> Ack:
        body = instruction_body(order, callback_url=callback_url)
        headers = {"Idempotency-Key": order.idempotency_key}
        try:
            async with self._client().post(self.url, json=body, headers=headers) as response:
                text = await response.text()
                return _answer(self.code, response.status, response.headers, text)
        except TimeoutError as exc:
            raise RetryableFailure(
                f"{self.code}: no answer in time ({type(exc).__name__})",
                failure=FailureClass.timeout,
            ) from exc
        except aiohttp.ClientError as exc:
            raise RetryableFailure(
                f"{self.code}: cannot connect ({type(exc).__name__})",
                failure=FailureClass.unreachable,
            ) from exc


def _answer(code: str, status: int, headers: Mapping[str, str], text: str) -> Ack:
    if status in (200, 201, 202):
        try:
            return Ack(reference=str(json.loads(text)["reference"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise RetryableFailure(
                f"{code}: unreadable acknowledgement", failure=FailureClass.bad_answer
            ) from exc
    if status == 429:
        failure = FailureClass.rate_limited
    elif status >= 500 or status in AGAIN:
        failure = AGAIN.get(status, FailureClass.server_error)
    else:
        raise PermanentFailure(f"{code}: refused with {status}", detail=text[:300])
    raise RetryableFailure(
        f"{code}: answered {status}", failure=failure, retry_after_s=_retry_after(headers)
    )


def _retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        return float(headers["retry-after"])
    except (KeyError, ValueError):
        return None
