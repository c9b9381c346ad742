"""Fan-out benchmark: one 157-account, 12-institution, three-level case, end to end.

What is measured: how long after the call-taker gets the 201 every instruction of a big case
is acknowledged by its institution, and how long until every outcome is in, compared with
the same requests sent by a bare asyncio HTTP client straight to the simulated institutions
in the same run, and with the institutions' own simulated latency (the physical limit).

The case: a victim's card pays 40 level-1 accounts, which pay 60 level-2 accounts, which pay
57 level-3 accounts: 157 transfers, 157 suspect accounts at 10 banks (non-card account
numbers) and 2 payment institutions (wallet ids). Intake gives each suspect account a
stop-payment and the case a `register` at the national platform: 158 instructions.

How: a throw-away database on the local PostgreSQL (migrated, seeded, a call-taker with an
API token) and a Redis database of the bench's own (db 11, emptied before and after). The
simulator, worker, beat and API run as separate processes exactly as the end-to-end tests
start them (tests/e2e/stack.py), the simulator with a bench profile: every institution acks
in 100-300 ms and calls back 500-3000 ms later, no injected faults, no rate limit, every
account keeps the money (each stop ends `stopped_full`), quick callback retries. One
unreported warm-up case runs first. Then, `--repeat` times:

1. Our path. The simulator is reset; the case is posted; t0 is when the 201 arrives. The
   bench watches the case every 50 ms until every instruction is acked, then done: by one
   aggregate query on our database (`--poll db`, the default) or by
   `GET /api/v1/cases/{case_no}` (`--poll api`; that read costs the API ~0.1 s of CPU, so
   polling it 20 times a second takes CPU from the very processes being measured), then
   reads the case once through the API. The figures come from the instructions' own
   timestamps (written by the worker and the API), not from when the bench noticed:
   201 -> last `acked_at`, 201 -> last `completed_at`. The simulator's ledger must show each
   instruction applied exactly once.
2. The bare client. The simulator's delays are drawn from (seed, idempotency key, attempt
   number), and `POST /admin/reset` forgets keys and attempt counts (simulator/faults.py,
   simulator/service.py). So after our path has finished, the simulator is reset and the
   bare client sends the very requests our adapters sent (the same idempotency keys and
   bodies, read from our database; only `callback_url` differs): each request draws the same
   ack and processing delays as ours did (when ours needed one attempt: the table says), and
   both paths face identical simulated latencies. All 158 go at once from one aiohttp
   session per institution (the worker's HTTP client); callbacks go to a receiver in the
   bench process (uvicorn, same event loop) that notes when each arrives. Figures: first
   send -> last 202, first send -> last callback.
3. The physical limit: the largest ack + processing delay the seed draws for any of the
   instructions (first attempt), computed here with the simulator's own `draw`.

Where the time goes is split per instruction with the simulator's ledger (when each request
arrived and when its outcome was applied), and the CPU seconds each process used during each
path are read from /proc.

The median and the worst of each figure over the repeats are written to BENCHMARKS.md under
`## Fan-out (bench/fanout.py)`, one sub-section per worker pool, concurrency and poll mode (a
run replaces the sub-section of its own configuration and keeps the others). Everything runs
on this one machine, the bench client included: the figures are for the whole setup.

    .venv/bin/python bench/fanout.py [--repeat 3] [--pool threads] [--processes 2]
        [--concurrency 100] [--poll db|api] [--max-load 1.5] [--out BENCHMARKS.md] [--logs DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psycopg
import redis
import uvicorn
import yaml
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: `app`, `bench`, `tests` import

from bench.intake import (  # noqa: E402
    AUDIT_KEY,
    SECRET_KEY,
    card_no,
    create_database,
    drop_database,
    git_commit,
    machine,
    peak_rss_kib,
    percentile,
    prepare_database,
)
from bench.report import log_dir, write_subsection  # noqa: E402
from simulator.faults import draw  # noqa: E402
from simulator.profiles import Profile  # noqa: E402
from tests.e2e.stack import Stack, free_port, wait_http_ok  # noqa: E402

HEADING = "## Fan-out (bench/fanout.py)"
BROKER_URL = "redis://127.0.0.1:6379/11"
# Ten banks and two payment institutions; the victim's card is at ICBC.
INSTITUTIONS = (
    "ICBC",
    "ABC",
    "BOC",
    "CCB",
    "BOCOM",
    "PSBC",
    "CMB",
    "CITIC",
    "SPDB",
    "CIB",
    "ALIPAY",
    "TENPAY",
)
LEVEL_SIZES = (40, 60, 57)  # suspect accounts at levels 1, 2, 3
# The targets: every instruction acked within 1 s of the 201, and every outcome in
# within 1.2x of the bare client.
TARGET_ACK_S = 1.0
TARGET_RATIO = 1.2
POLL_S = 0.05
SIM_PROFILE: dict[str, Any] = {
    "seed": 20261122,
    "default": {
        "ack_ms": [100, 300],
        "processing_ms": [500, 3000],
        "timeout_rate": 0.0,
        "error_rate": 0.0,
        "rate_limit_per_s": None,
        "accounts": {
            "full": 1.0,
            "partial": 0.0,
            "moved": 0.0,
            "not_found": 0.0,
            "name_mismatch": 0.0,
        },
    },
    "callbacks": {"first_retry_s": 0.2, "max_retry_s": 1.0, "give_up_after_s": 600, "timeout_s": 5},
}


@dataclass(frozen=True)
class Options:
    repeat: int
    pool: str
    processes: int
    concurrency: int
    out: Path
    logs: Path | None
    timeout: float
    poll: str
    max_load: float | None

    @property
    def command(self) -> str:
        quiet = "" if self.max_load is None else f" --max-load {self.max_load:g}"
        return (
            f".venv/bin/python bench/fanout.py --repeat {self.repeat} --pool {self.pool} "
            f"--processes {self.processes} --concurrency {self.concurrency} --poll {self.poll}"
            f"{quiet} --out {self.out}"
        )

    @property
    def config(self) -> str:
        processes = "1 process" if self.processes == 1 else f"{self.processes} processes"
        return (
            f"{self.pool} pool, {processes} of concurrency {self.concurrency}, "
            f"polling the {self.poll}"
        )


@dataclass(frozen=True)
class Sent:
    """One instruction as our adapter sent it, with its simulated delays (first attempt)."""

    instruction_id: int
    key: str
    institution: str
    body: dict[str, Any]
    attempts: int
    ack_ms: int  # the simulated delay before the 202
    processing_ms: int  # and after it, before the outcome

    @property
    def draw_s(self) -> float:
        """The least time from sending it to its outcome."""
        return (self.ack_ms + self.processing_ms) / 1000


@dataclass(frozen=True)
class OurPath:
    case_no: str
    t201: float  # epoch seconds
    post_ms: float
    instructions: list[dict[str, Any]]
    levels: dict[tuple[str, str], int]
    ledger: list[dict[str, Any]]


@dataclass(frozen=True)
class BarePath:
    t_send: float
    acks: dict[str, float]  # idempotency key -> when its 202 came back
    callbacks: dict[str, float]  # idempotency key -> when its callback arrived
    ledger: list[dict[str, Any]]


@dataclass(frozen=True)
class Run:
    ours: OurPath
    bare: BarePath
    sent: list[Sent]
    cpu_ours: dict[str, float]  # CPU seconds per process (cpu_seconds) while our path ran
    cpu_bare: dict[str, float]


@dataclass
class Results:
    load_before: float  # 1-minute load average: how busy the machine was
    load_after: float = 0.0
    warmup: Run | None = None
    runs: list[Run] = field(default_factory=list)
    rss_mib: dict[str, str] = field(default_factory=dict)


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3, help="cases measured (default 3)")
    parser.add_argument("--pool", default="threads", choices=["threads", "prefork", "solo"])
    parser.add_argument("--concurrency", type=int, default=100, help="threads per worker process")
    parser.add_argument("--processes", type=int, default=2, help="worker processes")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--logs", type=Path, default=None, help="keep the processes' logs here")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per case")
    parser.add_argument(
        "--poll",
        default="db",
        choices=["db", "api"],
        help="watch the case by a one-row query on the database (default) or by GET "
        "/api/v1/cases/{case_no}, which costs the API ~0.1 s of CPU a time",
    )
    parser.add_argument(
        "--max-load",
        type=float,
        default=None,
        help="first wait (at most 10 min) until the 1-minute load average is at most this",
    )
    args = parser.parse_args(argv)
    if min(args.repeat, args.processes, args.concurrency) < 1:
        parser.error("--repeat, --processes and --concurrency must be at least 1")
    return Options(
        args.repeat,
        args.pool,
        args.processes,
        args.concurrency,
        args.out,
        args.logs,
        args.timeout,
        args.poll,
        args.max_load,
    )


# --- The case ---------------------------------------------------------------------------


def account_at(code: str, serial: int, holder: str) -> dict[str, Any]:
    """A bank account number (not a card: no known BIN) or a wallet id, unique per serial."""
    if code == "ALIPAY":
        number = f"2088{serial % 10**12:012d}"
    elif code == "TENPAY":
        number = f"139{serial % 10**8:08d}"  # a wallet known by its phone number
    else:
        number = f"81{serial % 10**15:015d}"
    return {"institution": code, "account_no": number, "holder_name": holder}


def suspects(tag: int) -> list[list[dict[str, Any]]]:
    """Accounts per level, spread round-robin over the twelve institutions."""
    levels: list[list[dict[str, Any]]] = []
    index = 0
    for level, size in enumerate(LEVEL_SIZES, start=1):
        accounts = []
        for _ in range(size):
            code = INSTITUTIONS[index % len(INSTITUTIONS)]
            accounts.append(account_at(code, tag * 1000 + index, f"嫌疑人{level}-{index}"))
            index += 1
        levels.append(accounts)
    return levels


def transfer(
    source: dict[str, Any], target: dict[str, Any], amount: int, at: dt.datetime, ref: str
) -> dict[str, Any]:
    return {
        "occurred_at": at.isoformat(),
        "amount": f"{amount}.00",
        "from": source,
        "to": target,
        "channel": "mobile_banking",
        "reference": ref,
    }


def case_body(tag: int, now: dt.datetime) -> dict[str, Any]:
    """Victim -> 40 level-1 -> 60 level-2 -> 57 level-3 accounts: 157 transfers."""
    victim = {
        "institution": "ICBC",
        "account_no": card_no("ICBC", 900_000_000 + tag % 10**8),
        "holder_name": "陈女士",
    }
    level1, level2, level3 = suspects(tag)
    start = now - dt.timedelta(minutes=50)
    items = [
        transfer(victim, acc, 20_000 + 137 * i, start + dt.timedelta(seconds=10 * i), f"L1-{i}")
        for i, acc in enumerate(level1)
    ]
    for depth, (payers, payees) in enumerate(((level1, level2), (level2, level3)), start=2):
        at = start + dt.timedelta(minutes=10 * (depth - 1))
        items += [
            transfer(
                payers[j % len(payers)],
                acc,
                9_000 // depth + 53 * j,
                at + dt.timedelta(seconds=10 * j),
                f"L{depth}-{j}",
            )
            for j, acc in enumerate(payees)
        ]
    return {
        "received_at": (now - dt.timedelta(minutes=1)).isoformat(),
        "channel": "phone_call",
        "victim": {"name": "陈女士", "id_no": "11010519491231002X", "phone": "13800138000"},
        "fraud_type": "impersonate_customer_service",
        "narrative": "自称客服，诱导转账；资金经三级账户分散转移。",
        "transfers": items,
        "contacts": [{"kind": "phone", "value": "+85261234567"}],
    }


# --- The stack --------------------------------------------------------------------------


def clear_broker() -> None:
    redis.Redis.from_url(BROKER_URL).flushdb()


def make_stack(
    url: str,
    options: Options,
    logs: Path,
    *,
    broker_url: str = BROKER_URL,
    settings: dict[str, str] | None = None,
) -> Stack:
    """The stack's processes, not started yet; `settings` (STOPAY_…) go on top."""
    profile = logs / "bench-profile.yaml"
    profile.write_text(yaml.safe_dump(SIM_PROFILE, sort_keys=False))
    api_port, sim_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STOPAY_")},
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": url,
        "BROKER_URL": broker_url,
        "STOPAY_SECRET_KEY": SECRET_KEY,
        "STOPAY_AUDIT_KEY": AUDIT_KEY,
        "STOPAY_DEMO": "false",
        "STOPAY_DATA_DIR": str(logs),
        "STOPAY_API_PORT": str(api_port),
        "STOPAY_SIMULATOR_PORT": str(sim_port),
        "STOPAY_SIMULATOR_PROFILE": str(profile),
        "STOPAY_WORKER_POOL": options.pool,
        "STOPAY_WORKER_PROCESSES": str(options.processes),
        "STOPAY_WORKER_CONCURRENCY": str(options.concurrency),
        **(settings or {}),
    }
    return Stack(
        env=env,
        logs=logs,
        api_url=f"http://127.0.0.1:{api_port}",
        simulator_url=f"http://127.0.0.1:{sim_port}",
    )


