"""Admission control: how many requests are inside the app at once."""

from __future__ import annotations

import asyncio
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import PROBE_LIMIT
from app.middleware.answers import overloaded


class AdmissionLimit:
    """At most `limit` requests inside the app at once; the rest wait their turn, briefly.

    Each admitted request holds at most one database connection, and the pool is larger than
    the limit, so a burst queues here instead of starving the pool (where requests would hold
    connections while waiting for threads, and threads wait for connections). A request that
    cannot get in within `wait_s` gets 503 problem+json with Retry-After: overload is answered
    at once, not with a long hang.
    """

    EXEMPT = ("/healthz", "/static/")
    # Probes that read the database take no slot (they must answer under load), but at most
    # PROBE_LIMIT of them run at once; more get 503 at once.
    PROBES = ("/metrics", "/readyz")
    PROBE_LIMIT = PROBE_LIMIT
    # Server-sent event streams (a case's live status) stay open for minutes but hold a
    # database connection only for each short poll: a stream holds its slot only until its
    # answer starts (its log-in check reads the database), then a cap of its own.
    STREAMS = re.compile(r"/(?:dashboard|dashboard/cases/[^/]+|intake/cases/[^/]+)/live")

    def __init__(self, app: ASGIApp, *, limit: int, wait_s: float, stream_limit: int = 200) -> None:
        self.app = app
        self.wait_s = wait_s
        self._slots = asyncio.Semaphore(limit)
        self._streams = asyncio.Semaphore(stream_limit)
        self._probes = asyncio.Semaphore(self.PROBE_LIMIT)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if not path or path.startswith(self.EXEMPT):
            await self.app(scope, receive, send)
            return
        if path in self.PROBES:
            await self._probe(scope, receive, send)
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=self.wait_s)
        except TimeoutError:
            await overloaded(scope, send)
            return
        held = True
        stream = scope["method"] == "GET" and self.STREAMS.fullmatch(path) is not None
        if stream and self._streams.locked():
            self._slots.release()
            await overloaded(scope, send)
            return

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self._slots.release()

        async def started(message: Message) -> None:
            if message["type"] == "http.response.start":
                release()
            await send(message)

        try:
            if stream:
                async with self._streams:
                    await self.app(scope, receive, started)
            else:
                await self.app(scope, receive, send)
        finally:
            release()

    async def _probe(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._probes.locked():
            await overloaded(scope, send)
            return
        async with self._probes:
            await self.app(scope, receive, send)
