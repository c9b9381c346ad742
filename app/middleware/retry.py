"""Reads run again after a serialization failure."""

from __future__ import annotations

import asyncio
import random

from starlette.types import ASGIApp, Message, Receive, Scope, Send

RETRY_MARK = "stopay.retry_read"


def mark_retryable(scope: Scope) -> None:
    """Tell RetryReads that this request's failure is worth another run (the dependency that
    made its transaction saw a serialization failure)."""
    scope.setdefault("state", {})[RETRY_MARK] = True


class RetryReads:
    """Run a read (GET or HEAD) again, up to `retries` times, when its transaction met a
    serialization failure, rather than answer 503. A read has no body and wrote nothing,
    and the failure is known before any of its answer was sent, so running it again is safe.
    """

    def __init__(self, app: ASGIApp, *, retries: int) -> None:
        self.app = app
        self.retries = retries

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        state = dict(scope.get("state", {}))
        for attempt in range(self.retries + 1):
            # The same scope each time (outer middleware read what routing writes into it),
            # with the request's state as it was before the first run.
            scope["state"] = dict(state)
            last = attempt == self.retries
            dropped = False

            async def guarded(message: Message, last: bool = last) -> None:
                nonlocal dropped
                if message["type"] == "http.response.start" and not last:
                    dropped = bool(scope["state"].get(RETRY_MARK))
                if not dropped:
                    await send(message)

            await self.app(scope, receive, guarded)
            if not dropped:
                return
            await asyncio.sleep(random.uniform(0.005, 0.02) * 2**attempt)
