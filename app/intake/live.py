"""A case's live status after submit: the SSE stream of its read (app/intake/status.py).

The stream polls the database (every POLL_S) in a short session of its own each time, so an
open status page holds no connection between polls, and sends the rendered fragment only
when it changed. It ends when the client goes away, when every instruction has an outcome
(the page then has nothing left to wait for), or after MAX_STREAM_S (the browser reconnects).

Every live stream (these and the dashboard's) goes through `live_response`
(app/pages/streams.py): at most so many open at once per user and per token or log-in
session (StreamCaps, 429 past them), and their polls run on threads of their own
(app/sse.py), so open streams never take the threads that requests need.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager

import anyio
from fastapi import Request
from sqlalchemy.orm import Session

from app.db import snapshot
from app.intake.status import CaseStatusView, read_status
from app.sse import poll_limiter, sse_event

__all__ = ["CaseStatusView", "read_status", "status_events"]

POLL_S = 0.5
KEEPALIVE_S = 15.0
MAX_STREAM_S = 600.0


async def status_events(
    request: Request,
    *,
    factory: Callable[[], AbstractContextManager[Session]],
    case_id: int,
    render: Callable[[CaseStatusView], str],
    poll_s: float = POLL_S,
    max_s: float = MAX_STREAM_S,
) -> AsyncIterator[str]:
    """The case's status fragment each time it changes, until the client leaves."""

    def read() -> CaseStatusView:
        with snapshot(factory) as db:  # one moment, a connection only for one read
            return read_status(db, case_id=case_id)

    started = last_sent = time.monotonic()
    previous = ""
    while time.monotonic() - started < max_s:
        if await request.is_disconnected():
            return
        view = await anyio.to_thread.run_sync(read, limiter=poll_limiter())
        fragment = render(view)
        if fragment != previous:
            previous, last_sent = fragment, time.monotonic()
            yield sse_event("status", fragment)
        elif time.monotonic() - last_sent > KEEPALIVE_S:
            last_sent = time.monotonic()
            yield ": keep-alive\n\n"
        if view.settled:
            yield sse_event("end", "settled")
            return
        await asyncio.sleep(poll_s)
