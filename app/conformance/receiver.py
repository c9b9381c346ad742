"""The kit's own callback endpoint: records every delivery, and answers 503 to the first
delivery of one chosen callback so that the institution has to retry it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 1_000_000


@dataclass(frozen=True)
class Delivery:
    """One callback request as it arrived, and how the kit answered it."""

    at: float  # time.monotonic()
    headers: dict[str, str]  # names lower-cased
    body: bytes
    status_code: int

    @property
    def webhook_id(self) -> str | None:
        return self.headers.get("webhook-id")

    def event(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def idempotency_key(self) -> str | None:
        event = self.event()
        data = event.get("data") if isinstance(event, dict) else None
        key = data.get("idempotency_key") if isinstance(data, dict) else None
        return key if isinstance(key, str) else None


class Receiver:
    """An HTTP server in a daemon thread; POST anywhere under it is a callback."""

    def __init__(self, host: str, port: int) -> None:
        self._lock = threading.Condition()
        self._deliveries: list[Delivery] = []
        self._fail_key: str | None = None
        self._failed_id: str | None = None
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def fail_first_delivery_for(self, idempotency_key: str) -> None:
        """Answer 503 to the first delivery of the first callback about this key."""
        with self._lock:
            self._fail_key = idempotency_key

    @property
    def failed_webhook_id(self) -> str | None:
        with self._lock:
            return self._failed_id

    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def wait_for(self, predicate: Callable[[list[Delivery]], bool], *, timeout_s: float) -> bool:
        """Whether `predicate` came to hold for the deliveries within `timeout_s`."""
        with self._lock:
            return self._lock.wait_for(lambda: predicate(self._deliveries), timeout_s)

    def _record(self, headers: dict[str, str], body: bytes) -> int:
        """Keep one delivery; the status to answer it with."""
        with self._lock:
            status = 200
            key = Delivery(0.0, headers, body, status).idempotency_key
            if self._failed_id is None and self._fail_key is not None and key == self._fail_key:
                self._failed_id = headers.get("webhook-id", "")
                status = 503
            self._deliveries.append(Delivery(time.monotonic(), headers, body, status))
            self._lock.notify_all()
            return status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (the http.server name)
                length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                status = receiver._record(headers, body)
                answer = b'{"status": "received"}' if status == 200 else b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet: the table is the report."""

        return Handler
