"""Bounds on request bodies: their size, and how long they take to arrive."""

from __future__ import annotations

import asyncio
import ipaddress
from collections import Counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.i18n import N_
from app.middleware.answers import CLOSE, overloaded, send_problem


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
        await send_problem(
            send,
            scope,
            413,
            title_key=N_("problem.body_too_large"),
            detail_key=N_("clients.body_too_large"),
            params={"limit_mb": f"{self.max_bytes / 1024 / 1024:g}"},
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
            await send_problem(
                send,
                scope,
                408,
                title_key=N_("problem.request_timeout"),
                detail_key=N_("clients.body_timeout"),
                params={"seconds": f"{self._allowed(declared, 0):.3g}"},
                headers=[CLOSE],
            )
        except _TooManyWaiting:
            await send_problem(
                send,
                scope,
                429,
                title_key=N_("problem.too_many_requests"),
                detail_key=N_("clients.slow_bodies"),
                headers=[CLOSE, (b"retry-after", b"1")],
            )
        except _OverBudget:
            await overloaded(scope, send, close=True)
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


class _TooManyWaiting(Exception):
    pass


class _OverBudget(Exception):
    pass


def _has_body(scope: Scope) -> bool:
    headers = dict(scope["headers"])
    length = headers.get(b"content-length", b"0").strip()
    return b"transfer-encoding" in headers or not length.isdigit() or int(length) > 0
