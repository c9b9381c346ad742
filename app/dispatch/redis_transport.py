"""kombu's Redis transport with one client per channel for its acknowledgement bookkeeping.

kombu builds a new `redis.Redis` for every message it delivers and every acknowledgement
(`Channel.conn_or_acquire`), and redis-py's constructor is costly: in the fan-out benchmark it
was a tenth of the worker's CPU. A `redis.Redis` over a connection pool is safe to share
between threads (each command takes a pooled connection), so the channel keeps one.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis


class Channel(redis.Channel):
    _shared_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)  # type: ignore[misc]
        if self._shared_client is None:
            self._shared_client = super()._create_client()  # type: ignore[misc]
        return self._shared_client


class Transport(redis.Transport):
    Channel = Channel


def transport_for(broker_url: str | None) -> str | None:
    """The transport Celery should use for a broker URL (None: the scheme decides)."""
    if broker_url and broker_url.startswith(("redis://", "rediss://")):
        return f"{__name__}:Transport"
    return None
