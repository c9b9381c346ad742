"""ASGI middleware: security headers on every answer, a bound on request bodies (their
size and how long they take to arrive), admission control, and reads run again after a
serialization failure."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import random
import re
from collections import Counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import PROBE_LIMIT
from app.i18n import t

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


# Set in the request's state (app/deps.py `NoStore`) by routes whose answer carries a secret.
NO_STORE = "no_store"


def _keep_out_of_caches(scope: Scope, present: set[bytes]) -> bool:
    """An answer that carries a token, a key or a session cookie: no cache may keep it."""
    marked = bool(scope.get("state", {}).get(NO_STORE))
    return b"cache-control" not in present and (marked or b"set-cookie" in present)


class SecurityHeaders:
    """Pure ASGI (not BaseHTTPMiddleware) so streamed answers such as SSE are not buffered.

    Also `Cache-Control: no-store` on answers that carry a secret or set a cookie.
    """

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
                if _keep_out_of_caches(scope, present):
                    headers.append((b"cache-control", b"no-store"))
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
            await _overloaded(path, send)
            return
        held = True
        stream = scope["method"] == "GET" and self.STREAMS.fullmatch(path) is not None
        if stream and self._streams.locked():
            self._slots.release()
            await _overloaded(path, send)
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
            await _overloaded(scope["path"], send)
            return
        async with self._probes:
            await self.app(scope, receive, send)


class BodyLimit:
    """Refuse a request body over `max_bytes` with 413, by its Content-Length when it gives
    one and by counting as it arrives when it does not (chunked): past the limit the app is
    told the client left, and whatever it answers to that is dropped for the 413."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        seen = 0
        refused = started = False

        async def counting() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes and not started:
                refused = True
                await self._refuse(scope, send)
                return {"type": "http.disconnect"}
            return message

        async def watching(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counting, watching)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        limit_mb = f"{self.max_bytes / 1024 / 1024:g}"
        await _problem(
            send,
            scope["path"],
            413,
            "请求过大 / Request too large",
            f"请求体超过 {limit_mb} MB，未保存。The request body is over {limit_mb} MB; "
            "nothing was saved.",
        )


class BodyFirst:
    """Read a request's whole body before it goes further in: before admission, so a client
    sending its body slowly (or never) holds no slot meant for requests that are ready.

    Within `timeout_s` plus its size at `min_rate` bytes/s, or 408. Each body arriving counts
    against its address (IPv6 by /64): past `per_address`, 429. Bodies held at once take at
    most `budget` bytes, reserved by Content-Length before reading (else as parts arrive):
    past it, 503."""

    def __init__(
        self, app: ASGIApp, *, timeout_s: float, per_address: int, min_rate: int, budget: int
    ) -> None:
        self.app, self.timeout_s, self.per_address = app, timeout_s, per_address
        self.min_rate, self.budget = min_rate, budget
        self._waiting: Counter[str] = Counter()
        self.held = 0  # bytes reserved by the bodies held now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        declared, reserved = _declared_length(scope), [0]
        try:
            messages = await self._answered_read(scope, receive, send, declared, reserved)
            if messages is not None:

                async def replay() -> Message:
                    return messages.pop(0) if messages else await receive()

                await self.app(scope, replay, send)
        finally:
            self.held -= reserved[0]

    async def _answered_read(
        self, scope: Scope, receive: Receive, send: Send, declared: int, reserved: list[int]
    ) -> list[Message] | None:
        """The body's parts; None when the client left or has been answered (408/429/503)."""
        try:
            return await self._read(receive, _address_key(scope), declared, reserved)
        except TimeoutError:
            detail = _both("clients.body_timeout", seconds=f"{self._allowed(declared, 0):.3g}")
            title = _both("problem.request_timeout")
            await _problem(send, scope["path"], 408, title, detail, headers=[CLOSE])
        except _TooManyWaiting:
            title, detail = _both("problem.too_many_requests"), _both("clients.slow_bodies")
            retry = (b"retry-after", b"1")
            await _problem(send, scope["path"], 429, title, detail, headers=[CLOSE, retry])
        except _OverBudget:
            await _overloaded(scope["path"], send, close=True)
        return None

    def _allowed(self, declared: int, seen: int) -> float:
        return self.timeout_s + max(declared, seen) / self.min_rate

    def _reserve(self, reserved: list[int], total: int) -> None:
        more = total - reserved[0]
        if more <= 0:
            return
        if self.held + more > self.budget:
            raise _OverBudget
        self.held += more
        reserved[0] = total

    async def _read(
        self, receive: Receive, address: str, declared: int, reserved: list[int]
    ) -> list[Message] | None:
        self._reserve(reserved, declared)
        if self._waiting[address] >= self.per_address:
            raise _TooManyWaiting
        self._waiting[address] += 1
        messages: list[Message] = []
        seen = 0
        started = asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(started + self._allowed(declared, 0)) as deadline:
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return None
                    seen += len(message.get("body", b""))
                    self._reserve(reserved, seen)
                    deadline.reschedule(started + self._allowed(declared, seen))
                    messages.append(message)
                    if not message.get("more_body", False):
                        return messages
        finally:
            self._waiting[address] -= 1
            if self._waiting[address] <= 0:
                del self._waiting[address]


def _declared_length(scope: Scope) -> int:
    length = dict(scope["headers"]).get(b"content-length", b"").strip()
    return int(length) if length.isdigit() else 0


def _address_key(scope: Scope) -> str:
    """The address a body counts against: an IPv6 one by its /64 (one host may hold all)."""
    address = scope["client"][0] if scope.get("client") else ""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return address


CLOSE = (b"connection", b"close")


class _TooManyWaiting(Exception):
    pass


class _OverBudget(Exception):
    pass


def _has_body(scope: Scope) -> bool:
    headers = dict(scope["headers"])
    length = headers.get(b"content-length", b"0").strip()
    return b"transfer-encoding" in headers or not length.isdigit() or int(length) > 0


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


def _both(key: str, **params: object) -> str:
    """Answered before any user or language is known: both languages."""
    return f"{t(key, 'zh-CN', **params)} / {t(key, 'en', **params)}"


async def _overloaded(path: str, send: Send, *, close: bool = False) -> None:
    headers = [(b"retry-after", b"1"), *([CLOSE] if close else [])]
    await _problem(
        send,
        path,
        503,
        "服务繁忙 / Service busy",
        "请求过多，本次未保存，请稍后重试。Too many requests at once; nothing was saved. "
        "Try again shortly.",
        headers=headers,
    )


async def _problem(
    send: Send,
    path: str,
    status: int,
    title: str,
    detail: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    # Answered before any user or language is known: both languages.
    problem = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": path,
    }
    body = json.dumps(problem, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                *(headers or []),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
