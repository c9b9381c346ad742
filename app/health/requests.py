"""Request latency, measured in the API process that served the request.

The rest of /metrics is read from the database; this cannot be. With several uvicorn
workers (STOPAY_API_WORKERS > 1) each is a process of its own, and a scrape reaches only
one of them, so `stopay api` gives them a shared directory (prometheus_client's
multiprocess mode): each process writes its counts there and a scrape adds them all up.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def request_latency() -> Histogram:
    """A histogram of its own for each app (registered only when a scrape renders it)."""
    return Histogram(
        "stopay_http_request_duration_seconds",
        "Time from a request's arrival to its response's headers, by route template",
        ["method", "route", "status"],
        buckets=BUCKETS_S,
        registry=None,
    )


def _route(scope: Scope) -> str:
    """The route's template (`/api/v1/cases/{case_no}`), never the path itself: a path holds
    case numbers, which would make a series per case."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestTimer:
    """Pure ASGI middleware, outermost, so queueing for admission counts too.

    The clock stops at the response's headers: a live stream (SSE) is open for minutes, and
    counts once, for how long it took to start.
    """

    def __init__(self, app: ASGIApp, *, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        answered = False

        async def timed_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start" and not answered:
                answered = True
                self._observe(scope, message["status"], time.perf_counter() - start)
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        except Exception:
            if not answered:  # the server answers 500 for it
                self._observe(scope, 500, time.perf_counter() - start)
            raise

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        self.histogram.labels(scope["method"], _route(scope), str(status)).observe(seconds)


def register_request_metrics(
    registry: CollectorRegistry, histogram: Histogram, *, multiprocess_dir: str | None
) -> None:
    """This process's histogram, or with several workers every process's, summed."""
    if multiprocess_dir:
        MultiProcessCollector(registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]
    else:
        registry.register(histogram)


@contextmanager
def shared_metrics_dir(workers: int) -> Iterator[None]:
    """For more than one API worker: a fresh directory for their counts, removed afterwards.

    Set before any worker imports prometheus_client (it reads the variable on import); an
    operator's own PROMETHEUS_MULTIPROC_DIR is used as it is.
    """
    if workers <= 1 or os.environ.get(MULTIPROC_ENV):
        yield
        return
    path = tempfile.mkdtemp(prefix="stopay-metrics-")
    os.environ[MULTIPROC_ENV] = path
    try:
        yield
    finally:
        del os.environ[MULTIPROC_ENV]
        shutil.rmtree(path, ignore_errors=True)
