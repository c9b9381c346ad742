"""The simulator under test runs as a real uvicorn server with a real callback receiver.

Both servers live for the session (starting them per test would double the run time); every
test begins with `POST /admin/reset`, so no test sees another's state.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from simulator.app import create_app
from tests.simulator.peer import Peer
from tests.simulator.servers import Receiver, ThreadedServer

SECRET_KEY = "simulator-test-secret-key"
FAST_PROFILE = Path(__file__).with_name("fast-profile.yaml")
SCENARIOS = Path(__file__).parents[2] / "scenarios"


@pytest.fixture(scope="session")
def receiver_server() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver(secret_key=SECRET_KEY)
    with ThreadedServer(receiver.app) as server:
        yield receiver, server.url


@pytest.fixture(scope="session")
def simulator_url(receiver_server: tuple[Receiver, str]) -> Iterator[str]:
    settings = Settings(
        secret_key=SECRET_KEY,
        api_url=receiver_server[1],
        _env_file=None,  # type: ignore[call-arg]
    )
    app = create_app(
        settings=settings,
        profile=FAST_PROFILE,
        scenarios=sorted(SCENARIOS.glob("scenario-*.yaml")),
    )
    with ThreadedServer(app) as server:
        yield server.url


@pytest.fixture
def peer(simulator_url: str, receiver_server: tuple[Receiver, str]) -> Iterator[Peer]:
    """A fresh simulator (reset) and receiver, and a client for both."""
    receiver, receiver_url = receiver_server
    with httpx.Client(base_url=simulator_url, timeout=10) as http:
        assert http.post("/admin/reset").status_code == 200
        receiver.reset()
        yield Peer(http=http, receiver=receiver, receiver_url=receiver_url)