def start_stack(stack: Stack, processes: int) -> None:
    for name in ("simulator", "api", "worker", "beat"):
        stack.start(name, name)
    wait_http_ok(f"{stack.simulator_url}/healthz")
    wait_http_ok(f"{stack.api_url}/readyz")
    # The workers are up when each has said so; the first task should not wait for a boot.
    deadline = time.monotonic() + 60
    while stack.log("worker").count(" ready.") < processes:
        if time.monotonic() > deadline:
            raise RuntimeError("the worker did not become ready within 60 s")
        time.sleep(0.2)


TICKS_PER_S = os.sysconf("SC_CLK_TCK")
CPU_ROWS = ("worker", "api", "simulator", "beat", "postgres", "bench", "rest")


def processes() -> Iterator[tuple[int, int, int]]:
    """(pid, process group, CPU ticks used: user + system) of every process."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            yield int(entry.name), int(fields[2]), int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            continue


def group_rss_mib(pgrp: int) -> tuple[float, int]:
    """Summed VmHWM (MiB) of the processes in a process group, and how many there are."""
    pids = [pid for pid, group, _ in processes() if group == pgrp]
    return sum(peak_rss_kib(pid) for pid in pids) / 1024, len(pids)


def peak_memory(
    stack: Stack, names: tuple[str, ...] = ("api", "worker", "simulator")
) -> dict[str, str]:
    """Peak RSS (summed VmHWM) of each named process group, e.g. "316 MiB (3 processes)"."""
    figures = {}
    for name in names:
        mib, count = group_rss_mib(stack.processes[name].pid)
        figures[name] = f"{mib:.0f} MiB" + (f" ({count} processes)" if count > 1 else "")
    return figures


def backends(database: str) -> set[int]:
    """The PostgreSQL server processes serving `database` (their title names it)."""
    pids = set()
    for entry in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            title = entry.read_bytes()
        except OSError:
            continue
        if title.startswith(b"postgres:") and f" {database} ".encode() in title:
            pids.add(int(entry.parent.name))
    return pids


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU seconds so far: each of our process groups, this process, the database's backends,
    and `rest`: the machine's busy time not spent by those (Redis, other databases' backends,
    and whatever else runs here). Backends that have exited are not counted."""
    groups = {p.pid: name for name, p in stack.processes.items()}
    ours = backends(str(make_url(stack.env["DATABASE_URL"]).database))
    used = dict.fromkeys(CPU_ROWS, 0.0)
    for pid, group, ticks in processes():
        name = "bench" if pid == os.getpid() else groups.get(group)
        name = "postgres" if pid in ours else name
        if name is not None:
            used[name] = used.get(name, 0.0) + ticks / TICKS_PER_S
    times = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = (sum(times[:8]) - times[3] - times[4]) / TICKS_PER_S  # all but idle and iowait
    used["rest"] = busy - sum(used.values())
    used["wall"] = time.monotonic()
    return used


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}


