"""Intake benchmark: how fast the real API stores reports under a steady stream of them.

What is measured: `POST /api/v1/cases` on the real API process (`python -m app.cli api`, one
uvicorn process) against the real PostgreSQL server, each case carrying `--transfers` victim
payments to distinct level-1 bank cards at several banks. Each answer is one committed
transaction writing the case, its accounts, transfers, stop-payment instructions, outbox rows
and audit events.

How: a throw-away database is created, migrated and seeded, and a call-taker with an API token
is added. After a warm-up, cases are sent open-loop at `--rate` per second for `--duration`
seconds: request i is sent at start + i/rate whatever the earlier requests are doing, so a slow
server shows up as latency instead of quietly lowering the load. Payloads are built and
serialised before the timed loop. Latency is from the moment the client starts sending to the
full response; a request unanswered after 60 s counts as failed. After the run the rows
written are counted in the database, and the API's peak RSS is read from /proc. The API is
stopped, the database dropped and the broker's database (Redis db 14, the bench's own)
emptied, even on failure. The client runs on the same machine as the API and PostgreSQL and
takes CPU from them: the figures are for this whole setup.

    .venv/bin/python bench/intake.py [--rate 20] [--duration 30] [--transfers 20] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import psycopg
import redis
from sqlalchemy.engine import make_url

from app.cards import luhn_complete

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: `app` is importable

ADMIN_URL = os.environ.get(
    "STOPAY_BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BROKER_URL = "redis://127.0.0.1:6379/14"
SECRET_KEY = "bench-secret-key-not-the-default"
AUDIT_KEY = "bench-audit-key-not-in-the-database"
HEADING = "## Intake (bench/intake.py)"
PREAMBLE = (
    "# Benchmarks\n\n"
    "Every figure here is produced by a script in `bench/` that anyone can re-run. This is a\n"
    "shared, noisy machine: compare medians and ratios between runs, not single figures.\n"
)
# The target from the issue: p95 under 50 ms at 20 cases/s with 20-transfer cases.
TARGET_P95_MS = 50.0
TARGET_RATE = 20.0
TARGET_TRANSFERS = 20
WARMUP_CASES = 20
# A call-taker gives up long before this; an answer still missing then is a failed request,
# and its latency (the time-out) is a lower bound.
REQUEST_TIMEOUT_S = 60.0
# Connection cap. A request that waits for a free connection counts the wait in its latency,
# so the loop stays open even when the server falls this far behind.
MAX_IN_FLIGHT = 500
COUNTED_TABLES = ("case", "account", "case_account", "transfer", "instruction", "outbox", "event")
# One known BIN per bank (from app/institutions/registry.yaml); the payer's bank is first.
BANK_BINS = {
    "ICBC": "622202",
    "CCB": "621700",
    "ABC": "622848",
    "CMB": "622588",
    "BOC": "621661",
    "BOCOM": "622262",
    "PSBC": "621799",
    "CITIC": "622690",
}


@dataclass(frozen=True)
class Options:
    rate: float
    duration: float
    transfers: int
    out: Path

    @property
    def command(self) -> str:
        return (
            f".venv/bin/python bench/intake.py --rate {self.rate:g} "
            f"--duration {self.duration:g} --transfers {self.transfers} --out {self.out}"
        )


@dataclass(frozen=True)
class Request:
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Sample:
    status: int
    sent_at: float  # perf_counter seconds
    done_at: float
    lag_s: float  # how late the client sent it against the schedule
    body_head: str

    @property
    def latency_ms(self) -> float:
        return (self.done_at - self.sent_at) * 1000


@dataclass(frozen=True)
class Results:
    warmup: list[Sample]  # sent one at a time: the service time without queueing
    samples: list[Sample]
    rows: dict[str, int]  # written during the timed run, per table
    peak_rss_kib: int
    load_before: float  # 1-minute load average when the run started: how busy the machine was


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="cases per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--transfers", type=int, default=TARGET_TRANSFERS, help="per case")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.duration <= 0 or not 1 <= args.transfers <= 200:
        parser.error("rate and duration must be positive, transfers between 1 and 200")
    return Options(args.rate, args.duration, args.transfers, args.out)


# --- Test data --------------------------------------------------------------------------


def card_no(bank: str, serial: int) -> str:
    """A valid 19-digit card number of `bank` (known BIN, right Luhn digit)."""
    return luhn_complete(f"{BANK_BINS[bank]}{serial:012d}")


def case_body(index: int, transfers: int, now: dt.datetime) -> dict[str, object]:
    """Report `index`: its own victim card, paying `transfers` distinct cards at several banks."""
    banks = list(BANK_BINS)
    victim_card = card_no("ICBC", 900_000_000 + index)
    items = [
        {
            # Spread over the last 30 minutes, oldest first, all before the call.
            "occurred_at": (now - dt.timedelta(minutes=29 - 27 * j / transfers)).isoformat(),
            "amount": f"{1000 + 37 * j}.{j % 100:02d}",
            "from": {"institution": "ICBC", "account_no": victim_card, "holder_name": "陈女士"},
            "to": {
                "account_no": card_no(banks[j % len(banks)], index * 1000 + j),
                "holder_name": "刘某",
            },
            "channel": "mobile_banking",
            "reference": f"MB{index:06d}{j:03d}",
        }
        for j in range(transfers)
    ]
    return {
        "received_at": (now - dt.timedelta(minutes=1)).isoformat(),
        "channel": "phone_call",
        "victim": {"name": "陈女士", "id_no": "11010519491231002X", "phone": "13800138000"},
        "fraud_type": "impersonate_customer_service",
        "narrative": "自称航空公司客服，称航班取消可办理退款，诱导通过手机银行转账。",
        "transfers": items,
        "contacts": [{"kind": "phone", "value": "+85261234567"}],
    }


def build_requests(count: int, transfers: int, token: str, first: int = 0) -> list[Request]:
    now = dt.datetime.now(dt.UTC)
    base = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept-Language": "en",
    }
    return [
        Request(
            headers={**base, "Idempotency-Key": str(uuid.uuid4())},
            body=json.dumps(case_body(first + i, transfers, now)).encode(),
        )
        for i in range(count)
    ]


# --- The database -----------------------------------------------------------------------


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database() -> str:
    """An empty database on the bench server; returns its SQLAlchemy URL."""
    name = f"stopay_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(_libpq(ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare_database(url: str) -> str:
    """Migrate, seed the registry, add a call-taker; returns the call-taker's API token."""
    from app.auth.models import Role, Unit, UnitKind, User
    from app.auth.service import create_api_token, hash_password
    from app.config import Settings
    from app.db import make_engine, make_sessionmaker, transaction
    from app.migrate import upgrade
    from app.prepare import seed_database

    upgrade(url)
    settings = Settings(
        database_url=url,
        broker_url=BROKER_URL,
        demo=False,
        secret_key=SECRET_KEY,
        audit_key=AUDIT_KEY,
        _env_file=None,
    )
    seed_database(settings, url)
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as db:
            unit = Unit(
                code="BENCH",
                name_zh="压测中心",
                name_en="Bench centre",
                kind=UnitKind.municipal_centre.value,
            )
            db.add(unit)
            db.flush()
            user = User(
                username="bench-calltaker",
                display_name="Bench call-taker",
                password_hash=hash_password(uuid.uuid4().hex),
                role=Role.call_taker.value,
                unit_id=unit.id,
                language="en",
            )
            db.add(user)
            db.flush()
            return create_api_token(db, user=user, name="bench", max_age_s=3600)[0]
    finally:
        engine.dispose()


