"""The kit as an adapter: what it sends an institution, and how it reads the answers."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.cards import luhn_complete
from app.institutions.models import InstitutionKind

# Requests answered 429 or 5xx are sent again with the same key this many times.
TRIES = 5
# The longest Retry-After the kit honours before it sends again.
MAX_WAIT_S = 10.0


@dataclass(frozen=True)
class Target:
    """The institution under test, and how the kit reaches it and is reached."""

    code: str
    kind: InstitutionKind
    url: str  # the institution's base URL
    callback_url: str
    accounts: Sequence[str]
    holder_name: str = "测试"
    case_no: str = field(
        default_factory=lambda: f"ZF-{dt.datetime.now(dt.UTC):%Y%m%d}-9{_digits(5)}"
    )

    @property
    def is_platform(self) -> bool:
        return self.kind == InstitutionKind.national_platform

    @property
    def endpoint(self) -> str:
        return f"{self.url.rstrip('/')}/institutions/{self.code}/instructions"


@dataclass(frozen=True)
class Answer:
    status_code: int
    headers: dict[str, str]
    body: Any  # JSON, or None
    at: float  # time.monotonic() when it came

    @property
    def reference(self) -> str | None:
        ref = self.body.get("reference") if isinstance(self.body, dict) else None
        return ref if isinstance(ref, str) and ref else None


def _digits(n: int) -> str:
    return "".join(random.choice("0123456789") for _ in range(n))


def sample_accounts(
    bin_prefixes: Sequence[str], kind: InstitutionKind, count: int = 8
) -> list[str]:
    """Account numbers a simulated institution takes: cards with its BIN and a right check
    digit for a bank, 16-digit ids for a payment institution."""
    if kind == InstitutionKind.bank and bin_prefixes:
        return [
            luhn_complete(bin_prefixes[0] + _digits(18 - len(bin_prefixes[0])))
            for _ in range(count)
        ]
    return ["1" + _digits(15) for _ in range(count)]


def new_key() -> str:
    return f"conf{random.getrandbits(112):028x}"


def instruction(target: Target, kind: str, account_no: str | None) -> dict[str, Any]:
    """A body of `kind` (section 1); amounts and times those of a transfer an hour ago."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    register = kind == "register"
    return {
        "kind": kind,
        "case_no": target.case_no,
        "account_no": None if register else account_no,
        "holder_name": None if register else target.holder_name,
        "amount": None if kind == "query" else "1000.00",
        "transaction_time": None if register else (now - dt.timedelta(hours=1)).isoformat(),
        "reference": None,
        "document_no": "CONFORMANCE-1" if kind == "freeze" else None,
        "callback_url": target.callback_url,
    }


def main_kind(target: Target) -> str:
    """The kind the institution takes: register at the platform, stop_payment elsewhere."""
    return "register" if target.is_platform else "stop_payment"


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


async def post_once(
    http: httpx.AsyncClient, target: Target, body: bytes, key: str | None
) -> Answer:
    """One request; a refused connection or a timeout is answered as status 0."""
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    try:
        response = await http.post(target.endpoint, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return Answer(0, {}, {"error": f"{type(exc).__name__}: {exc}"}, time.monotonic())
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    lowered = {name.lower(): value for name, value in response.headers.items()}
    return Answer(response.status_code, lowered, parsed, time.monotonic())


async def post(http: httpx.AsyncClient, target: Target, body: bytes, key: str | None) -> Answer:
    """Send until an answer that is not 429, 5xx or no answer (those took nothing), a few times."""
    answer = await post_once(http, target, body, key)
    for _ in range(TRIES - 1):
        if answer.status_code != 429 and 0 < answer.status_code < 500:
            break
        await asyncio.sleep(min(retry_after_s(answer) or 1.0, MAX_WAIT_S))
        answer = await post_once(http, target, body, key)
    return answer


def retry_after_s(answer: Answer) -> int | None:
    """Retry-After as whole seconds, or None when it is absent or not a number of seconds."""
    value = answer.headers.get("retry-after", "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def describe(answer: Answer) -> str:
    """An answer in a few words for the table."""
    if answer.status_code == 0:
        return f"no answer ({answer.body['error']})"
    return f"{answer.status_code} {json.dumps(answer.body, ensure_ascii=False)[:120]}"
