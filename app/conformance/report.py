"""The checks the kit runs, their results, and the table it prints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    passed = "PASS"
    failed = "FAIL"
    # The rule could not be exercised (no 429 within the burst, no onward transfer reported):
    # shown, but not a failure.
    not_observed = "NOT OBSERVED"


# Every check, in the order it is reported, with the rule it holds the institution to.
CHECKS: dict[str, str] = {
    "new-key": "A new Idempotency-Key gets 202 with a reference",
    "idempotent-replay": "The same key and body: the same 202 and reference, one callback event",
    "key-reuse": "The same key with another body gets 422",
    "malformed-key": "A missing or malformed Idempotency-Key gets 400",
    "register-platform-only": "register only at the national platform; elsewhere 422",
    "rate-limit-retry-after": "A 429 carries Retry-After in seconds",
    "callback-in-time": "The callback arrives within the institution's SLA",
    "callback-signed": "Callbacks are signed with the institution's secret (Standard Webhooks)",
    "callback-retry-same": "A callback retried after our 5xx has the same body and webhook-id",
    "callback-body": "The callback is an outcome the service reads, allowed for the kind, "
    "its sums consistent with what was asked",
    "timestamps-utc": "Times in callbacks carry a UTC offset",
    "onward-transfers": "Onward transfers are well formed and name accounts intake accepts",
}


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str = ""


def passed(name: str, detail: str = "") -> CheckResult:
    return CheckResult(name, Status.passed, detail)


def failed(name: str, detail: str) -> CheckResult:
    return CheckResult(name, Status.failed, detail)


def not_observed(name: str, detail: str) -> CheckResult:
    return CheckResult(name, Status.not_observed, detail)


def exit_code(results: Sequence[CheckResult]) -> int:
    """1 when any check failed, else 0 (a check not observed does not fail the run)."""
    return 1 if any(r.status is Status.failed for r in results) else 0


def render_table(results: Sequence[CheckResult]) -> str:
    """The results as a plain-text table, one check a row, and a summary line."""
    rows = [(r.name, r.status.value, r.detail) for r in results]
    name_w = max([len("check"), *(len(r[0]) for r in rows)])
    status_w = max([len("result"), *(len(r[1]) for r in rows)])
    lines = [f"{'check':<{name_w}}  {'result':<{status_w}}  detail"]
    lines.append(f"{'-' * name_w}  {'-' * status_w}  {'-' * 6}")
    lines.extend(f"{n:<{name_w}}  {s:<{status_w}}  {d}".rstrip() for n, s, d in rows)
    counts = {status: sum(r.status is status for r in results) for status in Status}
    lines.append("")
    lines.append(
        f"{counts[Status.passed]} passed, {counts[Status.failed]} failed, "
        f"{counts[Status.not_observed]} not observed"
    )
    return "\n".join(lines)
