"""/metrics: request latency, callback delay, escalations and outbox lag, as Prometheus reads
them (the parser of prometheus_client)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.dispatch.models import Instruction, Outbox
from app.dispatch.transitions import escalate
from app.health.requests import (
    MULTIPROC_ENV,
    register_request_metrics,
    request_latency,
    shared_metrics_dir,
)
from app.institutions.models import Institution
from tests.callbacks.signing import outcome, post, signed
from tests.factories import bearer, instructions_of, make_case, make_user


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(client: TestClient, name: str, **labels: str) -> float:
    """A sample's value on a fresh scrape; 0 if there is none yet."""
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    return _samples(answer.text).get((name, frozenset(labels.items())), 0.0)


def _stop(db: Session) -> tuple[Instruction, str]:
    stop = next(i for i in instructions_of(db, make_case(db)) if i.kind == "stop_payment")
    return stop, db.get_one(Institution, stop.institution_id).code


REQUESTS = "stopay_http_request_duration_seconds"


def test_request_latency_is_counted_by_route_template_method_and_status(
    client: TestClient, db: Session
) -> None:
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    user = make_user(db)
    case_no = make_case(db, user=user)
    headers = bearer(db, user)
    assert client.get(f"/api/v1/cases/{case_no}", headers=headers).status_code == 200
    assert client.get("/no/such/page").status_code == 404
    text = client.get("/metrics").text
    samples = _samples(text)

    def count(route: str, status: str) -> float:
        labels = frozenset({"method": "GET", "route": route, "status": status}.items())
        return samples[(f"{REQUESTS}_count", labels)]

    assert count("/healthz", "200") == 3
    assert count("/api/v1/cases/{case_no}", "200") == 1
    assert count("unmatched", "404") == 1
    assert case_no not in text  # a template, never a path: no series per case
    healthz = frozenset({"method": "GET", "route": "/healthz", "status": "200"}.items())
    assert samples[(f"{REQUESTS}_sum", healthz)] > 0
    assert samples[(f"{REQUESTS}_bucket", healthz | {("le", "+Inf")})] == 3


def test_with_several_api_processes_a_scrape_adds_up_all_of_them(tmp_path: Path) -> None:
    """prometheus_client's multiprocess mode, as `stopay api` sets it up for >1 worker: two
    processes each serve requests; one scrape sees both."""
    script = textwrap.dedent("""
        import asyncio, sys
        from app.health.requests import RequestTimer, request_latency

        async def ok(scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

        async def serve(n):
            timer = RequestTimer(ok, histogram=request_latency())
            async def receive():
                return {"type": "http.request", "body": b""}
            async def send(message):
                pass
            for _ in range(n):
                await timer({"type": "http", "method": "GET", "path": "/x"}, receive, send)

        asyncio.run(serve(int(sys.argv[1])))
    """)
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for n in (2, 3):
        subprocess.run(
            [sys.executable, "-c", script, str(n)], env=env, cwd=Path.cwd(), check=True, timeout=60
        )
    registry = CollectorRegistry()
    register_request_metrics(registry, request_latency(), multiprocess_dir=str(tmp_path))
    labels = {"method": "GET", "route": "unmatched", "status": "200"}
    assert registry.get_sample_value(f"{REQUESTS}_count", labels) == 5


def test_callback_delay_runs_from_the_institutions_event_to_our_applying_it(
    client: TestClient, db: Session
) -> None:
    stop, code = _stop(db)
    name = "stopay_callback_delay_seconds"
    keys = {
        "count": (f"{name}_count", frozenset({("institution", code)})),
        "sum": (f"{name}_sum", frozenset({("institution", code)})),
        "le 2": (f"{name}_bucket", frozenset({("institution", code), ("le", "2")})),
        "le 5": (f"{name}_bucket", frozenset({("institution", code), ("le", "5")})),
    }

    def scrape() -> dict[str, float]:
        samples = _samples(client.get("/metrics").text)
        return {k: samples.get(key, 0.0) for k, key in keys.items()}

    before = scrape()
    event = utcnow() - dt.timedelta(seconds=3)
    event_at = event.isoformat().replace("+00:00", "Z")
    sent = utcnow()
    answer = post(client, code, signed(db, code, outcome(stop), event_at=event_at))
    answered = utcnow()
    assert answer.json() == {"status": "applied"}
    after = scrape()
    assert after["count"] == before["count"] + 1
    # Applied between sending and the answer: the delay is bounded by both, however slow.
    delay = after["sum"] - before["sum"]
    assert (sent - event).total_seconds() <= delay <= (answered - event).total_seconds()
    assert after["le 2"] == before["le 2"]
    assert after["le 5"] == before["le 5"] + (1 if delay <= 5 else 0)


def test_a_callback_whose_timestamp_postgres_cannot_read_is_left_out_not_fatal(
    client: TestClient, db: Session
) -> None:
    stop, code = _stop(db)
    name = "stopay_callback_delay_seconds_count"
    before = _value(client, name, institution=code)
    # Our parser takes Unix seconds too; a cast to timestamptz would not.
    answer = post(client, code, signed(db, code, outcome(stop), event_at=1_700_000_000))
    assert answer.json() == {"status": "applied"}
    assert _value(client, name, institution=code) == before


def test_escalations_are_counted_by_institution_and_open_ones_shown(
    client: TestClient, db: Session
) -> None:
    stop, code = _stop(db)
    total = _value(client, "stopay_escalations_total", institution=code)
    open_now = _value(client, "stopay_escalations_open")
    assert escalate(db, stop, now=utcnow(), reason="no acknowledgement within the SLA")
    db.flush()
    assert _value(client, "stopay_escalations_total", institution=code) == total + 1
    assert _value(client, "stopay_escalations_open") == open_now + 1


def test_outbox_lag_is_the_age_of_the_oldest_task_no_worker_has_picked_up(
    client: TestClient, db: Session
) -> None:
    stop, _ = _stop(db)
    db.execute(
        update(Outbox)
        .where(Outbox.instruction_id == stop.id)
        .values(created_at=utcnow() - dt.timedelta(minutes=10), confirmed_at=None)
    )
    assert _value(client, "stopay_outbox_lag_seconds") >= 600


def test_stopay_api_shares_a_fresh_directory_only_between_several_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    with shared_metrics_dir(1):
        assert MULTIPROC_ENV not in os.environ
    with shared_metrics_dir(2):
        path = Path(os.environ[MULTIPROC_ENV])
        assert path.is_dir()
        assert list(path.iterdir()) == []
    assert MULTIPROC_ENV not in os.environ
    assert not path.exists()
