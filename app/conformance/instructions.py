"""The checks on the instruction endpoint (docs/institution-protocol.md, section 1)."""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal

import httpx

from app.conformance.client import (
    Answer,
    Target,
    describe,
    encode,
    instruction,
    main_kind,
    new_key,
    post,
    post_once,
    retry_after_s,
)
from app.conformance.report import CheckResult, failed, not_observed, passed


@dataclasses.dataclass
class Sent:
    """The first instruction and what its key was answered, for the callback checks."""

    key: str
    kind: str
    first: Answer
    replay: Answer | None = None
    # Every reference a 202 gave, by key (an institution that applies a replay again gives two).
    references: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    kinds: dict[str, str] = dataclasses.field(default_factory=dict)
    # What each accepted key asked for, for the amount rules of its outcome.
    asked: dict[str, Decimal | None] = dataclasses.field(default_factory=dict)

    def accepted(self, key: str, kind: str, answer: Answer, *, amount: str | None) -> None:
        """`amount`: what the body sent asked for; the first body under a key stands."""
        if answer.status_code == 202 and answer.reference is not None:
            self.references.setdefault(key, set()).add(answer.reference)
            self.kinds[key] = kind
            self.asked.setdefault(key, None if amount is None else Decimal(amount))


def check_new_key(first: Answer) -> CheckResult:
    name = "new-key"
    body = first.body if isinstance(first.body, dict) else {}
    if first.status_code != 202 or first.reference is None:
        return failed(name, f"wanted 202 with a reference; got {describe(first)}")
    if body.get("status") != "accepted":
        return failed(name, f'wanted "status": "accepted"; got {describe(first)}')
    return passed(name, f"202, reference {first.reference}")


def check_replay_answer(sent: Sent) -> CheckResult | None:
    """The replay's answer; None when it holds (the callbacks are judged later)."""
    name, first, replay = "idempotent-replay", sent.first, sent.replay
    assert replay is not None
    if replay.status_code != 202:
        return failed(name, f"the replay got {describe(replay)}, not 202")
    if replay.reference != first.reference:
        return failed(
            name, f"the replay's reference {replay.reference} is not the first {first.reference}"
        )
    return None


async def check_key_reuse(http: httpx.AsyncClient, target: Target, sent: Sent) -> CheckResult:
    name = "key-reuse"
    body = instruction(target, sent.kind, target.accounts[0])
    body["amount"] = "2000.00"  # another body under the same key
    answer = await post(http, target, encode(body), sent.key)
    sent.accepted(sent.key, sent.kind, answer, amount=body["amount"])
    if answer.status_code != 422:
        return failed(name, f"wanted 422; got {describe(answer)}")
    return passed(name, "422")


async def check_malformed_key(http: httpx.AsyncClient, target: Target) -> CheckResult:
    name = "malformed-key"
    cases = {
        "missing": None,
        "with a space": "not a key",
        "256 characters": "k" * 256,
    }
    wrong = []
    for label, key in cases.items():
        body = instruction(target, main_kind(target), target.accounts[-1])
        answer = await post(http, target, encode(body), key)
        if answer.status_code != 400:
            wrong.append(f"{label}: {describe(answer)}")
    if wrong:
        return failed(name, "wanted 400; " + "; ".join(wrong))
    return passed(name, f"400 for a key {', '.join(cases)}")


async def check_register(http: httpx.AsyncClient, target: Target) -> CheckResult:
    """At the platform every other kind is refused; elsewhere register is."""
    name = "register-platform-only"
    kinds = ["stop_payment", "query"] if target.is_platform else ["register"]
    wrong = []
    for kind in kinds:
        body = instruction(target, kind, target.accounts[0])
        answer = await post(http, target, encode(body), new_key())
        if answer.status_code != 422:
            wrong.append(f"{kind}: {describe(answer)}")
    where = "the national platform" if target.is_platform else "an institution holding accounts"
    if wrong:
        return failed(name, f"wanted 422 at {where}; " + "; ".join(wrong))
    return passed(name, f"422 for {', '.join(kinds)} at {where}")


async def check_rate_limit(
    http: httpx.AsyncClient, target: Target, sent: Sent, *, burst: int, wave: int
) -> CheckResult:
    """Send waves of new keys at once until a 429 comes or `burst` requests went."""
    name = "rate-limit-retry-after"
    kind = "register" if target.is_platform else "query"
    accounts = list(target.accounts)
    done = 0
    while done < burst:
        size = min(wave, burst - done)
        keys = [new_key() for _ in range(size)]
        fields = [
            instruction(target, kind, accounts[(done + i) % len(accounts)]) for i in range(size)
        ]
        answers = await asyncio.gather(
            *(
                post_once(http, target, encode(body), key)
                for body, key in zip(fields, keys, strict=True)
            )
        )
        done += size
        for key, body, answer in zip(keys, fields, answers, strict=True):
            sent.accepted(key, kind, answer, amount=body["amount"])
        limited = [a for a in answers if a.status_code == 429]
        if limited:
            return _retry_after(name, limited, done)
    return not_observed(name, f"no 429 in {done} requests (raise --burst to reach the limit)")


def _retry_after(name: str, limited: list[Answer], done: int) -> CheckResult:
    missing = [a for a in limited if retry_after_s(a) is None]
    if missing:
        header = missing[0].headers.get("retry-after")
        shown = "absent" if header is None else repr(header)
        return failed(name, f"a 429 after {done} requests; Retry-After {shown}")
    seconds = retry_after_s(limited[0])
    return passed(name, f"429 after {done} requests, Retry-After: {seconds}")
