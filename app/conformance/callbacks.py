"""The checks on the callbacks the kit received (docs/institution-protocol.md, section 2)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.callbacks.rules import ALLOWED, amount_problems
from app.cases.schemas import AccountRef
from app.cases.validation import CLOCK_SKEW, LOOKBACK, Directory, FieldProblem, resolve_account
from app.conformance.instructions import Sent
from app.conformance.receiver import Delivery
from app.conformance.report import CheckResult, failed, not_observed, passed
from app.dispatch.models import InstructionKind
from app.dispatch.wire import CallbackEnvelope, OnwardTransfer
from app.i18n import t

# An ISO 8601 date-time with its offset written out (Z or ±hh:mm).
AWARE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$")
# Fields with checks of their own, left out of `callback-body`.
OWN_CHECKS = {"timestamp", "effective_at", "onward_transfers"}
SHOWN = 3  # problems named in a row of the table


def _first(items: Sequence[str]) -> str:
    more = f" (and {len(items) - SHOWN} more)" if len(items) > SHOWN else ""
    return "; ".join(items[:SHOWN]) + more


def events_for(deliveries: Sequence[Delivery], key: str) -> list[str]:
    """The distinct webhook-ids of the callbacks about `key`, in order of arrival."""
    ids: list[str] = []
    for d in deliveries:
        if d.idempotency_key == key and (d.webhook_id or "") not in ids:
            ids.append(d.webhook_id or "")
    return ids


def check_in_time(sent: Sent, deliveries: Sequence[Delivery], *, sla_s: float) -> CheckResult:
    name = "callback-in-time"
    first = next((d for d in deliveries if d.idempotency_key == sent.key), None)
    if first is None:
        return failed(name, f"no callback for the first instruction within {sla_s:g} s")
    took = first.at - sent.first.at
    if took > sla_s:
        return failed(name, f"the callback came {took:.1f} s after the 202; the SLA is {sla_s:g} s")
    return passed(name, f"{took:.2f} s after the 202 (SLA {sla_s:g} s)")


def check_signed(deliveries: Sequence[Delivery], *, secret: str) -> CheckResult:
    name = "callback-signed"
    if not deliveries:
        return not_observed(name, "no callback arrived")
    webhook = Webhook(secret)
    bad: dict[str, list[str]] = {}  # why -> webhook-ids
    for d in deliveries:
        try:
            webhook.verify(d.body, d.headers)
        except WebhookVerificationError as exc:
            bad.setdefault(str(exc), []).append(str(d.webhook_id))
    if bad:
        count = sum(len(ids) for ids in bad.values())
        reasons = [f"{why} (e.g. {ids[0]})" for why, ids in bad.items()]
        return failed(name, f"{count} of {len(deliveries)} deliveries: {_first(reasons)}")
    return passed(name, f"{len(deliveries)} deliveries verified")


def check_retry(deliveries: Sequence[Delivery], *, key: str, failed_id: str | None) -> CheckResult:
    name = "callback-retry-same"
    if failed_id is None:
        return failed(name, "no callback came for the first instruction, so none was refused")
    if not failed_id:
        return failed(name, "the callback we refused had no webhook-id")
    tries = [d for d in deliveries if d.webhook_id == failed_id]
    if len(tries) < 2:
        others = [wid for wid in events_for(deliveries, key) if wid != failed_id]
        moved = f"; it came back as webhook-id {others[0]}" if others else ""
        return failed(name, f"no retry of webhook-id {failed_id} after our 503{moved}")
    first, retry = tries[0], tries[1]
    if retry.body != first.body and retry.event() != first.event():
        return failed(name, f"the retry of {failed_id} has another body")
    return passed(name, f"webhook-id {failed_id} retried with the same body")


def check_body(sent: Sent, deliveries: Sequence[Delivery]) -> CheckResult:
    name = "callback-body"
    if not deliveries:
        return not_observed(name, "no callback arrived")
    problems: list[str] = []
    for d in deliveries:
        problems.extend(f"{d.webhook_id}: {p}" for p in _body_problems(sent, d.event()))
    if problems:
        return failed(name, _first(problems))
    return passed(name, f"{len(deliveries)} bodies read as outcomes, their sums consistent")


def _body_problems(sent: Sent, event: Any) -> list[str]:
    try:
        report = CallbackEnvelope.model_validate(event).data
    except ValidationError as exc:
        return [
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False)
            if not OWN_CHECKS & {str(p) for p in e["loc"]}
        ]
    key = report.idempotency_key
    if key not in sent.references:
        return [f"data.idempotency_key {key!r} is not one the institution accepted"]
    problems = []
    if report.reference not in sent.references[key]:
        problems.append(f"data.reference {report.reference!r} is not the one its 202 gave")
    kind = InstructionKind(sent.kinds[key])
    if report.outcome not in ALLOWED[kind]:
        problems.append(f"data.outcome {report.outcome.value!r} is not allowed for {kind.value}")
        return problems
    found = amount_problems(sent.asked.get(key), report)
    return problems + [f"{p.path}: {t(p.key, 'en', **p.params)}" for p in found]


def check_timestamps(deliveries: Sequence[Delivery]) -> CheckResult:
    name = "timestamps-utc"
    times = [(d.webhook_id, path, value) for d in deliveries for path, value in _times(d.event())]
    if not times:
        return not_observed(name, "no callback with a time arrived")
    bad = [f"{wid}: {path} {value!r}" for wid, path, value in times if not _aware(value)]
    if bad:
        return failed(name, f"without a UTC offset: {_first(bad)}")
    return passed(name, f"{len(times)} times, each with its offset")


def _times(event: Any) -> list[tuple[str, Any]]:
    """(path, value) of every time a callback gives (null ones are allowed and left out)."""
    if not isinstance(event, dict):
        return []
    data = event.get("data")
    if not isinstance(data, dict):
        data = {}
    found = [("timestamp", event.get("timestamp")), ("data.effective_at", data.get("effective_at"))]
    onward = data.get("onward_transfers")
    for i, item in enumerate(onward if isinstance(onward, list) else []):
        if isinstance(item, dict):
            found.append((f"data.onward_transfers.{i}.occurred_at", item.get("occurred_at")))
    return [(path, value) for path, value in found if value is not None]


def _aware(value: Any) -> bool:
    if not isinstance(value, str) or not AWARE.match(value):
        return False
    try:
        return dt.datetime.fromisoformat(value).utcoffset() is not None
    except ValueError:
        return False


def check_onward(deliveries: Sequence[Delivery], directory: Directory) -> CheckResult:
    name = "onward-transfers"
    now = dt.datetime.now(dt.UTC)
    seen = 0
    problems: list[str] = []
    for d in deliveries:
        event = d.event()
        data = event.get("data") if isinstance(event, dict) else None
        onward = data.get("onward_transfers") if isinstance(data, dict) else None
        for i, item in enumerate(onward if isinstance(onward, list) else []):
            seen += 1
            path = f"data.onward_transfers.{i}"
            problems.extend(
                f"{d.webhook_id}: {p}" for p in _onward_problems(item, path, directory, now)
            )
    if not seen:
        return not_observed(name, "no callback reported an onward transfer")
    if problems:
        return failed(name, _first(problems))
    return passed(name, f"{seen} onward transfers well formed")


def _onward_problems(item: Any, path: str, directory: Directory, now: dt.datetime) -> list[str]:
    """What the service's model and its intake rules find wrong with one onward transfer."""
    try:
        onward = OnwardTransfer.model_validate(item)
    except ValidationError as exc:
        return [
            f"{path}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False)
        ]
    found: list[FieldProblem] = []
    ref = AccountRef(institution=onward.institution, account_no=onward.account_no)
    resolve_account(ref, path, directory, found)
    problems = [f"{p.path}: {t(p.key, 'en', **p.params)}" for p in found]
    if not now - LOOKBACK <= onward.occurred_at <= now + CLOCK_SKEW:
        problems.append(f"{path}.occurred_at: not within the last year")
    return problems