def clear_broker() -> None:
    """Empty the bench's Redis database: no worker runs here, so the API's tasks pile up."""
    redis.Redis.from_url(BROKER_URL).flushdb()


def count_rows(url: str) -> dict[str, int]:
    with psycopg.connect(_libpq(url)) as conn:
        counts: dict[str, int] = {}
        for table in COUNTED_TABLES:
            row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            counts[table] = row[0] if row else 0
        return counts


# --- The API process --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_api(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("STOPAY_DATABASE_URL", "STOPAY_BROKER_URL")
    }
    env.update(
        DATABASE_URL=url,
        BROKER_URL=BROKER_URL,
        STOPAY_SECRET_KEY=SECRET_KEY,
        STOPAY_AUDIT_KEY=AUDIT_KEY,
        STOPAY_DEMO="false",
    )
    # A file, not a pipe: uvicorn's access log would fill a pipe nobody reads and stall it.
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "api", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_ready(base_url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the API exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the API was not ready within {timeout_s:g} s")


def peak_rss_kib(pid: int) -> int:
    """VmHWM: the most resident memory the process has had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def stop_api(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- The load ---------------------------------------------------------------------------

SampleT = TypeVar("SampleT")  # what one sent request yields: intake's Sample, load's Posted


async def post_case(client: httpx.AsyncClient, request: Request, scheduled: float) -> Sample:
    """One report; a connection error or time-out counts as a failure with status 0."""
    sent = time.perf_counter()
    try:
        response = await client.post("/api/v1/cases", content=request.body, headers=request.headers)
    except httpx.HTTPError as exc:
        return Sample(0, sent, time.perf_counter(), sent - scheduled, f"{exc!r}"[:500])
    done = time.perf_counter()
    head = "" if response.status_code == 201 else response.text[:500]
    return Sample(response.status_code, sent, done, sent - scheduled, head)


async def open_loop(
    client: httpx.AsyncClient,
    requests: list[Request],
    rate: float,
    post: Callable[[httpx.AsyncClient, Request, float], Awaitable[SampleT]],
) -> list[SampleT]:
    """Send request i at start + i/rate without waiting for earlier answers, by
    `post(client, request, scheduled)` (`scheduled` on the perf_counter clock)."""
    start = time.perf_counter() + 0.01
    tasks: list[asyncio.Task[SampleT]] = []
    for i, request in enumerate(requests):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(post(client, request, scheduled)))
    return list(await asyncio.gather(*tasks))


async def drive(
    base_url: str,
    warmup: list[Request],
    timed: list[Request],
    *,
    rate: float,
    between: Callable[[], None],
) -> tuple[list[Sample], list[Sample]]:
    """Warm up one request at a time, run `between` (the row count), then the open loop."""
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    timeout = httpx.Timeout(REQUEST_TIMEOUT_S, pool=None)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as client:
        warm: list[Sample] = []
        for request in warmup:
            warm.append(await post_case(client, request, scheduled=time.perf_counter()))
            if warm[-1].status != 201:
                raise RuntimeError(f"warm-up answered {warm[-1].status}: {warm[-1].body_head}")
        await asyncio.to_thread(between)
        return warm, await open_loop(client, timed, rate, post_case)


# --- Figures and the report -------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `pct` % of them at or below.

    (`pct * n / 100` is exact for whole percentages; `round(x + 0.5)`, used before, rounds
    half to even and made the p99 of 100 values their maximum.)
    """
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct * len(ordered) / 100)))
    return ordered[rank - 1]


