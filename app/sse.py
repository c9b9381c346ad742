"""Server-sent events: the text of one event, and the threads every live stream's polls share
(one set per event loop, apart from the threads requests need)."""

from __future__ import annotations

import asyncio
import re
import weakref

import anyio

from app.config import STREAM_POLL_THREADS

SSE_LINE_END = re.compile(r"\r\n|\r|\n")
POLL_THREADS = STREAM_POLL_THREADS

_LIMITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def poll_limiter() -> anyio.CapacityLimiter:
    """The threads every live stream's polls share (one set per event loop)."""
    loop = asyncio.get_running_loop()
    if loop not in _LIMITERS:
        _LIMITERS[loop] = anyio.CapacityLimiter(POLL_THREADS)
    return _LIMITERS[loop]


def sse_event(event: str, data: str) -> str:
    """One server-sent event; every line of `data` gets its own `data:` field. Lines end
    only at CR and LF, as the SSE parser sees them: str.splitlines() would also break (and
    so change) text at U+2028, U+2029, form feeds and the like."""
    lines = "\n".join(f"data: {line}" for line in SSE_LINE_END.split(data))
    return f"event: {event}\n{lines}\n\n"
