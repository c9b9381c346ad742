"""Real HTTP servers for the simulator tests: uvicorn in a thread, and a callback receiver."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from app.institutions.service import derive_callback_secret


class ThreadedServer:
    """An ASGI app served by uvicorn on a free 127.0.0.1 port, in a daemon thread."""

    def __init__(self, app: ASGIApp) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            app,
            log_level="warning",
            log_config=None,
            ws="none",
            lifespan="on",
            # Requests left hanging by outage tests must not hold up the end of the session.
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._sock.getsockname()
        return f"http://{host}:{port}"

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


@dataclass(frozen=True)
class Delivery:
    """One callback request the receiver got."""

    institution: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    status_code: int

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def data(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        data: dict[str, Any] = event["data"]
        return data


class Receiver:
    """Our side of the callbacks: verifies each signature, records it, answers as scripted."""

    def __init__(self, *, secret_key: str) -> None:
        self._secret_key = secret_key
        self._changed = threading.Condition()
        self._deliveries: list[Delivery] = []
        self._script: deque[int] = deque()
        self.app = Starlette(
            routes=[Route("/api/v1/callbacks/{code}", self._callback, methods=["POST"])]
        )

    def reset(self) -> None:
        with self._changed:
            self._deliveries.clear()
            self._script.clear()

    def answer_next(self, *statuses: int) -> None:
        """Answer the next callbacks with these statuses, then 200 again."""
        with self._changed:
            self._script.extend(statuses)

    def deliveries(self) -> list[Delivery]:
        with self._changed:
            return list(self._deliveries)

    def wait_for(
        self, predicate: Callable[[list[Delivery]], bool], *, timeout_s: float = 5.0
    ) -> list[Delivery]:
        """The deliveries once `predicate` holds for them; AssertionError after the timeout."""
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self._deliveries), timeout_s):
                raise AssertionError(f"callbacks not as expected: {self._deliveries!r}")
            return list(self._deliveries)

    def signer(self, code: str) -> Webhook:
        return Webhook(derive_callback_secret(secret_key=self._secret_key, code=code))

    async def _callback(self, request: Request) -> Response:
        code = request.path_params["code"]
        body = await request.body()
        headers = dict(request.headers)
        try:
            self.signer(code).verify(body, headers)
            verified = True
        except WebhookVerificationError:
            verified = False
        with self._changed:
            status = (self._script.popleft() if self._script else 200) if verified else 401
            self._deliveries.append(Delivery(code, headers, body, verified, status))
            self._changed.notify_all()
        return Response(status_code=status)
