"""The simulated institutions as the benchmarks see them: reset, the ledger of what they did,
and the delays they draw for a request.

The simulator draws each request's delays from (seed, idempotency key, attempt number), and
`POST /admin/reset` forgets keys and attempt counts (simulator/faults.py,
simulator/service.py): the same request draws the same delays here and there.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from bench.support.stack import SIM_PROFILE, Stack
from simulator.faults import draw
from simulator.profiles import Profile

_PROFILE = Profile.model_validate(SIM_PROFILE["default"])


def drawn_ms(key: str) -> tuple[int, int]:
    """The ack and processing delays (ms) the bench profile draws for `key`'s first attempt."""
    luck = draw(seed=SIM_PROFILE["seed"], idempotency_key=key, attempt=1, profile=_PROFILE)
    return luck.ack_ms, luck.processing_ms


def reset_simulator(stack: Stack) -> None:
    with stack.simulator() as sim:
        sim.post("/admin/reset").raise_for_status()


def ledger(stack: Stack, case_no: str) -> list[dict[str, Any]]:
    with stack.simulator() as sim:
        response = sim.get("/admin/ledger", params={"case_no": case_no})
        response.raise_for_status()
        entries: list[dict[str, Any]] = response.json()
        return entries


def settled_ledger(stack: Stack, case_no: str, count: int, timeout: float) -> list[dict[str, Any]]:
    """The case's ledger once every callback is acknowledged (so a reset drops nothing)."""
    deadline = time.monotonic() + timeout
    while True:
        entries = ledger(stack, case_no)
        if sum(e["entry"] == "callback_acknowledged" for e in entries) >= count:
            return entries
        if time.monotonic() > deadline:
            raise RuntimeError(f"{case_no}: callbacks still unacknowledged in the ledger")
        time.sleep(0.1)


def applied_once(entries: list[dict[str, Any]], keys: set[str]) -> bool:
    """Every key applied exactly once, and nothing else applied."""
    applied = Counter(e["idempotency_key"] for e in entries if e["entry"] == "applied")
    return set(applied) == keys and set(applied.values()) == {1}