# --- Our path ---------------------------------------------------------------------------


def reset_simulator(stack: Stack) -> None:
    with stack.simulator() as sim:
        sim.post("/admin/reset").raise_for_status()


def read_case(api: httpx.Client, case_no: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/cases/{case_no}")
    response.raise_for_status()
    case: dict[str, Any] = response.json()
    return case


PROGRESS_SQL = """
SELECT count(*), count(i.acked_at), count(i.completed_at)
FROM instruction i JOIN "case" c ON c.id = i.case_id
WHERE c.case_no = %s
"""


def poll_api(api: httpx.Client, case_no: str, field_name: str, deadline: float) -> None:
    """Until every instruction has `field_name` set, by `GET /api/v1/cases/{case_no}`."""
    while not all(i[field_name] is not None for i in read_case(api, case_no)["instructions"]):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{case_no}: instructions without {field_name} after the time-out")
        time.sleep(POLL_S)


def poll_db(url: str, case_no: str, field_name: str, deadline: float) -> None:
    """Until every instruction has `field_name` set, by one aggregate query on our database."""
    column = {"acked_at": 1, "completed_at": 2}[field_name]
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        while True:
            row = conn.execute(PROGRESS_SQL, (case_no,)).fetchone()
            if row is not None and row[0] > 0 and row[column] == row[0]:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{case_no}: instructions without {field_name} after time-out")
            time.sleep(POLL_S)


def wait_for_case(url: str, api: httpx.Client, case_no: str, options: Options) -> dict[str, Any]:
    """The case once every instruction is acked, then done; polled every 50 ms."""
    deadline = time.monotonic() + options.timeout
    for field_name in ("acked_at", "completed_at"):
        if options.poll == "api":
            poll_api(api, case_no, field_name, deadline)
        else:
            poll_db(url, case_no, field_name, deadline)
    return read_case(api, case_no)


def ledger(stack: Stack, case_no: str) -> list[dict[str, Any]]:
    with stack.simulator() as sim:
        response = sim.get("/admin/ledger", params={"case_no": case_no})
        response.raise_for_status()
        entries: list[dict[str, Any]] = response.json()
        return entries


def settled_ledger(stack: Stack, case_no: str, count: int, timeout: float) -> list[dict[str, Any]]:
    """The case's ledger once every callback is acknowledged (so a reset drops nothing)."""
    deadline = time.monotonic() + timeout
    while True:
        entries = ledger(stack, case_no)
        if sum(e["entry"] == "callback_acknowledged" for e in entries) >= count:
            return entries
        if time.monotonic() > deadline:
            raise RuntimeError(f"{case_no}: callbacks still unacknowledged in the ledger")
        time.sleep(0.1)


def level_map(case: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {
        (account["institution"], account["account_no"]): level["level"]
        for level in case["levels"]
        for account in level["accounts"]
    }


def check_shape(case: dict[str, Any]) -> None:
    """The case intake made: 40/60/57 suspects at levels 1-3, one instruction each, plus one."""
    per_level = Counter(level for level in level_map(case).values() if level > 0)
    shape = tuple(per_level[level] for level in range(1, len(LEVEL_SIZES) + 1))
    if shape != LEVEL_SIZES or len(case["instructions"]) != sum(LEVEL_SIZES) + 1:
        raise RuntimeError(f"unexpected case: levels {shape}, {len(case['instructions'])} instr.")


def run_ours(stack: Stack, url: str, token: str, options: Options) -> OurPath:
    """Post the case, wait for every ack and every outcome; t0 is the 201."""
    body = json.dumps(case_body(uuid.uuid4().int % 10**9, dt.datetime.now(dt.UTC))).encode()
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept-Language": "en",
        "Content-Type": "application/json",
        "Idempotency-Key": str(uuid.uuid4()),
    }
    with stack.api(headers) as api:
        sent = time.time()
        response = api.post("/api/v1/cases", content=body)
        t201 = time.time()
        if response.status_code != 201:
            raise RuntimeError(f"intake answered {response.status_code}: {response.text[:500]}")
        case_no = str(response.json()["case_no"])
        case = wait_for_case(url, api, case_no, options)
    check_shape(case)
    entries = settled_ledger(stack, case_no, len(case["instructions"]), timeout=30)
    return OurPath(
        case_no, t201, (t201 - sent) * 1000, case["instructions"], level_map(case), entries
    )


SENT_SQL = """
SELECT i.id, i.idempotency_key, i.kind, c.case_no, inst.code, a.account_no, i.holder_name,
       i.amount_requested, i.transaction_time, i.document_no, i.attempts
FROM instruction i
JOIN "case" c ON c.id = i.case_id
JOIN institution inst ON inst.id = i.institution_id
LEFT JOIN account a ON a.id = i.account_id
WHERE c.case_no = %s
ORDER BY i.id
"""


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sent_requests(url: str, case_no: str) -> list[Sent]:
    """What our adapters sent for the case (workers/adapters/simulated.py), from our database."""
    profile = Profile.model_validate(SIM_PROFILE["default"])
    with psycopg.connect(libpq(url)) as conn:
        rows = conn.execute(SENT_SQL, (case_no,)).fetchall()
    sent = []
    for row in rows:
        iid, key, kind, number, code, account_no, holder, amount, when, document_no, attempts = row
        body = {
            "kind": kind,
            "case_no": number,
            "account_no": account_no,
            "holder_name": holder,
            "amount": str(amount) if amount is not None else None,
            "transaction_time": when.isoformat() if when else None,
            "reference": None,
            "document_no": document_no,
        }
        luck = draw(seed=SIM_PROFILE["seed"], idempotency_key=key, attempt=1, profile=profile)
        sent.append(Sent(iid, key, code, body, attempts, luck.ack_ms, luck.processing_ms))
    return sent


# --- The bare client --------------------------------------------------------------------


@asynccontextmanager
async def callback_receiver(
    arrivals: dict[str, float], done: asyncio.Event, expected: int
) -> AsyncIterator[str]:
    """A callback endpoint on this event loop: notes when each key's callback arrives, 200s."""

    async def receive(request: Request) -> Response:
        data = json.loads(await request.body())
        arrivals.setdefault(data["data"]["idempotency_key"], time.time())
        if len(arrivals) >= expected:
            done.set()
        return Response(status_code=200)

    app = Starlette(routes=[Route("/callbacks/{code}", receive, methods=["POST"])])
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises why it did not start
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/callbacks"
    finally:
        server.should_exit = True
        await task


async def send_all(
    sim_url: str, sent: list[Sent], callback_base: str
) -> tuple[float, dict[str, float]]:
    """Every request at once; returns when the first went out and when each 202 came back.

    One aiohttp session (connection pool) per institution, as our adapters have, with the
    same HTTP client library: the comparison is of everything around the calls. (httpx's
    async client, which this used before the worker moved to aiohttp, spent about three times
    the CPU on the same calls, and made the bare client the slower one.)
    """
    acks: dict[str, float] = {}
    async with AsyncExitStack() as stack:
        sessions = {
            code: await stack.enter_async_context(
                aiohttp.ClientSession(
                    base_url=sim_url,
                    connector=aiohttp.TCPConnector(limit=len(sent)),
                    timeout=aiohttp.ClientTimeout(total=30),
                )
            )
            for code in sorted({item.institution for item in sent})
        }

        async def one(item: Sent) -> None:
            body = {**item.body, "callback_url": f"{callback_base}/{item.institution}"}
            async with sessions[item.institution].post(
                f"/institutions/{item.institution}/instructions",
                data=json.dumps(body).encode(),
                headers={"Idempotency-Key": item.key, "Content-Type": "application/json"},
            ) as response:
                text = await response.text()
            if response.status != 202:
                raise RuntimeError(f"bare client: {response.status} {text[:300]}")
            acks[item.key] = time.time()

        t_send = time.time()
        await asyncio.gather(*(one(item) for item in sent))
    return t_send, acks


async def bare_async(
    sim_url: str, sent: list[Sent], timeout: float
) -> tuple[float, dict[str, float], dict[str, float]]:
    arrivals: dict[str, float] = {}
    done = asyncio.Event()
    async with callback_receiver(arrivals, done, len(sent)) as callback_base:
        t_send, acks = await send_all(sim_url, sent, callback_base)
        await asyncio.wait_for(done.wait(), timeout)
    return t_send, acks, arrivals


def run_bare(stack: Stack, sent: list[Sent], case_no: str, timeout: float) -> BarePath:
    """The same keys and bodies straight to the (just reset) simulator."""
    t_send, acks, arrivals = asyncio.run(bare_async(stack.simulator_url, sent, timeout))
    entries = settled_ledger(stack, case_no, len(sent), timeout=30)
    return BarePath(t_send, acks, arrivals, entries)


def run_once(stack: Stack, url: str, token: str, options: Options) -> Run:
    reset_simulator(stack)
    before = cpu_seconds(stack)
    ours = run_ours(stack, url, token, options)
    between = cpu_seconds(stack)
    sent = sent_requests(url, ours.case_no)
    reset_simulator(stack)
    ready = cpu_seconds(stack)
    bare = run_bare(stack, sent, ours.case_no, options.timeout)
    after = cpu_seconds(stack)
    return Run(ours, bare, sent, cpu_delta(before, between), cpu_delta(ready, after))


# --- Figures ----------------------------------------------------------------------------


def epoch(value: str) -> float:
    return dt.datetime.fromisoformat(value).timestamp()


def ledger_times(entries: list[dict[str, Any]], entry: str) -> dict[str, float]:
    """When each key first got an entry of this kind (received, applied, ...)."""
    times: dict[str, float] = {}
    for e in entries:
        if e["entry"] == entry:
            times.setdefault(e["idempotency_key"], epoch(e["at"]))
    return times


def applied_once(entries: list[dict[str, Any]], keys: set[str]) -> bool:
    """Every key applied exactly once, and nothing else applied."""
    applied = Counter(e["idempotency_key"] for e in entries if e["entry"] == "applied")
    return set(applied) == keys and set(applied.values()) == {1}


def run_figures(run: Run) -> dict[str, float]:
    """The headline figures of one case, in seconds unless named otherwise."""
    ours, bare = run.ours, run.bare
    level1 = [
        i for i in ours.instructions if ours.levels.get((i["institution"], i["account_no"])) == 1
    ]
    keys = {s.key for s in run.sent}
    done = max(epoch(i["completed_at"]) for i in ours.instructions) - ours.t201
    bare_done = max(bare.callbacks.values()) - bare.t_send
    limit = max(s.draw_s for s in run.sent)
    return {
        "instructions": len(ours.instructions),
        "post_ms": ours.post_ms,
        "dispatch": max(epoch(i["first_attempt_at"]) for i in ours.instructions) - ours.t201,
        "ack": max(epoch(i["acked_at"]) for i in ours.instructions) - ours.t201,
        "ack_level1": max(epoch(i["acked_at"]) for i in level1) - ours.t201,
        "done": done,
        "bare_ack": max(bare.acks.values()) - bare.t_send,
        "bare_done": bare_done,
        "limit": limit,
        "ratio_bare": done / bare_done,
        "ratio_limit": done / limit,
        "once": float(applied_once(ours.ledger, keys) and applied_once(bare.ledger, keys)),
        "attempts": max(s.attempts for s in run.sent),
        "stopped_full": sum(i["outcome"] == "stopped_full" for i in ours.instructions),
    }


def our_stages(run: Run) -> dict[str, list[float]]:
    """Per instruction: where its time went on our path (seconds)."""
    received = ledger_times(run.ours.ledger, "received")
    applied = ledger_times(run.ours.ledger, "applied")
    by_id = {i["id"]: i for i in run.ours.instructions}
    stages: dict[str, list[float]] = {}
    for item in run.sent:
        instruction = by_id[item.instruction_id]
        first = epoch(instruction["first_attempt_at"])
        acked, completed = epoch(instruction["acked_at"]), epoch(instruction["completed_at"])
        sim_in, sim_out = received[item.key], applied[item.key]
        for name, value in (
            ("201 → worker starts the attempt", first - run.ours.t201),
            ("attempt start → request at the institution", sim_in - first),
            ("202 sent → ack recorded (acked_at)", acked - sim_in - item.ack_ms / 1000),
            ("institution: beyond its drawn delay", sim_out - sim_in - item.draw_s),
            ("outcome applied → callback recorded", completed - sim_out),
            ("201 → completed, beyond its own draw", completed - run.ours.t201 - item.draw_s),
        ):
            stages.setdefault(name, []).append(value)
    return stages


def bare_stages(run: Run) -> dict[str, list[float]]:
    """Per request: where its time went on the bare client's path (seconds)."""
    received = ledger_times(run.bare.ledger, "received")
    applied = ledger_times(run.bare.ledger, "applied")
    stages: dict[str, list[float]] = {}
    for item in run.sent:
        sim_in, sim_out = received[item.key], applied[item.key]
        for name, value in (
            ("first send → request at the institution", sim_in - run.bare.t_send),
            ("202 sent → 202 received", run.bare.acks[item.key] - sim_in - item.ack_ms / 1000),
            ("institution: beyond its drawn delay", sim_out - sim_in - item.draw_s),
            ("outcome applied → callback received", run.bare.callbacks[item.key] - sim_out),
            (
                "first send → completed, beyond its own draw",
                run.bare.callbacks[item.key] - run.bare.t_send - item.draw_s,
            ),
        ):
            stages.setdefault(name, []).append(value)
    return stages


# --- The report -------------------------------------------------------------------------

INTRO = """\
One report: a victim's card pays 40 level-1 accounts, which pay 60 level-2 accounts, which pay
57 level-3 accounts (157 transfers, 157 suspect accounts at 10 banks and 2 payment
institutions): 158 instructions (157 stop-payments and one `register` at the national
platform). API, worker, beat and the simulator run as separate processes
(`python -m app.cli …`) against the local PostgreSQL and Redis; the simulated institutions ack
in 100-300 ms and call back 500-3000 ms after the ack, without faults or rate limits, and every
stop ends `stopped_full`. Our times run from the 201 to the instructions' own `acked_at` and
`completed_at`. The bare client sends the same 158 requests (same idempotency keys and bodies,
read from our database, after `POST /admin/reset`: the simulator draws each request's delays
from seed, key and attempt number, so both paths face the same delays) all at once, from one
aiohttp session per institution (the HTTP client our worker uses) straight to the simulator,
with callbacks to a receiver in the bench process. "Limit" is the longest ack + processing
delay drawn for any of the 158: no client can finish sooner. Median and worst over the
measured cases, after one warm-up case. The machine is shared: other people's tests may run
at the same time (see the load averages).
"""

# (key, label, format, worse is higher)
ROWS: tuple[tuple[str, str, str, bool], ...] = (
    ("post_ms", "intake: POST → 201", "{:.0f} ms", True),
    ("dispatch", "201 → last instruction's first attempt", "{:.2f} s", True),
    ("ack_level1", "201 → all level-1 instructions acked", "{:.2f} s", True),
    ("ack", "201 → all acked", "{:.2f} s", True),
    ("done", "201 → all completed", "{:.2f} s", True),
    ("bare_ack", "bare client: all acked (last 202)", "{:.2f} s", True),
    ("bare_done", "bare client: all completed (last callback)", "{:.2f} s", True),
    ("limit", "limit: longest drawn ack + processing", "{:.2f} s", True),
    ("ratio_bare", "completion ratio ours / bare", "{:.2f}", True),
    ("ratio_limit", "completion ratio ours / limit", "{:.2f}", True),
    ("attempts", "most attempts of one instruction", "{:.0f}", True),
    ("stopped_full", "stop-payments `stopped_full`", "{:.0f}", False),
)


def figures_table(per_run: list[dict[str, float]]) -> str:
    lines = ["| figure | median | worst | each case |", "| --- | --- | --- | --- |"]
    for key, label, fmt, higher_is_worse in ROWS:
        values = [f[key] for f in per_run]
        worst = max(values) if higher_is_worse else min(values)
        each = ", ".join(fmt.format(v) for v in values)
        med = fmt.format(statistics.median(values))
        lines.append(f"| {label} | {med} | {fmt.format(worst)} | {each} |")
    return "\n".join(lines)


def stages_table(stages: list[dict[str, list[float]]], title: str) -> str:
    """Median, p95 and max per stage over every instruction of every measured case."""
    pooled: dict[str, list[float]] = {}
    for run in stages:
        for name, values in run.items():
            pooled.setdefault(name, []).extend(values)
    lines = [f"| {title} | median | p95 | max |", "| --- | --- | --- | --- |"]
    for name, values in pooled.items():
        cells = [statistics.median(values), percentile(values, 95), max(values)]
        lines.append(f"| {name} | " + " | ".join(f"{v * 1000:.0f} ms" for v in cells) + " |")
    return "\n".join(lines)


CPU_LABELS = {
    "worker": "worker",
    "api": "API",
    "simulator": "simulator",
    "beat": "beat",
    "postgres": "PostgreSQL backends of the bench database",
    "bench": "this bench process (poll; bare client and its callback receiver)",
    "rest": "rest of the machine (Redis, other databases, anything else running)",
    "wall": "wall-clock time",
}


def cpu_table(runs: list[Run]) -> str:
    """Median CPU seconds per process over the cases, for each path."""
    lines = ["| CPU seconds per case (median) | our path | bare client |", "| --- | --- | --- |"]
    for name, label in CPU_LABELS.items():
        ours = statistics.median(r.cpu_ours[name] for r in runs)
        bare = statistics.median(r.cpu_bare[name] for r in runs)
        lines.append(f"| {label} | {ours:.2f} | {bare:.2f} |")
    per = statistics.median(r.cpu_ours["worker"] / len(r.sent) for r in runs)
    lines.append(f"| worker CPU per instruction | {per * 1000:.1f} ms | |")
    return "\n".join(lines)


def verdicts(per_run: list[dict[str, float]]) -> str:
    ack = max(f["ack"] for f in per_run)
    ratio = max(f["ratio_bare"] for f in per_run)
    once = sum(f["once"] for f in per_run)
    return (
        f"Targets (from the issue), worst case: all acked within {TARGET_ACK_S:g} s of the 201: "
        f"**{'PASS' if ack <= TARGET_ACK_S else 'MISS'}** ({ack:.2f} s); completion within "
        f"{TARGET_RATIO:g}x of the bare client: "
        f"**{'PASS' if ratio <= TARGET_RATIO else 'MISS'}** ({ratio:.2f}x). Applied exactly "
        f"once (simulator ledger, both paths): {'yes' if once == len(per_run) else 'NO'} in "
        f"{once:.0f} of {len(per_run)} cases.\n"
    )


def render_config(results: Results, options: Options) -> str:
    per_run = [run_figures(run) for run in results.runs]
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    rss = ", ".join(f"{name} {value}" for name, value in results.rss_mib.items())
    warm = ""
    if results.warmup is not None:
        w = run_figures(results.warmup)
        warm = (
            f"- warm-up case (not counted): all acked {w['ack']:.2f} s, all completed "
            f"{w['done']:.2f} s, bare {w['bare_done']:.2f} s\n"
        )
    return (
        f"### Worker: {options.config}\n\n"
        f"- command: `{options.command}`\n"
        f"- date (UTC): {now}\n"
        f"- machine: {machine()}; 1-minute load average {results.load_before:.2f} before the "
        f"run, {results.load_after:.2f} at its end\n"
        f"- commit: {git_commit()}\n"
        f"- peak RSS (VmHWM): {rss}\n{warm}\n"
        f"{figures_table(per_run)}\n\n{verdicts(per_run)}\n"
        f"Where the time goes, over all {len(per_run) * int(per_run[0]['instructions'])} "
        f'instructions of the measured cases ("beyond its drawn delay" subtracts the '
        f"simulated delay drawn for that request):\n\n"
        f"{stages_table([our_stages(r) for r in results.runs], 'our path')}\n\n"
        f"{stages_table([bare_stages(r) for r in results.runs], 'bare client')}\n\n"
        f"{cpu_table(results.runs)}\n"
    )


# --- Main -------------------------------------------------------------------------------


def print_logs(stack: Stack, limit: int = 30) -> None:
    for name in ("worker", "api", "simulator", "beat"):
        lines = [ln for ln in stack.log(name).splitlines() if ' HTTP/1.1" ' not in ln]
        print(f"--- {name} log, last {limit} lines ---", file=sys.stderr)
        print("\n".join(lines[-limit:]), file=sys.stderr)


def measure(url: str, options: Options, logs: Path, results: Results) -> None:
    token = prepare_database(url)
    stack = make_stack(url, options, logs)
    try:
        start_stack(stack, options.processes)
        results.warmup = run_once(stack, url, token, options)
        for i in range(options.repeat):
            results.runs.append(run_once(stack, url, token, options))
            f = run_figures(results.runs[-1])
            print(
                f"case {i + 1}: acked {f['ack']:.2f} s, completed {f['done']:.2f} s, bare "
                f"{f['bare_done']:.2f} s, limit {f['limit']:.2f} s",
                file=sys.stderr,
            )
        results.rss_mib = peak_memory(stack)
        results.load_after = os.getloadavg()[0]
    except Exception:
        print_logs(stack)
        raise
    finally:
        stack.stop_all()


def wait_for_quiet(max_load: float | None, patience_s: float = 600) -> None:
    """On a shared machine: wait until others' load has dropped, if asked to."""
    deadline = time.monotonic() + patience_s
    while max_load is not None and os.getloadavg()[0] > max_load:
        if time.monotonic() > deadline:
            print(
                f"load still {os.getloadavg()[0]:.2f} after {patience_s:g} s; going on",
                file=sys.stderr,
            )
            return
        time.sleep(5)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    wait_for_quiet(options.max_load)
    results = Results(load_before=os.getloadavg()[0])
    clear_broker()
    url = create_database()
    try:
        with log_dir(options.logs, "stopay-fanout-") as logs:
            measure(url, options, logs, results)
    finally:
        drop_database(url)
        clear_broker()
    config = render_config(results, options)
    write_subsection(options.out, config, heading=HEADING, intro=INTRO)
    print(config)
    print(f"Written to {options.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
