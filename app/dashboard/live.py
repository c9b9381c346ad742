"""The dashboard's server-sent events: panels re-rendered when something changed.

Every change of a case or an instruction writes an audit event in the same transaction, so
the newest event id is a cheap, exact change marker: the stream reads it every POLL_S in a
short session of its own (no connection is held between polls) and re-renders the panels
only when it moved, or every REFRESH_S since minutes-since-the-call and deadlines move with
time alone. Only panels whose HTML changed are sent. The stream ends when the client leaves
or after MAX_STREAM_S; the browser's EventSource reconnects by itself (`retry`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import anyio
from fastapi import Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import Event
from app.cases.reveal import REVEALED
from app.db import snapshot
from app.sse import poll_limiter, sse_event

POLL_S = 0.25
REFRESH_S = 20.0
MAX_STREAM_S = 600.0
RETRY_MS = 2000

Panels = Callable[[Session], dict[str, str]]


# Events that change nothing the panels show. A reveal above all: were it to re-render the
# panels, the value the supervisor just revealed would be masked again under their eyes.
UNSEEN = (REVEALED,)


def latest_event(db: Session, case_id: int | None = None) -> int:
    query = select(func.max(Event.id)).where(Event.kind.not_in(UNSEEN))
    if case_id is not None:
        query = query.where(Event.case_id == case_id)
    return db.scalar(query) or 0


async def panel_events(
    request: Request,
    *,
    factory: sessionmaker[Session],
    render: Panels,
    case_id: int | None = None,
    poll_s: float = POLL_S,
    refresh_s: float = REFRESH_S,
    max_s: float = MAX_STREAM_S,
) -> AsyncIterator[str]:
    """Each panel's HTML as an event named after it, whenever it changed."""

    def marker() -> int:
        with factory() as db:  # a connection only for the length of one read
            return latest_event(db, case_id)

    def panels() -> dict[str, str]:
        with snapshot(factory) as db:  # one moment; rolled back when the session closes
            return render(db)

    yield f"retry: {RETRY_MS}\n\n"
    started = time.monotonic()
    seen, rendered_at, sent = -1, 0.0, dict[str, str]()
    while time.monotonic() - started < max_s:
        if await request.is_disconnected():
            return
        latest = await anyio.to_thread.run_sync(marker, limiter=poll_limiter())
        if latest != seen or time.monotonic() - rendered_at > refresh_s:
            seen, rendered_at = latest, time.monotonic()
            changed = False
            for name, html in (
                await anyio.to_thread.run_sync(panels, limiter=poll_limiter())
            ).items():
                if sent.get(name) != html:
                    sent[name], changed = html, True
                    yield sse_event(name, html)
            if not changed:
                yield ": keep-alive\n\n"  # and a proxy does not time the stream out
        await asyncio.sleep(poll_s)
