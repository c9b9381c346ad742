"""GET /metrics for Prometheus, computed from the database at scrape time.

The API, the workers and beat are separate processes; the database is the one place that
sees every instruction, so the histograms are built there. Instruction and callback rows
are never deleted, so the bucket counts only grow, as Prometheus counters must. Request
latency is the exception: only the API process sees it (app/health/requests.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import DateTime, Select, case, cast, extract, func, literal_column, select
from sqlalchemy.orm import Session

from app.callbacks.models import CallbackInbox
from app.db import utcnow
from app.dispatch.models import Instruction, Outbox
from app.health.requests import register_request_metrics
from app.institutions.models import Institution

BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800)
DURATIONS = {
    "stopay_dispatch_delay_seconds": ("created → first attempt", Instruction.first_attempt_at),
    "stopay_instruction_ack_seconds": ("created → acknowledged", Instruction.acked_at),
    "stopay_instruction_completion_seconds": ("created → outcome", Instruction.completed_at),
}


# The time the institution gives its event, if it is an ISO 8601 string PostgreSQL can read
# (the payload passed our parser, but a scrape must never fail on one odd row).
_EVENT_AT = CallbackInbox.payload["timestamp"].astext
_ISO_8601 = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}"


def _buckets(seconds: Any) -> list[Any]:
    """Cumulative bucket counts, then the count and the sum, for one group's durations."""
    columns = [func.count().filter(seconds <= le) for le in BUCKETS_S]
    return [*columns, func.count(), func.coalesce(func.sum(seconds), 0)]


def _histogram(db: Session, name: str, doc: str, end: Any) -> Metric:
    seconds = extract("epoch", end - Instruction.created_at)
    query = (
        select(Institution.code, *_buckets(seconds))
        .select_from(Instruction)
        .join(Institution, Institution.id == Instruction.institution_id)
        .where(end.is_not(None))
    )
    return _by_institution(db, name, doc, query)


def _callback_delay(db: Session) -> Metric:
    """From the institution's event time to our having applied it: how long outcomes wait,
    in the institution's retries (while we were down or refusing), on the wire and with us."""
    readable = (func.jsonb_typeof(CallbackInbox.payload["timestamp"]) == "string") & (
        _EVENT_AT.regexp_match(_ISO_8601)
    )
    # CASE, so the cast runs only on what passed the test; a clock running ahead counts as 0.
    event_at = case((readable, cast(_EVENT_AT, DateTime(timezone=True))), else_=None)
    seconds = func.greatest(extract("epoch", CallbackInbox.processed_at - event_at), 0)
    query = (
        select(Institution.code, *_buckets(seconds))
        .select_from(CallbackInbox)
        .join(Institution, Institution.id == CallbackInbox.institution_id)
        .where(CallbackInbox.processed_at.is_not(None), event_at.is_not(None))
    )
    return _by_institution(
        db,
        "stopay_callback_delay_seconds",
        "Institution's event time (the callback body's timestamp) → outcome applied",
        query,
    )


def _by_institution(db: Session, name: str, doc: str, query: Select[Any]) -> Metric:
    rows = db.execute(query.group_by(Institution.code)).all()
    family = HistogramMetricFamily(name, doc, labels=["institution"])
    for code, *counts, total, sum_s in rows:
        buckets = [(str(le), n) for le, n in zip(BUCKETS_S, counts, strict=True)]
        family.add_metric([code], [*buckets, ("+Inf", total)], float(sum_s))
    return family


def _states(db: Session) -> Metric:
    family = GaugeMetricFamily(
        "stopay_instructions",
        "Instructions by state and institution",
        labels=["state", "institution"],
    )
    rows = db.execute(
        select(Instruction.state, Institution.code, func.count())
        .join(Institution, Institution.id == Instruction.institution_id)
        .group_by(Instruction.state, Institution.code)
    )
    for state, code, n in rows:
        family.add_metric([state, code], n)
    return family


def _outbox_lag(db: Session) -> Metric:
    oldest = db.scalar(select(func.min(Outbox.created_at)).where(Outbox.confirmed_at.is_(None)))
    lag = (utcnow() - oldest).total_seconds() if oldest else 0.0
    family = GaugeMetricFamily(
        "stopay_outbox_lag_seconds", "Age of the oldest instruction no worker has picked up"
    )
    family.add_metric([], lag)
    return family


def _escalations(db: Session) -> Iterator[Metric]:
    escalated = GaugeMetricFamily("stopay_escalations_open", "Instructions escalated")
    escalated.add_metric(
        [],
        db.scalar(select(func.count()).where(Instruction.state == literal_column("'escalated'")))
        or 0,
    )
    yield escalated
    total = CounterMetricFamily(
        "stopay_escalations",
        "Instructions ever escalated (not acknowledged within the institution's SLA)",
        labels=["institution"],
    )
    rows = db.execute(
        select(Institution.code, func.count())
        .select_from(Instruction)
        .join(Institution, Institution.id == Instruction.institution_id)
        .where(Instruction.escalated_at.is_not(None))
        .group_by(Institution.code)
    )
    for code, n in rows:
        total.add_metric([code], n)
    yield total


class DatabaseCollector(Collector):
    """Reads everything in the scrape's own transaction, so the figures agree with each other."""

    def __init__(self, db: Session) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        db = self.db
        for name, (doc, end) in DURATIONS.items():
            yield _histogram(db, name, doc, end)
        yield _callback_delay(db)
        yield _states(db)
        yield _outbox_lag(db)
        yield from _escalations(db)


def render(
    db: Session,
    *,
    request_latency: Histogram | None = None,
    multiprocess_dir: str | None = None,
) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(db))
    if request_latency is not None:
        register_request_metrics(registry, request_latency, multiprocess_dir=multiprocess_dir)
    return generate_latest(registry)
