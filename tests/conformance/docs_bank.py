"""A minimal institution written from the served OpenAPI document alone (issue 18, "Done when").

It takes instructions at the path the document names, refuses what the document says to
refuse, and calls back with an outcome built field by field from the callback's schema,
signed with the Standard Webhooks library. Every body it takes or sends is checked against
the document's schemas (tests/conformance/docs_contract.py); it imports nothing of the
service and nothing of the simulator.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conformance.docs_contract import Contract, ContractBroken

CENT = Decimal("0.01")
KINDS = {"stop_payment", "freeze", "query", "release", "register"}
# The outcome this bank answers each kind with (the document's `Outcome` lists what each
# kind allows): partial holds, so that money moved on and an onward transfer is reported.
OUTCOMES = {
    "stop_payment": "stopped_partial",
    "freeze": "frozen_partial",
    "query": "answered",
    "release": "released",
    "register": "registered",
}
ONWARD_KINDS = {"stop_payment", "freeze", "query"}
# What each kind cannot do without (the webhook's 422).
NEEDS = {
    "stop_payment": ("account_no", "amount"),
    "freeze": ("account_no", "amount", "document_no"),
    "query": ("account_no",),
    "release": ("account_no",),
}
# A callback answered 5xx or not at all is sent again this many times, backing off.
TRIES = 6
FIRST_BACKOFF_S = 0.1


@dataclass(frozen=True)
class BankConfig:
    """What the bank knows of itself, and where its customers' money went on."""

    code: str
    national_platform: bool
    secret: str  # its `whsec_` secret, handed over by the centre
    onward_to: tuple[str, str]  # (institution, account_no) the money moved on to
    rate_per_s: int = 10
    processing_s: float = 0.05


