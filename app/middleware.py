"""ASGI middleware: security headers on every answer, and admission control."""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        # Scripts only from our own files: no inline script, no eval. Inline styles stay
        # allowed (Swagger UI and htmx set style attributes; a style cannot run code).
        b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        b"script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        b"frame-ancestors 'none'",
    ),
]


class SecurityHeaders:
    """Pure ASGI (not BaseHTTPMiddleware) so streamed answers such as SSE are not buffered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AdmissionLimit:
    """At most `limit` requests inside the app at once; the rest wait their turn, briefly.

    Each admitted request holds at most one database connection, and the pool is larger than
    the limit, so a burst queues here instead of starving the pool (where requests would hold
    connections while waiting for threads, and threads wait for connections). A request that
    cannot get in within `wait_s` gets 503 problem+json with Retry-After: overload is answered
    at once, not with a long hang.
    """

    EXEMPT = ("/healthz", "/readyz", "/metrics", "/static/")
    # Server-sent event streams (a case's live status) stay open for minutes but hold a
    # database connection only for each short poll: they take no slot, and have a cap of
    # their own instead.
    STREAM_SUFFIX = "/live"

    def __init__(self, app: ASGIApp, *, limit: int, wait_s: float, stream_limit: int = 200) -> None:
        self.app = app
        self.wait_s = wait_s
        self._slots = asyncio.Semaphore(limit)
        self._streams = asyncio.Semaphore(stream_limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.EXEMPT):
            await self.app(scope, receive, send)
            return
        if scope["path"].endswith(self.STREAM_SUFFIX):
            if self._streams.locked():
                await _overloaded(scope["path"], send)
                return
            async with self._streams:
                await self.app(scope, receive, send)
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=self.wait_s)
        except TimeoutError:
            await _overloaded(scope["path"], send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()


async def _overloaded(path: str, send: Send) -> None:
    # Answered before any user or language is known: both languages, like the title.
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "服务繁忙 / Service busy",
            "status": 503,
            "detail": "请求过多，本次未保存，请稍后重试。Too many requests at once; nothing was "
            "saved. Try again shortly.",
            "instance": path,
        },
        ensure_ascii=False,
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"retry-after", b"1"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
