"""The kit against the real simulator, served by uvicorn in a thread as tests/simulator does.

The simulator lives for the session; every test resets it (`POST /admin/reset`) and sets the
profile of the institution it drives: fast, rate limited, accounts that moved money on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.conformance.kit import Options
from simulator.app import create_app
from tests.simulator.servers import ThreadedServer

SECRET_KEY = "conformance-test-secret-key"
FAST_PROFILE = Path(__file__).parents[1] / "simulator" / "fast-profile.yaml"
# Every seeded account kept some money and sent the rest on: each outcome has onward transfers.
PARTIAL = {
    "full": 0.0,
    "partial": 1.0,
    "moved": 0.0,
    "not_found": 0.0,
    "name_mismatch": 0.0,
    "cash_out_share": 0.0,
}


@pytest.fixture(scope="session")
def simulator_url() -> Iterator[str]:
    settings = Settings(
        secret_key=SECRET_KEY,
        api_url="http://127.0.0.1:9",
        _env_file=None,  # type: ignore[call-arg]
    )
    with ThreadedServer(
        create_app(settings=settings, profile=FAST_PROFILE, scenarios=[])
    ) as server:
        yield server.url


@pytest.fixture
def simulator(simulator_url: str) -> Iterator[httpx.Client]:
    """A client of the simulator, reset."""
    with httpx.Client(base_url=simulator_url, timeout=10) as http:
        assert http.post("/admin/reset").status_code == 200
        yield http


def set_profile(http: httpx.Client, code: str, **changes: Any) -> None:
    """A fast, rate-limited profile with seeded accounts that moved money, and `changes`."""
    body = {"institution": code, "rate_limit_per_s": 20, "accounts": PARTIAL, **changes}
    response = http.post("/admin/profile", json=body)
    assert response.status_code == 200, response.text


def options(simulator_url: str, code: str) -> Options:
    """The kit's options for a quick run against the test simulator."""
    return Options(code=code, url=simulator_url, sla_s=5, retry_wait_s=5, settle_s=0.3)
