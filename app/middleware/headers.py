"""Security headers on every answer, and no-store on answers that carry a secret."""

from __future__ import annotations

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