@dataclass(frozen=True)
class Taken:
    body: dict[str, Any]
    reference: str


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class DocsBank:
    """The institution as an ASGI app. `problems` holds anything it found wrong with its own
    sends (a body the document's schema refused, a callback never acknowledged)."""

    def __init__(self, contract: Contract, config: BankConfig) -> None:
        missing = {"webhook-id", "webhook-timestamp", "webhook-signature"}
        if missing - contract.signature_headers:
            raise ContractBroken(f"the callback does not name {missing}")
        self.contract = contract
        self.config = config
        self.problems: list[str] = []
        self.sent: list[dict[str, Any]] = []  # every callback event, once
        self._taken: dict[str, Taken] = {}
        self._admitted: deque[float] = deque()
        self._numbers = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._webhook = Webhook(config.secret)
        self.app = Starlette(routes=[Route(contract.path, self._instruction, methods=["POST"])])

    def _admit(self) -> bool:
        """At most `rate_per_s` requests in any second; a refused one took nothing."""
        now = time.monotonic()
        while self._admitted and now - self._admitted[0] >= 1.0:
            self._admitted.popleft()
        if len(self._admitted) >= self.config.rate_per_s:
            return False
        self._admitted.append(now)
        return True

    async def _instruction(self, request: Request) -> Response:
        if request.path_params["code"] != self.config.code:
            return refuse(404, "not this institution")
        if not self._admit():
            return refuse(429, "rate limited", {self.contract.retry_after: "1"})
        key = request.headers.get(self.contract.key_header)
        if key is None or self.contract.key.problems(key):
            return refuse(400, f"missing or malformed {self.contract.key_header}")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return refuse(400, "not JSON")
        wrong = self.contract.instruction.problems(body)
        if wrong:
            return refuse(422, "; ".join(wrong))
        if body["kind"] not in self._kinds():
            return refuse(422, f"{body['kind']} is not taken here")
        if [name for name in NEEDS.get(body["kind"], ()) if body[name] is None]:
            return refuse(422, f"{body['kind']} without {', '.join(NEEDS[body['kind']])}")
        taken = self._taken.get(key)
        if taken is not None:
            if not self.contract.same_body(taken.body, body):
                return refuse(422, f"{self.contract.key_header} reused with another body")
            return self._accepted(taken.reference)  # a replay: nothing happens again
        reference = f"{self.config.code}-{next(self._numbers):06d}"
        self._taken[key] = Taken(body, reference)
        task = asyncio.create_task(self._process(key, body, reference))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return self._accepted(reference)

    def instruction(self, key: str) -> dict[str, Any]:
        """The body of the instruction it took under `key`."""
        return self._taken[key].body

    def _kinds(self) -> set[str]:
        """`register` goes to the national platform only; it takes nothing else."""
        return {"register"} if self.config.national_platform else KINDS - {"register"}

    def _accepted(self, reference: str) -> Response:
        body = self.contract.accepted.shape({"reference": reference})
        return JSONResponse(body, status_code=202)

    async def _process(self, key: str, body: dict[str, Any], reference: str) -> None:
        await asyncio.sleep(self.config.processing_s)
        try:
            event = self.contract.event.shape(
                {"timestamp": utc_now(), "data": self._outcome(key, body, reference)}
            )
        except ContractBroken as exc:
            self.problems.append(f"{key}: {exc}")
            return
        self.sent.append(event)
        await self._call_back(body["callback_url"], json.dumps(event).encode())

    def _outcome(self, key: str, body: dict[str, Any], reference: str) -> dict[str, Any]:
        """The outcome's fields, named as the callback's schema names them."""
        kind = body["kind"]
        asked = Decimal(str(body["amount"])) if body["amount"] is not None else None
        held = (asked / 2).quantize(CENT) if asked is not None else Decimal("500.00")
        values: dict[str, Any] = {
            "idempotency_key": key,
            "reference": reference,
            "kind": kind,
            "outcome": OUTCOMES[kind],
            "effective_at": utc_now(),
        }
        if kind in ("stop_payment", "freeze"):
            values |= {"amount_stopped": f"{held}", "balance": f"{held}"}
        elif kind == "release":
            values |= {"amount_stopped": f"{asked or Decimal('0.00')}"}
        elif kind == "query":
            values |= {"balance": f"{held}"}
        if kind in ONWARD_KINDS:
            moved = asked - held if asked is not None else held
            values["onward_transfers"] = [self._onward(moved, body["transaction_time"])]
            values["cashed_out"] = "0.00"
        return self.contract.outcome.shape(values)

    def _onward(self, amount: Decimal, came_in: str | None) -> dict[str, Any]:
        """The transfer that took the money on, a few minutes after it came in."""
        now = dt.datetime.now(dt.UTC)
        left = dt.datetime.fromisoformat(came_in) + dt.timedelta(minutes=4) if came_in else now
        institution, account_no = self.config.onward_to
        return self.contract.onward.shape(
            {
                "institution": institution,
                "account_no": account_no,
                "amount": f"{amount:.2f}",
                "occurred_at": min(left, now).astimezone(dt.UTC).isoformat(),
                "reference": f"T{uuid.uuid4().hex[:8]}",
            }
        )

    async def _call_back(self, url: str, payload: bytes) -> None:
        """POST until it is taken; a 5xx or no answer: the same body and webhook-id again."""
        webhook_id = f"msg_{uuid.uuid4().hex}"
        async with httpx.AsyncClient(timeout=5) as http:
            for attempt in range(TRIES):
                signed_at = dt.datetime.now(dt.UTC)
                headers = {
                    "content-type": "application/json",
                    "webhook-id": webhook_id,
                    "webhook-timestamp": str(int(signed_at.timestamp())),
                    "webhook-signature": self._webhook.sign(webhook_id, signed_at, payload),
                }
                try:
                    answer = await http.post(url, content=payload, headers=headers)
                    if answer.status_code >= 300 and answer.status_code < 500:
                        self.problems.append(f"{webhook_id}: refused, {answer.text}")
                    if answer.status_code < 500:
                        return
                except httpx.HTTPError:
                    pass  # no answer: as a 5xx
                await asyncio.sleep(FIRST_BACKOFF_S * 2**attempt)
        self.problems.append(f"{webhook_id}: never acknowledged")


def refuse(status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"status": status, "detail": detail}, status_code=status, headers=headers)
