"""GET /metrics for Prometheus, computed from the database at scrape time.

The API, the workers and beat are separate processes; the database is the one place that
sees every instruction, so the histograms are built there. Instruction rows are never
deleted, so the bucket counts only grow, as Prometheus counters must.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import extract, func, literal_column, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.dispatch.models import Instruction, Outbox
from app.institutions.models import Institution

BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800)
DURATIONS = {
    "stopay_dispatch_delay_seconds": ("created → first attempt", Instruction.first_attempt_at),
    "stopay_instruction_ack_seconds": ("created → acknowledged", Instruction.acked_at),
    "stopay_instruction_completion_seconds": ("created → outcome", Instruction.completed_at),
}


def _histogram(db: Session, name: str, doc: str, end: Any) -> Metric:
    seconds = extract("epoch", end - Instruction.created_at)
    columns = [func.count().filter(seconds <= le) for le in BUCKETS_S]
    rows = db.execute(
        select(Institution.code, *columns, func.count(), func.coalesce(func.sum(seconds), 0))
        .join(Institution, Institution.id == Instruction.institution_id)
        .where(end.is_not(None))
        .group_by(Institution.code)
    ).all()
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


class DatabaseCollector(Collector):
    """Reads everything in the scrape's own transaction, so the figures agree with each other."""

    def __init__(self, db: Session) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        db = self.db
        for name, (doc, end) in DURATIONS.items():
            yield _histogram(db, name, doc, end)
        yield _states(db)
        yield _outbox_lag(db)
        escalated = GaugeMetricFamily("stopay_escalations_open", "Instructions escalated")
        escalated.add_metric([], db.scalar(
            select(func.count()).where(Instruction.state == literal_column("'escalated'"))
        ) or 0)  # fmt: skip
        yield escalated


def render(db: Session) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(db))
    return generate_latest(registry)
