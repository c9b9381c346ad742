"""Several API processes (STOPAY_API_WORKERS=2, issue 19): what the stack needs of them.

uvicorn starts the processes under one supervisor, on one listening socket; each has its own
connection pool, admission slots and stream caps (docs/operations.md). What must hold across
them: an idempotency key's replay and a case's reading whichever process answers, live
streams, and one scrape of /metrics adding up every process's request counts. Every request
here opens a connection of its own, so the kernel hands them to either process.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.auth.models import Role
from bench.support.cpu import processes
from tests.e2e.conftest import BROKERS
from tests.e2e.stack import Stack, running_stack
from tests.factories import case_payload

pytestmark = pytest.mark.slow

API_PROCESSES = 2
REQUESTS = "stopay_http_request_duration_seconds_count"


@pytest.fixture(scope="module")
def two_apis(
    broker: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The API alone, as two processes, on the end-to-end tests' database."""
    with running_stack(
        database_url=database_url,
        broker_url=BROKERS[broker],
        queue=f"e2e-api2-{uuid.uuid4().hex[:8]}",
        logs=tmp_path_factory.mktemp("api-processes"),
        settings={"STOPAY_API_WORKERS": str(API_PROCESSES)},
        workers=(),
        services=("api",),
    ) as stack:
        yield stack


def api_pids(stack: Stack) -> list[int]:
    """uvicorn's processes serving requests: in the API's process group, started by
    multiprocessing's spawn (beside them: the supervisor and multiprocessing's resource
    tracker, which serve nothing)."""
    group = stack.processes["api"].pid
    return [pid for pid, pgrp, _ in processes() if pgrp == group and spawned(pid)]


def spawned(pid: int) -> bool:
    return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()


def served(stack: Stack, route: str) -> float:
    """Requests to `route` counted by one scrape of /metrics, whichever process answers it."""
    answer = httpx.get(f"{stack.api_url}/metrics", timeout=10)
    assert answer.status_code == 200, answer.text
    return sum(
        sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
        if sample.name == REQUESTS and sample.labels.get("route") == route
    )


def test_the_api_runs_as_several_processes_under_one_supervisor(two_apis: Stack) -> None:
    assert len(api_pids(two_apis)) == API_PROCESSES


def test_one_scrape_counts_the_requests_every_process_served(two_apis: Stack) -> None:
    before = served(two_apis, "/readyz")
    for _ in range(40):
        assert httpx.get(f"{two_apis.api_url}/readyz", timeout=10).status_code == 200
    assert served(two_apis, "/readyz") - before == 40
    # Each process that served a request wrote its counts to the one shared directory.
    [directory] = {metrics_dir(pid) for pid in api_pids(two_apis)}
    assert any(Path(directory).glob("histogram_*.db"))


def metrics_dir(pid: int) -> str:
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    [value] = [v for v in environ if v.startswith(b"PROMETHEUS_MULTIPROC_DIR=")]
    return value.split(b"=", 1)[1].decode()


def test_a_replay_and_a_reading_find_the_case_in_any_process(
    two_apis: Stack, headers: dict[str, str]
) -> None:
    keyed = {**headers, "Idempotency-Key": str(uuid.uuid4())}
    payload = case_payload(victim={"name": f"victim-{uuid.uuid4().hex[:8]}"})
    url = f"{two_apis.api_url}/api/v1/cases"
    answers = [httpx.post(url, json=payload, headers=keyed, timeout=30) for _ in range(6)]
    assert {a.status_code for a in answers} == {201}
    [case_no] = {a.json()["case_no"] for a in answers}
    assert all(a.headers["idempotent-replayed"] == "true" for a in answers[1:])
    for _ in range(6):
        read = httpx.get(f"{url}/{case_no}", headers=headers, timeout=30)
        assert read.status_code == 200, read.text


def test_live_streams_open_on_every_process(
    two_apis: Stack, staff: dict[str, dict[str, str]]
) -> None:
    supervisor = staff[Role.supervisor]
    for _ in range(4):
        with httpx.stream(
            "GET", f"{two_apis.api_url}/dashboard/live", headers=supervisor, timeout=30
        ) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            first = next(line for line in stream.iter_lines() if line.startswith("event:"))
            assert first.startswith("event: ")
