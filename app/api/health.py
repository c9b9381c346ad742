"""Liveness and readiness probes (no log-in: load balancers and orchestrators call them)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from kombu import Connection
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from app.deps import DbSession
from app.errors import problem
from app.health.metrics import render as render_metrics
from app.health.requests import MULTIPROC_ENV
from app.i18n import N_, msg

router = APIRouter(tags=["health"])


def _check_database(request: Request) -> str | None:
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return None


def _check_broker(request: Request) -> str | None:
    settings = request.app.state.settings
    try:
        with Connection(settings.broker_url, connect_timeout=settings.readiness_timeout_s) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return None


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    """Always 200 `{"status": "ok"}` while the process runs; it checks nothing else."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the database and the broker are reachable",
    responses={503: {"description": "A dependency is down (problem+json naming it)"}},
)
def readyz(request: Request) -> Response:
    """200 when the database and the broker both answer; 503 naming each one that does not
    (`checks`). Load balancers route by it."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        db_future = pool.submit(_check_database, request)
        broker_future = pool.submit(_check_broker, request)
        failures = {"database": db_future.result(), "broker": broker_future.result()}
    checks: dict[str, Any] = {name: (err or "ok") for name, err in failures.items()}
    down = [name for name, err in failures.items() if err]
    if down:
        return problem(
            request,
            status=503,
            title_key=N_("problem.unavailable"),
            detail=msg("ready.down", names=", ".join(down)),
            extra={"checks": checks},
        )
    return JSONResponse({"status": "ready", "checks": checks})


@router.get(
    "/metrics",
    summary="Prometheus metrics: request, instruction and callback latencies, states, outbox lag",
    response_class=PlainTextResponse,
)
def metrics(request: Request, db: DbSession) -> PlainTextResponse:
    """The Prometheus text format. Aggregates only: no case, account or person is named in it."""
    body = render_metrics(
        db,
        request_latency=getattr(request.app.state, "request_latency", None),
        multiprocess_dir=os.environ.get(MULTIPROC_ENV),
    )
    return PlainTextResponse(body, media_type=CONTENT_TYPE_LATEST)