def failures(samples: list[Sample]) -> str:
    """Non-201 answers by status, e.g. "0" or "480 (timeout or connection error 470, 500 10)"."""
    by_status = Counter(s.status for s in samples if s.status != 201)
    if not by_status:
        return "0"
    parts = [
        f"{'timeout or connection error' if k == 0 else k} {n}"
        for k, n in sorted(by_status.items())
    ]
    return f"{sum(by_status.values())} ({', '.join(parts)})"


def figures(results: Results) -> dict[str, float]:
    samples = results.samples
    ok = [s for s in samples if s.status == 201]
    latencies = [s.latency_ms for s in samples]
    wall = max(s.done_at for s in samples) - min(s.sent_at for s in samples)
    return {
        "sent": len(samples),
        "created": len(ok),
        "errors": len(samples) - len(ok),
        "p50": statistics.median(latencies),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "max": max(latencies),
        "unloaded": statistics.median(
            s.latency_ms for s in results.warmup[len(results.warmup) // 2 :]
        ),
        "rate": len(ok) / wall,
        "rows": sum(results.rows.values()),
        "rows_per_s": sum(results.rows.values()) / wall,
        "instructions_per_s": results.rows["instruction"] / wall,
        "rss_mib": results.peak_rss_kib / 1024,
        "lag_max": max(s.lag_s for s in samples) * 1000,
    }


def verdict(f: dict[str, float], options: Options) -> str:
    if options.rate < TARGET_RATE or options.transfers < TARGET_TRANSFERS:
        return "not judged (run below the target's rate or case size)"
    met = f["p95"] < TARGET_P95_MS and f["errors"] == 0 and f["rate"] >= 0.95 * options.rate
    return f"**{'PASS' if met else 'MISS'}** (p95 {f['p95']:.1f} ms)"


def machine() -> str:
    uname = subprocess.run(["uname", "-srm"], capture_output=True, text=True).stdout.strip()
    cpu = platform.processor() or "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return f"{uname}, {cpu}, {os.cpu_count()} cores, {mem_kib / 1024**2:.1f} GiB RAM"


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    code = ("app", "workers", "simulator", "migrations")
    dirty = git("status", "--porcelain", "--", *code).strip()
    return f"{commit} (plus uncommitted changes in {', '.join(code)})" if dirty else commit


def render(results: Results, options: Options) -> str:
    f = figures(results)
    per_table = ", ".join(f"{t} {n}" for t, n in results.rows.items())
    rows = [
        ("cases sent / answered 201", f"{f['sent']:.0f} / {f['created']:.0f}"),
        ("failed requests", failures(results.samples)),
        ("target rate", f"{options.rate:g} cases/s for {options.duration:g} s"),
        ("achieved rate", f"{f['rate']:.1f} cases/s ({f['instructions_per_s']:.0f} instr/s)"),
        ("latency p50", f"{f['p50']:.1f} ms"),
        ("latency p95", f"{f['p95']:.1f} ms"),
        ("latency p99", f"{f['p99']:.1f} ms"),
        ("latency max", f"{f['max']:.1f} ms"),
        (
            "unloaded latency",
            f"{f['unloaded']:.1f} ms (median of the last warm-up cases, sent one at a time)",
        ),
        ("rows written", f"{f['rows']:.0f} ({per_table})"),
        ("rows/s", f"{f['rows_per_s']:.0f}"),
        ("API peak RSS (VmHWM)", f"{f['rss_mib']:.0f} MiB"),
        ("client's worst send lag", f"{f['lag_max']:.1f} ms (how late a request left)"),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    return (
        f"{HEADING}\n\n"
        f"`POST /api/v1/cases` on one uvicorn process against the real PostgreSQL, cases of\n"
        f"{options.transfers} transfers to distinct level-1 cards sent open-loop; latency is\n"
        f"send to full response, measured by a client on the same machine.\n\n"
        f"- command: `{options.command}`\n"
        f"- date (UTC): {now}\n"
        f"- machine: {machine()}; load average {results.load_before:.2f} before the run\n"
        f"- commit: {git_commit()}\n\n"
        f"| figure | value |\n| --- | --- |\n{table}\n\n"
        f"Target (from the issue): p95 under 50 ms at 20 cases/s with 20-transfer cases: "
        f"{verdict(f, options)}.\n"
    )


def write_section(path: Path, section: str, *, heading: str = HEADING) -> None:
    """Replace the section under `heading` (up to the next `## `), or append it."""
    text = path.read_text() if path.exists() else PREAMBLE
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.rstrip() == heading]
    if not starts:
        path.write_text(text.rstrip("\n") + "\n\n" + section)
        return
    start = starts[0]
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    tail = "".join(lines[end:])
    path.write_text("".join(lines[:start]) + section + ("\n" + tail if tail else ""))


def print_failures(samples: list[Sample], limit: int = 5) -> None:
    failed = [s for s in samples if s.status != 201]
    for s in failed[:limit]:
        print(f"  HTTP {s.status or 'error'}: {s.body_head}", file=sys.stderr)
    if failed:
        print(f"{len(failed)} of {len(samples)} requests were not 201", file=sys.stderr)


def print_api_log(log: Path, limit: int = 40) -> None:
    """The API's own messages (tracebacks, warnings), without the access log lines."""
    lines = [
        line for line in log.read_text(errors="replace").splitlines() if ' HTTP/1.1" ' not in line
    ]
    print(f"API log, last {limit} lines other than access log ({log}):", file=sys.stderr)
    print("\n".join(lines[-limit:]), file=sys.stderr)


# --- Main -------------------------------------------------------------------------------


def measure(url: str, options: Options, workdir: Path) -> Results:
    """Start the API, warm up, run the open loop, count rows; the API is always stopped."""
    load_before = os.getloadavg()[0]
    token = prepare_database(url)
    count = max(1, round(options.rate * options.duration))
    warmup = build_requests(WARMUP_CASES, options.transfers, token, first=0)
    timed = build_requests(count, options.transfers, token, first=WARMUP_CASES)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = workdir / "api.log"
    proc = start_api(url, port, log)
    before: dict[str, int] = {}

    def count_before() -> None:
        before.update(count_rows(url))

    try:
        wait_ready(base_url, proc)
        warm, samples = asyncio.run(
            drive(base_url, warmup, timed, rate=options.rate, between=count_before)
        )
        rss = peak_rss_kib(proc.pid)
    except Exception:
        print_api_log(log)
        raise
    finally:
        stop_api(proc)
    if any(s.status != 201 for s in samples):
        print_api_log(log)
    after = count_rows(url)
    rows = {t: after[t] - before[t] for t in COUNTED_TABLES}
    return Results(warm, samples, rows, rss, load_before)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    url = create_database()
    try:
        with tempfile.TemporaryDirectory(prefix="stopay-bench-") as workdir:
            results = measure(url, options, Path(workdir))
    finally:
        drop_database(url)
        clear_broker()
    print_failures(results.samples)
    section = render(results, options)
    write_section(options.out, section)
    print(section)
    print(f"Written to {options.out}")
    return 1 if any(s.status != 201 for s in results.samples) else 0


if __name__ == "__main__":
    sys.exit(main())
