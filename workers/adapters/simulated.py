"""The HTTP adapter of docs/institution-protocol.md (the simulated institutions speak it)."""

from __future__ import annotations

import httpx

from app.dispatch.transitions import SendOrder
from workers.adapters.base import Ack, PermanentFailure, RetryableFailure

DEFAULT_CONNECT_TIMEOUT_S = 2.0
DEFAULT_READ_TIMEOUT_S = 10.0


class HttpAdapter:
    """One institution over HTTP, with its own connection pool sized to its concurrency cap."""

    def __init__(self, *, code: str, base_url: str, max_in_flight: int, read_timeout_s: float,
                 connect_timeout_s: float) -> None:  # fmt: skip
        self.code = code
        self.url = f"{base_url.rstrip('/')}/institutions/{code}/instructions"
        self.client = httpx.Client(
            timeout=httpx.Timeout(read_timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(
                max_connections=max_in_flight, max_keepalive_connections=max_in_flight
            ),
        )

    def send(self, order: SendOrder, *, callback_url: str) -> Ack:
        body = {
            "kind": order.kind,
            "case_no": order.case_no,
            "account_no": order.account_no,
            "holder_name": order.holder_name,
            "amount": str(order.amount) if order.amount is not None else None,
            "transaction_time": order.transaction_time.isoformat()
            if order.transaction_time
            else None,
            "reference": None,
            "document_no": order.document_no,
            "callback_url": callback_url,
        }
        try:
            response = self.client.post(
                self.url, json=body, headers={"Idempotency-Key": order.idempotency_key}
            )
        except httpx.TimeoutException as exc:
            raise RetryableFailure(
                f"{self.code}: no answer in time ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise RetryableFailure(f"{self.code}: cannot connect ({type(exc).__name__})") from exc
        return _answer(self.code, response)


def _answer(code: str, response: httpx.Response) -> Ack:
    status = response.status_code
    if status in (200, 201, 202):
        try:
            return Ack(reference=str(response.json()["reference"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise RetryableFailure(f"{code}: unreadable acknowledgement") from exc
    if status == 429:
        raise RetryableFailure(f"{code}: rate limited (429)", retry_after_s=_retry_after(response))
    if status >= 500 or status in (408, 409, 425):
        raise RetryableFailure(f"{code}: answered {status}", retry_after_s=_retry_after(response))
    raise PermanentFailure(f"{code}: refused with {status}", detail=response.text[:300])


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None
