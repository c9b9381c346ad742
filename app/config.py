"""Settings: one class, read from the environment (prefix STOPAY_) and `.env`."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "demo-secret-key-change-me"
# Threads that run every live stream's polls (app/sse.py), each with one connection.
STREAM_POLL_THREADS = 8
# /metrics and /readyz run at once at most this many times (AdmissionLimit, app/middleware/).
PROBE_LIMIT = 2

Language = Literal["zh-CN", "en"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STOPAY_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Where things run. No URL means: start the embedded server under data_dir.
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("STOPAY_DATABASE_URL", "DATABASE_URL"),
        description="The PostgreSQL server, e.g. `postgresql+psycopg://user:pw@host:5432/stopay`. "
        "Unset: `stopay run` starts an embedded PostgreSQL under the data directory.",
    )
    broker_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("STOPAY_BROKER_URL", "BROKER_URL"),
        description="The Celery broker, e.g. `redis://host:6379/0` or `amqp://…`. "
        "Unset: `stopay run` starts an embedded Redis under the data directory.",
    )
    data_dir: Path = Field(
        default=Path(".data"),
        description="The embedded servers' data, the beat schedule and the audit checkpoints.",
    )

    demo: bool | None = Field(
        default=None,
        description="Demo mode seeds the demo units and users and allows the default secret. "
        "Unset: on when the database is embedded.",
    )
    secret_key: str = Field(
        default=DEFAULT_SECRET_KEY,
        description="The service's secret: the institutions' first callback secrets, and in "
        "demo mode the audit key, are derived from it. Outside demo mode the service refuses "
        "to start with the default.",
    )

    api_host: str = Field(default="127.0.0.1", description="Where the API listens.")
    api_port: int = Field(default=8000, description="The API's port.")
    api_workers: int = Field(
        default=1,
        description="uvicorn processes for the API, each with its own pool and admission limit.",
    )
    simulator_host: str = Field(
        default="127.0.0.1", description="Where the simulated institutions listen."
    )
    simulator_port: int = Field(default=8100, description="The simulated institutions' port.")
    api_url: str | None = Field(
        default=None,
        description="How the simulated institutions reach our callbacks. Unset: from the API's "
        "host and port.",
    )
    simulator_url: str | None = Field(
        default=None,
        description="How our adapters reach the simulated institutions. Unset: from the "
        "simulator's host and port.",
    )

    max_concurrent_requests: int = Field(
        default=32,
        description="Requests inside the API at once, each holding at most one database "
        "connection (the pool is sized above this); beyond it requests queue for up to "
        "`STOPAY_ADMISSION_WAIT_S`, then get 503.",
    )
    relay_idle_after_s: float = Field(
        default=45.0,
        gt=0,
        description="The outbox relay re-sends an instruction left this long with no attempt "
        "and no lease (a worker died holding it). Keep it above the longest retry backoff "
        "(30 s).",
    )
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        description="The largest request body taken (a freeze's scan is at most 5 MB, base64 in "
        "JSON); a larger one is refused with 413 before it is read whole.",
    )
    admission_wait_s: float = Field(
        default=10.0, description="How long a request waits for an admission slot before 503."
    )
    db_pool_size: int = Field(
        default=20, description="Database connections kept open per API process (uvicorn worker)."
    )
    db_max_overflow: int = Field(
        default=24,
        description="Connections opened beyond the pool at a peak. Pool size plus overflow must "
        f"exceed `STOPAY_MAX_CONCURRENT_REQUESTS` + {STREAM_POLL_THREADS + PROBE_LIMIT} "
        "(live-stream polls and probes).",
    )

    queue: str = Field(
        default="stopay",
        description="The Celery queue (the payments lane adds `.payments`): stacks that share "
        "a broker keep to their own queues.",
    )
    worker_pool: Literal["threads", "prefork", "solo", "gevent"] = Field(
        default="threads", description="The Celery pool of each worker process."
    )
    worker_processes: int = Field(default=2, description="Processes of `stopay worker`.")
    worker_concurrency: int = Field(
        default=100, description="Threads in each worker process's pool."
    )

    default_language: Language = Field(
        default="zh-CN",
        description="The language of a page visitor who names none (an API client with no "
        "user setting and no Accept-Language reads English).",
    )
    timezone: str = Field(
        default="Asia/Shanghai",
        description="The centre's time zone: times entered without an offset are read in it, "
        "and the dashboard's day is its day.",
    )
    stop_payment_hold_h: int = Field(
        default=48,
        description="The legal clock: an emergency stop-payment lapses this many hours after "
        "it takes effect.",
    )
    freeze_days: int = Field(default=180, description="The legal clock: a freeze's term in days.")
    stop_payment_max: int = Field(
        default=2,
        ge=1,
        description="Stop-payments on one account in one case (the first and one renewal); "
        "one more is refused.",
    )
    stop_payment_warning_h: int = Field(
        default=6,
        description="Warn this many hours before a stop-payment lapses with no freeze or "
        "renewal behind it.",
    )
    freeze_warning_days: int = Field(
        default=15, description="Warn this many days before a freeze runs out."
    )
    return_notice_days: int = Field(
        default=30, description="A pro-rata return waits for a public notice of this many days."
    )
    return_working_days: int = Field(
        default=3, description="A bank's working days to pay a confirmed return."
    )
    legal_clock_interval_s: float = Field(
        default=60.0,
        description="How often beat checks the legal clock (warnings, lapses, overdue returns).",
    )
    settable_clock: bool = Field(
        default=False,
        description="Tests and demos only, never in production: an admin may freeze or shift "
        "the legal clock (`PUT /api/v1/admin/clock`).",
    )
    trace_max_depth: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Following the money: onward transfers are stopped down to this level.",
    )
    trace_min_amount: Decimal = Field(
        default=Decimal("1000.00"),
        description="Following the money: an account gets a stop-payment only from this amount "
        "(CNY) traced into it.",
    )
    callback_clock_skew_s: int = Field(
        default=300,
        ge=0,
        le=3600,
        description="An outcome's `effective_at` (and an onward transfer's time) may be this "
        "far past our clock, and `effective_at` this far before the instruction was first sent.",
    )
    callback_secret_overlap_s: int = Field(
        default=24 * 3600,
        ge=0,
        le=30 * 24 * 3600,
        description="After a callback secret is rotated, the previous one still verifies this "
        "long (seconds), so the institution can switch without losing a callback; 0: it stops "
        "at once.",
    )
    idempotency_ttl_s: int = Field(
        default=48 * 3600,
        description="How long an `Idempotency-Key` is remembered (at least 24 h).",
    )
    session_max_age_s: int = Field(default=12 * 3600, description="A log-in session's lifetime.")
    login_window_s: int = Field(
        default=15 * 60,
        description="The log-in throttle's window: failures in it count until the oldest of "
        "them leaves it.",
    )
    login_max_failures_per_account: int = Field(
        default=5,
        ge=1,
        description="Failed log-ins on one account from one address, within the window, that "
        "lock that account from that address.",
    )
    login_max_failures_per_address: int = Field(
        default=20,
        ge=1,
        description="Failed log-ins from one address, within the window, that lock the address "
        "for every account.",
    )
    api_token_max_age_s: int = Field(
        default=90 * 24 * 3600,
        description="An API token's lifetime when whoever makes it names none.",
    )
    body_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="A request body must have arrived in full this long after its headers "
        "(plus its size at `STOPAY_BODY_MIN_BYTES_PER_S`), or 408. It is read before the "
        "request takes an admission slot.",
    )
    body_min_bytes_per_s: int = Field(
        default=64 * 1024,
        ge=1,
        description="The slowest upload allowed: the body's time grows with its size at this "
        "rate (a 5 MB scan in base64 at 64 KB/s has 10 s + 105 s).",
    )
    max_pending_bodies_per_address: int = Field(
        default=8,
        ge=1,
        description="Bodies still arriving at once from one client address (an IPv6 address by "
        "its /64); more get 429.",
    )
    max_pending_body_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1,
        description="What all bodies still arriving may hold together, reserved before they "
        "are read; more get 503.",
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        description="Connections open at once per API process (uvicorn's `limit_concurrency`); "
        "more get 503.",
    )
    max_streams_per_user: int = Field(
        default=8, ge=1, description="Live streams (SSE) open at once per user; more get 429."
    )
    max_streams_per_credential: int = Field(
        default=4,
        ge=1,
        description="Live streams (SSE) open at once per API token or log-in session; more get "
        "429.",
    )
    read_retries: int = Field(
        default=3,
        ge=0,
        description="A read (GET) that meets a serialization failure is run again this many times.",
    )
    trusted_proxies: str = Field(
        default="",
        description="Addresses or networks (comma-separated) of reverse proxies whose "
        "`X-Forwarded-For` and `X-Forwarded-Proto` are believed. None by default: the peer's "
        "own address is the client's.",
    )
    readiness_timeout_s: float = Field(
        default=2.0, description="How long `/readyz` waits for the broker to answer."
    )
    log_format: Literal["json", "text"] = Field(
        default="json",
        description="Every process logs to stderr: one JSON object a line, or text for a "
        "person (`stopay run` in demo mode picks text unless this is set).",
    )

    audit_key: SecretStr | None = Field(
        default=None,
        description="The audit chain's HMAC-SHA256 key, never in the database. Required outside "
        "demo mode (this or `STOPAY_AUDIT_KEY_FILE`); in demo mode derived from the secret key.",
    )
    audit_key_file: Path | None = Field(
        default=None, description="A file holding the audit key, instead of `STOPAY_AUDIT_KEY`."
    )
    audit_key_id: str = Field(
        default="1",
        pattern=r"^[A-Za-z0-9._-]{1,32}$",
        description="The audit key's name, kept in each seal.",
    )
    audit_previous_keys: dict[str, SecretStr] = Field(
        default={},
        description="After a rotation, the old audit keys by id, kept for verifying, as JSON: "
        '`\'{"1": "old key"}\'`.',
    )
    audit_checkpoint_file: Path | None = Field(
        default=None,
        description="The audit chain's head is appended to this file (default: "
        "`audit-checkpoints.log` in the data directory); keep it where the database's owner "
        "cannot write.",
    )
    audit_checkpoint_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="How often the chain's head is checkpointed (and when a worker stops).",
    )
    audit_close_after_s: float = Field(
        default=300.0,
        ge=60,
        description="An event id still missing this long after a higher id was sealed is taken "
        "as rolled back: the range below is closed, and an event turning up in it later is "
        "never sealed.",
    )

    @field_validator("audit_key", "audit_key_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def public_api_url(self) -> str:
        return self.api_url or f"http://{self.api_host}:{self.api_port}"

    @property
    def public_simulator_url(self) -> str:
        return self.simulator_url or f"http://{self.simulator_host}:{self.simulator_port}"

    @property
    def is_demo(self) -> bool:
        if self.demo is not None:
            return self.demo
        return self.database_url is None

    def require_urls(self) -> tuple[str, str]:
        """The database and broker URLs, which must be known by the time a process serves."""
        if self.database_url is None or self.broker_url is None:
            raise RuntimeError(
                "DATABASE_URL and BROKER_URL must be set (stopay run sets them for its children)"
            )
        return self.database_url, self.broker_url

    def check(self) -> None:
        """Refuse settings the service cannot run safely with."""
        self.check_secrets()
        # Connections held at once: every admitted request, every live-stream poll thread and
        # every probe (/metrics, /readyz) that runs outside admission.
        busiest = self.max_concurrent_requests + STREAM_POLL_THREADS + PROBE_LIMIT
        if self.db_pool_size + self.db_max_overflow <= busiest:
            raise RuntimeError(
                "STOPAY_DB_POOL_SIZE + STOPAY_DB_MAX_OVERFLOW must exceed "
                f"STOPAY_MAX_CONCURRENT_REQUESTS + {STREAM_POLL_THREADS + PROBE_LIMIT} "
                "(live-stream polls and probes), or a burst of requests can exhaust the pool"
            )

    def check_secrets(self) -> None:
        if not self.is_demo and self.secret_key == DEFAULT_SECRET_KEY:
            raise RuntimeError(
                "STOPAY_SECRET_KEY is the demo default; set a real secret outside demo mode"
            )
        if not self.is_demo and self.audit_key is None and self.audit_key_file is None:
            raise RuntimeError(
                "set STOPAY_AUDIT_KEY or STOPAY_AUDIT_KEY_FILE outside demo mode: the audit "
                "chain is sealed with it"
            )

    @property
    def audit_checkpoint_path(self) -> Path:
        return self.audit_checkpoint_file or self.data_dir / "audit-checkpoints.log"


@lru_cache
def get_settings() -> Settings:
    return Settings()
