"""Live streams (server-sent events) under per-user and per-credential caps."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from app.deps import Principal
from app.errors import problem
from app.i18n import N_, msg

STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


class StreamCaps:
    """Live streams open at once in this API process, per user and per credential."""

    def __init__(self, *, per_user: int, per_credential: int) -> None:
        self.per_user = per_user
        self.per_credential = per_credential
        self._users: Counter[int] = Counter()
        self._credentials: Counter[str] = Counter()
        self._lock = threading.Lock()  # taken in the threadpool, given back in the loop

    def take(self, *, user_id: int, credential: str) -> bool:
        with self._lock:
            full = self._users[user_id] >= self.per_user
            if full or self._credentials[credential] >= self.per_credential:
                return False
            self._users[user_id] += 1
            self._credentials[credential] += 1
            return True

    def give(self, *, user_id: int, credential: str) -> None:
        with self._lock:
            self._users[user_id] -= 1
            self._credentials[credential] -= 1
            self._users += Counter()  # drops the zeros
            self._credentials += Counter()


class _CappedStream(StreamingResponse):
    """Takes its place under the caps when it runs, and gives it back when the stream ends,
    however it ends; past a cap it answers `refusal` (429) instead. A response that never
    runs (its request failed after it was made) never held a place."""

    def __init__(
        self,
        events: AsyncIterator[str],
        *,
        take: Callable[[], bool],
        release: Callable[[], None],
        refusal: Response,
    ) -> None:
        super().__init__(events, media_type="text/event-stream", headers=STREAM_HEADERS)
        self._take, self._release, self._refusal = take, release, refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._take():
            await self._refusal(scope, receive, send)
            return
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


def live_response(
    request: Request, principal: Principal, events: AsyncIterator[str]
) -> StreamingResponse:
    """The stream of `events`, or 429 when its user or credential has too many open."""
    caps: StreamCaps = request.app.state.stream_caps
    user_id, credential = principal.user.id, principal.credential_key
    limits = {"per_user": caps.per_user, "per_credential": caps.per_credential}
    refusal = problem(
        request,
        status=429,
        title_key=N_("problem.too_many_requests"),
        detail=msg("clients.too_many_streams", **limits),
        headers={"Retry-After": "5"},
    )
    return _CappedStream(
        events,
        take=lambda: caps.take(user_id=user_id, credential=credential),
        release=lambda: caps.give(user_id=user_id, credential=credential),
        refusal=refusal,
    )
