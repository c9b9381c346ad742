"""Which adapter talks to which institution: the registry's `adapter` settings decide."""

from __future__ import annotations

import atexit
import json
import threading
from typing import Any

from app.config import get_settings
from workers import aio
from workers.adapters.base import Adapter
from workers.adapters.simulated import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_READ_TIMEOUT_S,
    HttpAdapter,
)

DEFAULT_MAX_IN_FLIGHT = 32

_adapters: dict[tuple[str, str], Adapter] = {}
_lock = threading.Lock()


def max_in_flight(settings: dict[str, Any]) -> int:
    return int(settings.get("max_in_flight", DEFAULT_MAX_IN_FLIGHT))


def adapter_for(code: str, settings: dict[str, Any]) -> Adapter:
    """The adapter for an institution, built once per worker process and shared by threads
    (built anew when the institution's adapter settings change)."""
    key = (code, json.dumps(settings, sort_keys=True))
    with _lock:
        adapter = _adapters.get(key)
        if adapter is None:
            kind = settings.get("kind", "http")
            if kind != "http":
                raise ValueError(f"{code}: unknown adapter kind {kind!r}")
            adapter = HttpAdapter(
                code=code,
                base_url=settings.get("base_url") or get_settings().public_simulator_url,
                max_in_flight=max_in_flight(settings),
                read_timeout_s=float(settings.get("read_timeout_s", DEFAULT_READ_TIMEOUT_S)),
                connect_timeout_s=float(
                    settings.get("connect_timeout_s", DEFAULT_CONNECT_TIMEOUT_S)
                ),
            )
            _adapters[key] = adapter
        return adapter


@atexit.register
def close_all() -> None:
    """Close every adapter's connections, on the loop they were made on (process exit)."""
    with _lock:
        adapters = list(_adapters.values())
        _adapters.clear()
    for adapter in adapters:
        aio.run(adapter.close())
