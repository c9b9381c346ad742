"""A real API process on a database of its own, and raw sockets to it: what the tests in
test_clients.py and test_login.py attack (slow bodies need real sockets)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_sessionmaker
from tests.conftest import BROKER_URL, migrated_database
from tests.e2e.stack import running_stack


@dataclass(frozen=True)
class Api:
    url: str
    sessions: sessionmaker[Session]

    @property
    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        return parts.hostname or "127.0.0.1", parts.port or 80

    def client(self, *, source: str = "127.0.0.1", connections: int = 10) -> httpx.Client:
        """A client whose connections come from `source` (any 127.x.y.z is this host)."""
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        transport = httpx.HTTPTransport(local_address=source, limits=limits)
        return httpx.Client(base_url=self.url, transport=transport, timeout=30)


@contextmanager
def api_process(logs: Path, settings: dict[str, str]) -> Iterator[Api]:
    """`stopay api` as it is run in production, on a fresh database, with `settings`."""
    with migrated_database() as url:
        engine = make_engine(url)
        try:
            queue = f"hostile-{uuid.uuid4().hex[:8]}"
            with running_stack(
                database_url=url,
                broker_url=BROKER_URL,
                queue=queue,
                logs=logs,
                settings=settings,
                workers=(),
                services=("api",),
            ) as stack:
                yield Api(url=stack.api_url, sessions=make_sessionmaker(engine))
        finally:
            engine.dispose()


def open_request(api: Api, head: str, body: bytes = b"") -> socket.socket:
    """A connection that has sent `head` (the request line and headers) and `body`."""
    sock = socket.create_connection(api.address, timeout=30)
    sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
    return sock


def answer_of(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends on `sock` until it closes it (b"" if nothing came within
    `timeout`); the socket is closed afterwards."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    finally:
        sock.close()
    return data


def status_of(answer: bytes) -> int | None:
    """The status code at the start of an answer, None for no answer."""
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else None


def first_status(sock: socket.socket, timeout: float) -> int | None:
    """The status of the answer starting on `sock`, leaving the connection open."""
    sock.settimeout(timeout)
    try:
        return status_of(sock.recv(4096))
    except TimeoutError:
        return None
